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
    staged = 0
    threshold = max(unit_rows, staging.DECISION_ROWS)
    created = False
    for path in source.files:
        ordinal = 0
        for read in _parquet_batches(path):
            batch = read.rename_columns(source.columns)
            n = batch.num_rows
            rows = np.arange(ordinal + 1, ordinal + n + 1, dtype=np.int64)
            if not created:
                con.register("_arrow_batch", pa.Table.from_batches([batch.slice(0, 0)]))
                con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} AS SELECT *, "
                            "CAST(NULL AS VARCHAR) AS _source_file, "
                            "CAST(NULL AS BIGINT) AS _source_row FROM _arrow_batch")
                con.unregister("_arrow_batch")
                created = True
            insert_batch(con, batch, path, rows)
            ordinal += n
            staged += n
            done += n
            report_progress(progress, done, total)
            if staged >= threshold:
                yield StagedUnit(staged, [])
                con.execute(f"DELETE FROM {STAGING_TABLE}")
                staged, threshold = 0, unit_rows
    if not created:
        cols = ", ".join(f"{quote_identifier(c)} VARCHAR" for c in source.columns)
        con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} ({cols}, _source_file VARCHAR, "
                    "_source_row BIGINT)")
    if staged:
        yield StagedUnit(staged, [])


def _parquet_batches(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        yield from pq.ParquetFile(path).iter_batches(batch_size=_PARQUET_BATCH_ROWS)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: cannot be read as Parquet ({exc})") from exc
