r"""Look for strings in the raw bytes of every file under a folder.

The check behind erasure and the personal-data tests: a string is looked for in its UTF-8
bytes (and in UTF-16, which some writers use), file by file, whatever the format; and, since
compression hides a string from a byte search, also in the decompressed members of a zip
file (skops model files are zip files) and in the values of a Parquet file.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("id\nC0042\n")
>>> find_in_folder(folder, ["C0042", "C9"])
{'C0042': ['a.csv']}
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["find_in_bytes", "find_in_file", "find_in_folder", "word_pattern"]

_WORD = "0-9A-Za-z_"


def word_pattern(needle: str) -> str:
    """A regular expression (Python and DuckDB's RE2) for ``needle`` as a whole word.

    An id ``1`` is in ``"customer 1 left"`` but not in ``"C10"``: erasure must not take out
    what merely contains a short id.

    >>> found = [bool(re.search(word_pattern("C1"), text)) for text in ("id C1, age 30", "C10")]
    >>> found
    [True, False]
    """
    return f"(?:^|[^{_WORD}]){re.escape(needle)}(?:[^{_WORD}]|$)"


def find_in_bytes(data: bytes, needles: Iterable[str]) -> list[str]:
    """The needles found in ``data``.

    >>> find_in_bytes("naïve C1".encode("utf-16-le"), ["C1", "C2"])
    ['C1']
    """
    found = []
    for needle in needles:
        if not needle:
            continue
        if needle.encode("utf-8") in data or needle.encode("utf-16-le") in data:
            found.append(needle)
    return found


def find_in_file(path: Path, needles: Sequence[str]) -> list[str]:
    """The needles found in the file's bytes, its zip members or its Parquet values.

    >>> import tempfile, pathlib, pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.parquet"
    >>> pd.DataFrame({"customer_id": ["C0042"] * 1000}).to_parquet(path)
    >>> find_in_file(path, ["C0042", "C9"])
    ['C0042']
    """
    data = path.read_bytes()
    found = set(find_in_bytes(data, needles))
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    found.update(find_in_bytes(archive.read(member), needles))
        except (zipfile.BadZipFile, OSError):
            pass
    if data[:4] == b"PAR1":
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError):
            table = None
        if table is not None:
            text = "\n".join(str(v) for column in table.columns for v in column.to_pylist())
            found.update(n for n in needles if n in text)
    return [n for n in needles if n in found]


def find_in_folder(folder: str | Path, needles: Iterable[str]) -> dict[str, list[str]]:
    """For each needle found, the files (relative to ``folder``) that hold it."""
    wanted = [n for n in needles if n]
    root = Path(folder)
    hits: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        for needle in find_in_file(path, wanted):
            hits.setdefault(needle, []).append(str(path.relative_to(root)))
    return hits
