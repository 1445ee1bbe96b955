r"""The files of a workspace folder that quote a customer: rewritten without them, or removed.

CSV and Parquet files (exports) are rewritten without the rows with a cell that quotes
the customer's id as a whole word; any other file that still holds the id (an HTML report,
a model file, a JSON dump) is removed, since it cannot be edited safely: write it again
after the erasure. Ids shorter than :data:`DISTINCT_ID_CHARS` (``1``, ``42``, in a
workspace of ids as given) are found in too many places by chance: for them only the rows
whose customer column (by its name) is exactly the id are dropped, and no other file is
touched; pseudonyms are always long enough.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "segments.csv").write_text("customer_id,segment\nC000001,0\nC000010,1\n")
>>> _ = (folder / "report.html").write_text("<p>C000001</p>")
>>> scrub_files(folder, ["C000001"], skip=set())
(['segments.csv'], ['report.html'])
>>> (folder / "segments.csv").read_text().splitlines()
['customer_id,segment', 'C000010,1']
>>> _ = (folder / "short.csv").write_text("customer_id,segment\n0,1\n1,0\n")
>>> scrub_files(folder, ["0"], skip=set())
(['short.csv'], [])
>>> (folder / "short.csv").read_text().splitlines()
['customer_id,segment', '1,0']
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Collection, Sequence
from pathlib import Path

import pandas as pd

from mallseg.privacy.scan import (
    DISTINCT_ID_CHARS,
    find_in_file,
    is_distinct,
    names_customer,
    word_pattern,
)

__all__ = ["DISTINCT_ID_CHARS", "scrub_files"]

_TABLE_SUFFIXES = (".csv", ".parquet")


def scrub_files(
    folder: Path, needles: Sequence[str], *, skip: Collection[Path]
) -> tuple[list[str], list[str]]:
    """Rewrite or remove every file under ``folder`` whose bytes hold one of ``needles``.

    Returns the files rewritten and the files removed, relative to ``folder``.
    """
    rewritten: list[str] = []
    removed: list[str] = []
    skipped = {p.resolve() for p in skip}
    distinct = [n for n in needles if is_distinct(n)]
    matcher = _RowMatcher(
        re.compile("|".join(word_pattern(n) for n in distinct)) if distinct else None,
        frozenset(n for n in needles if not is_distinct(n)))
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.resolve() in skipped:
            continue
        name = str(path.relative_to(folder))
        if path.suffix.lower() in _TABLE_SUFFIXES and _rewrite(path, matcher):
            rewritten.append(name)
            continue
        if not distinct or not find_in_file(path, distinct):
            continue
        path.unlink()
        removed.append(name)
    return rewritten, removed


class _RowMatcher:
    """Which cells quote an id.

    Distinct ids as a word anywhere; short ids as the whole value of a column that names
    a customer.
    """

    def __init__(self, words: re.Pattern[str] | None, short: frozenset[str]) -> None:
        self.words = words
        self.short = short

    def cell(self, column: str, value: str) -> bool:
        if self.words is not None and self.words.search(value):
            return True
        return bool(self.short) and names_customer(column) and value.strip() in self.short

    def column(self, column: str, values: pd.Series) -> pd.Series:
        text = values.astype(str)
        holds = pd.Series(False, index=values.index)
        if self.words is not None:
            holds |= text.str.contains(self.words)
        if self.short and names_customer(column):
            holds |= text.str.strip().isin(self.short)
        return holds


def _rewrite(path: Path, matcher: _RowMatcher) -> bool:
    """Rewrite a CSV or Parquet file without its rows quoting an id; whether any was."""
    suffix = path.suffix.lower()
    fresh = path.with_name(path.name + ".scrubbed")
    dropped = 0
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as source, \
                    fresh.open("w", newline="", encoding="utf-8") as target:
                writer = csv.writer(target)
                header: list[str] | None = None
                for row in csv.reader(source):
                    names = header or [""] * len(row)
                    if any(matcher.cell(names[i] if i < len(names) else "", field)
                           for i, field in enumerate(row)):
                        dropped += 1
                    else:
                        writer.writerow(row)
                    if header is None:
                        header = row
        else:
            frame = pd.read_parquet(path)
            holds = pd.Series(False, index=frame.index)
            for column in frame.columns:
                holds |= matcher.column(str(column), frame[column])
            dropped = int(holds.sum())
            if dropped:
                frame[~holds].to_parquet(fresh, index=False)
    except (OSError, UnicodeDecodeError, ValueError, csv.Error):
        fresh.unlink(missing_ok=True)
        return False
    if not dropped:
        fresh.unlink(missing_ok=True)
        return False
    os.replace(fresh, path)
    # a Hadoop checksum beside a Parquet part Spark wrote no longer matches: drop it, or
    # Spark would refuse to read the rewritten part
    path.with_name(f".{path.name}.crc").unlink(missing_ok=True)
    return True
