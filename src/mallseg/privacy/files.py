r"""The files of a workspace folder that quote a customer: rewritten without them, or removed.

CSV and Parquet files (exports) are rewritten without the rows with a cell that quotes
the customer's id as a whole word; any other file that still holds the id (an HTML report,
a model file, a JSON dump) is removed, since it cannot be edited safely: write it again
after the erasure. Short ids (``1``, ``42``, in a workspace of ids as given; see
:mod:`mallseg.privacy.id_matching`) are found in too many places by chance: for them only
the rows whose customer column (by its name) is exactly the id are dropped, and no other
file is touched; pseudonyms are always long enough.

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
from collections.abc import Collection, Sequence
from pathlib import Path

import pandas as pd

from mallseg.privacy.id_matching import IdMatcher
from mallseg.privacy.scan import find_in_file

__all__ = ["scrub_files"]

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
    matcher = IdMatcher(needles)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.resolve() in skipped:
            continue
        name = str(path.relative_to(folder))
        if path.suffix.lower() in _TABLE_SUFFIXES and _rewrite(path, matcher):
            rewritten.append(name)
            continue
        if not matcher.distinct or not find_in_file(path, matcher.distinct):
            continue
        path.unlink()
        removed.append(name)
    return rewritten, removed


def _rewrite(path: Path, matcher: IdMatcher) -> bool:
    """Rewrite a CSV or Parquet file without its rows quoting an id; whether any was."""
    suffix = path.suffix.lower()
    fresh = path.with_name(path.name + ".scrubbed")
    dropped = 0
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as source, \
                    fresh.open("w", newline="", encoding="utf-8") as target:
                reader, writer = csv.reader(source), csv.writer(target)
                header = next(reader, [])
                if header:
                    writer.writerow(header)
                for row in reader:
                    cells = zip(header + [""] * (len(row) - len(header)), row, strict=False)
                    if any(matcher.cell(name, field) for name, field in cells):
                        dropped += 1
                    else:
                        writer.writerow(row)
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
