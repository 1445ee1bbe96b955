"""Write the simulator's tables as folders of numbered parts, Parquet or CSV.

Layout: every table is a folder ``<root>/<table>/`` of files ``part-00000.<ext>``,
``part-00001.<ext>``, ... written in order, so a reader takes ``<table>/*.<ext>`` and
sorting the names gives the rows in the order they were written. CSV parts each carry a
header and write timestamps to the second. Input tables use the canonical columns and
types of :mod:`mallseg.core.schema` (without the workspace's ``_ingest_id``).

Examples
--------
>>> canonical_arrow_schema("stores").names
['store_id', 'name', 'category', 'zone', 'floor']
>>> str(canonical_arrow_schema("visits").field("entered_at").type)
'timestamp[us]'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mallseg.core.schema import CANONICAL_TABLES

__all__ = ["ARROW_TYPES", "FileFormat", "PartWriter", "canonical_arrow_schema", "part_name"]

FileFormat = Literal["parquet", "csv"]

ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "BOOLEAN": pa.bool_(),
}
"""Arrow type of each canonical SQL type (DuckDB reads them back as that SQL type)."""


def canonical_arrow_schema(table: str) -> pa.Schema:
    """Arrow schema of a canonical table: its columns in order, typed as ``sql_type``."""
    spec = CANONICAL_TABLES[table]
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.sql_type]) for c in spec.columns])


def part_name(index: int, file_format: FileFormat) -> str:
    """File name of part ``index``: ``part-00000.parquet``."""
    return f"part-{index:05d}.{file_format}"


class PartWriter:
    """Writes one table as numbered parts in ``root/<name>/``, removing stale parts first.

    Parameters
    ----------
    root:
        Folder that holds the table folders (``inputs`` or ``truth``).
    name:
        Table name (the folder).
    schema:
        Arrow schema every part is cast to.
    file_format:
        ``"parquet"`` (snappy) or ``"csv"`` (header in every part).
    """

    def __init__(self, root: Path, name: str, schema: pa.Schema, file_format: FileFormat):
        self.folder = root / name
        self.schema = schema
        self.file_format = file_format
        self.parts = 0
        self.rows = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in (*self.folder.glob("part-*.parquet"), *self.folder.glob("part-*.csv")):
            stale.unlink()

    def write(self, table: pa.Table) -> None:
        """Write ``table`` as the next part."""
        table = table.select(self.schema.names).cast(self.schema)
        path = self.folder / part_name(self.parts, self.file_format)
        if self.file_format == "parquet":
            pq.write_table(table, path, compression="snappy")
        else:
            # Whole seconds read better in a CSV than Arrow's default microsecond fraction.
            seconds = pa.schema([
                f.with_type(pa.timestamp("s")) if pa.types.is_timestamp(f.type) else f
                for f in self.schema
            ])
            options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
            pacsv.write_csv(table.cast(seconds), path, write_options=options)
        self.parts += 1
        self.rows += table.num_rows
