"""Parquet: the schema of every part checked up front, then rows streamed by batches.

Parquet keeps its types: numbers, dates and booleans arrive typed and need no parsing.
Columns holding nested values (lists, structs, maps) are noted, so that the ingest can set
them aside or refuse to map them.

Examples
--------
>>> import pathlib, tempfile, pyarrow as pa, pyarrow.parquet as pq
>>> path = pathlib.Path(tempfile.mkdtemp()) / "c.parquet"
>>> pq.write_table(pa.table({"id": ["A"], "tags": [[1, 2]]}), path)
>>> parquet_schema([path], str(path))
(['id', 'tags'], ['tags'])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mallseg.core.sql_text import quote_identifier
from mallseg.data import staging
from mallseg.data.errors import IngestError
from mallseg.data.staging import (
    STAGING_TABLE,
    ProgressCallback,
    Source,
    StagedUnit,
    insert_batch,
    report_progress,
)

__all__ = ["parquet_schema", "parquet_units"]

_PARQUET_BATCH_ROWS = 262_144
_ROW_NUMBER = "file_row_number"


def _is_nested(kind: pa.DataType) -> bool:
    return bool(pa.types.is_nested(kind))


def parquet_schema(files: Sequence[Path], label: str) -> tuple[list[str], list[str]]:
    """The column names shared by every part, and those that hold nested values.

    Raises
    ------
    IngestError
        When a part cannot be read, or its columns or types differ from the first part's.

    >>> import pathlib, tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.parquet"
    >>> pq.write_table(pa.table({"": [1], "id": ["A"]}), path)
    >>> parquet_schema([path], str(path))
    (['column_1', 'id'], [])
    """
    schema: pa.Schema | None = None
    for path in files:
        try:
            part = pq.ParquetFile(path).schema_arrow
        except (pa.ArrowInvalid, OSError) as exc:
            raise IngestError(f"{path}: cannot be read as Parquet ({exc})") from exc
        if schema is None:
            schema = part
        elif part.names != schema.names:
            raise IngestError(
                f"{path}: its columns differ from the first part's ({', '.join(schema.names)})"
            )
        else:
            for a, b in zip(schema, part, strict=True):
                if a.type != b.type and not pa.types.is_null(a.type) and not (
                        pa.types.is_null(b.type)):
                    raise IngestError(
                        f"{path}: column {a.name!r} is {b.type} here but {a.type} in the "
                        "first part; write every part with the same types"
                    )
    if schema is None:
        return [], []
    names = _usable_names(schema.names)
    return names, [n for n, f in zip(names, schema, strict=True) if _is_nested(f.type)]


def _usable_names(names: Sequence[str]) -> list[str]:
    """Column names as staged: an empty (or blank) name becomes ``column_N``, as in a CSV."""
    return [n.strip() or f"column_{i + 1}" for i, n in enumerate(names)]


def parquet_units(
    con: duckdb.DuckDBPyConnection, source: Source, unit_rows: int,
    progress: ProgressCallback | None,
) -> Iterator[StagedUnit]:
    """Stage a Parquet source unit by unit (values keep their types).

    >>> import duckdb, pathlib, tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.parquet"
    >>> pq.write_table(pa.table({"id": ["A", "B"], "age": [30, 41]}), path)
    >>> source = Source(str(path), [path], "parquet", parquet_schema([path], str(path))[0])
    >>> con = duckdb.connect()
    >>> [u.rows for u in parquet_units(con, source, 10, None)]
    [2]
    >>> con.execute("SELECT typeof(age) FROM _staging LIMIT 1").fetchone()
    ('BIGINT',)
    """
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in source.files) or 1
    done = 0
    unit = _UnitFill(max(unit_rows, staging.DECISION_ROWS))
    created = False
    for path in source.files:
        try:
            schema = pq.ParquetFile(path).schema_arrow
        except (pa.ArrowInvalid, OSError) as exc:
            raise IngestError(f"{path}: cannot be read as Parquet ({exc})") from exc
        if not created:
            empty = schema.empty_table().rename_columns(source.columns)
            con.register("_arrow_batch", empty)
            con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} AS SELECT *, "
                        "CAST(NULL AS VARCHAR) AS _source_file, "
                        "CAST(NULL AS BIGINT) AS _source_row FROM _arrow_batch")
            con.unregister("_arrow_batch")
            created = True
        for n in _stage_file(con, path, schema, unit):
            unit.staged += n
            done += n
            report_progress(progress, done, total)
            if unit.staged >= unit.threshold:
                yield StagedUnit(unit.staged, [])
                con.execute(f"DELETE FROM {STAGING_TABLE}")
                unit.staged, unit.threshold = 0, unit_rows
    if not created:
        cols = ", ".join(f"{quote_identifier(c)} VARCHAR" for c in source.columns)
        con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} ({cols}, _source_file VARCHAR, "
                    "_source_row BIGINT)")
    if unit.staged:
        yield StagedUnit(unit.staged, [])


@dataclass
class _UnitFill:
    """Rows staged in the current unit, and how many make it full."""

    threshold: int
    staged: int = 0

    @property
    def room(self) -> int:
        return max(self.threshold - self.staged, 1)


def _stage_file(
    con: duckdb.DuckDBPyConnection, path: Path, schema: pa.Schema, unit: _UnitFill,
) -> Iterator[int]:
    """Append the rows of one part to the staging table, at most the unit's room at a time.

    DuckDB reads the part itself (in parallel, row groups outside the range skipped), a
    range of row numbers at a time; a part whose column names DuckDB cannot select by name
    (a blank name, or one its row number would shadow) goes through Arrow batches instead.
    """
    names = schema.names
    if any(not n.strip() or n.lower() == _ROW_NUMBER for n in names):
        yield from _stage_batches(con, path)
        return
    rows = pq.ParquetFile(path).metadata.num_rows
    columns = ", ".join(quote_identifier(n) for n in names)
    start = 0
    while start < rows:
        take = min(unit.room, rows - start)
        try:
            con.execute(
                f"INSERT INTO {STAGING_TABLE} SELECT {columns}, ?, {_ROW_NUMBER} + 1 "
                f"FROM read_parquet(?, {_ROW_NUMBER} = true) "
                f"WHERE {_ROW_NUMBER} >= ? AND {_ROW_NUMBER} < ?",
                [str(path), str(path), start, start + take])
        except duckdb.Error as exc:
            raise IngestError(f"{path}: cannot be read as Parquet ({exc})") from exc
        start += take
        yield take


def _stage_batches(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[int]:
    ordinal = 0
    for read in _parquet_batches(path):
        n = read.num_rows
        batch = read.rename_columns([f"c{i}" for i in range(read.num_columns)])
        insert_batch(con, batch, path, np.arange(ordinal + 1, ordinal + n + 1, dtype=np.int64))
        ordinal += n
        yield n


def _parquet_batches(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        yield from pq.ParquetFile(path).iter_batches(batch_size=_PARQUET_BATCH_ROWS)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: cannot be read as Parquet ({exc})") from exc
