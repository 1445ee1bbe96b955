"""What the readers hand to the ingest: a described source and units of staged rows.

A :class:`Source` describes a file (or folder of parts) once: its format, header and
dialect. The readers fill the temporary table :data:`STAGING_TABLE` one
:class:`StagedUnit` after another; the unit sizes below are read from this module at call
time, so that tests can shrink them.

Examples
--------
>>> unit = StagedUnit(rows=3, parse_rejects=[ParseReject("c.csv", 4, "malformed line", "x")])
>>> unit.rows_read
4
>>> check_column_names(["id", "ID"], "c.csv")
Traceback (most recent call last):
...
mallseg.data.errors.IngestError: c.csv: column 'ID' appears twice in the header (as 'id' too)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from mallseg.data.errors import IngestError

__all__ = [
    "DECISION_ROWS",
    "RESERVED_COLUMNS",
    "STAGING_TABLE",
    "TYPED_TABLE",
    "UNIT_ROWS",
    "ParseReject",
    "ProgressCallback",
    "Source",
    "StagedUnit",
    "check_column_names",
    "insert_batch",
    "report_progress",
]

ProgressCallback = Callable[[float], None]
"""Called with the fraction done, between 0 and 1."""

STAGING_TABLE = "_staging"
"""The temporary table holding the current unit of source rows, as read."""
TYPED_TABLE = "_typed"
"""The temporary table holding the current unit as canonical columns plus ``_reason``."""
UNIT_ROWS = 2_000_000
"""Rows staged, typed, checked and merged at a time."""

DECISION_ROWS = 20_000
"""The first unit holds at least this many rows: parsing decisions (date formats, decimal
commas, income unit, attribute kinds) are taken from the first rows of the file, whatever
the unit size."""

RESERVED_COLUMNS = frozenset({"_source_file", "_source_row"})
"""Column names the staging table uses for itself (compared case-insensitively)."""


@dataclass(frozen=True)
class ParseReject:
    """A line that could not be split into the header's fields.

    >>> ParseReject("c.csv", 7, "malformed line: 3 fields where the header has 2", "a,b,c").line
    7
    """

    source_file: str
    line: int
    reason: str
    text: str


@dataclass
class Source:
    r"""A file (or folder of parts) ready to be staged: format, header, dialect.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = path.write_text("id\n")
    >>> first = Source(str(path), [path], "csv", ["id"]).content_sha256()
    >>> _ = path.write_text("id\n")
    >>> Source("again", [path], "csv", ["id"]).content_sha256() == first
    True
    """

    label: str
    files: list[Path]
    file_format: str
    columns: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_line: dict[Path, int] = field(default_factory=dict)
    """CSV: the line number of each file's header (blank lines may precede it).
    Excel: the row number of the header in the sheet."""
    nested_columns: list[str] = field(default_factory=list)
    """Parquet: columns holding lists, structs or maps."""
    nul_line: int | None = None
    """CSV: the first line holding a NUL byte, when one does."""
    sheets_with_data: list[str] = field(default_factory=list)
    """Excel: the names of the workbook's sheets that hold any cell."""
    notes: list[str] = field(default_factory=list)

    def content_sha256(self) -> str:
        """Digest of the files' bytes, to recognise the same content loaded again."""
        digest = hashlib.sha256()
        for f in self.files:
            with f.open("rb") as fh:
                digest.update(hashlib.file_digest(fh, "sha256").digest())
        return digest.hexdigest()


@dataclass
class StagedUnit:
    """One unit of rows now in the staging table.

    >>> StagedUnit(rows=10, parse_rejects=[]).rows_read
    10
    """

    rows: int
    parse_rejects: list[ParseReject]

    @property
    def rows_read(self) -> int:
        """Records of the source in this unit: parsed rows plus parse rejects."""
        return self.rows + len(self.parse_rejects)


def check_column_names(columns: Sequence[str], label: str) -> None:
    """Refuse reserved and repeated column names (compared case-insensitively).

    Raises
    ------
    IngestError
        Naming the column.

    >>> check_column_names(["id", "age"], "c.csv")  # fine: nothing happens
    """
    seen: dict[str, str] = {}
    for name in columns:
        key = name.lower()
        if key in RESERVED_COLUMNS:
            raise IngestError(
                f"{label}: column {name!r} has a name mallseg reserves for itself; "
                "rename it in the file"
            )
        if key in seen:
            raise IngestError(
                f"{label}: column {name!r} appears twice in the header"
                + ("" if seen[key] == name else f" (as {seen[key]!r} too)")
            )
        seen[key] = name


def insert_batch(
    con: duckdb.DuckDBPyConnection, batch: pa.RecordBatch, path: Path, rows: np.ndarray
) -> None:
    """Append ``batch`` to the staging table with its file and row numbers.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE _staging (id VARCHAR, _source_file VARCHAR, "
    ...                 "_source_row BIGINT)")
    >>> batch = pa.RecordBatch.from_pydict({"id": ["A", "B"]})
    >>> insert_batch(con, batch, Path("c.csv"), np.array([2, 3]))
    >>> con.execute("SELECT * FROM _staging").fetchall()
    [('A', 'c.csv', 2), ('B', 'c.csv', 3)]
    """
    n = batch.num_rows
    table = pa.Table.from_batches([batch]).append_column(
        "_source_file", pa.array([str(path)] * n, pa.string())
    ).append_column("_source_row", pa.array(rows, pa.int64()))
    con.register("_arrow_batch", table)
    con.execute(f"INSERT INTO {STAGING_TABLE} SELECT * FROM _arrow_batch")
    con.unregister("_arrow_batch")


def report_progress(progress: ProgressCallback | None, done: int, total: int) -> None:
    """Call ``progress`` with ``done / total`` (at most 1), when there is a callback.

    >>> seen = []
    >>> report_progress(seen.append, 5, 4)
    >>> seen
    [1.0]
    """
    if progress is not None:
        progress(min(1.0, done / max(total, 1)))
