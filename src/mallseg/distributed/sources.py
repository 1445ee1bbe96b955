"""Read a folder of canonical tables (Parquet) into a Spark session.

The layout is the one :func:`mallseg.datasets.simulate.simulate_mall` writes and a data
platform exports: ``<inputs>/<table>/`` (a folder of Parquet parts) or
``<inputs>/<table>.parquet``, one per canonical table, with the canonical column names.
Only ``customers`` is required. Each table found becomes a temporary view under its
canonical name, and the result is the same :class:`~mallseg.features.sources.
CanonicalSources` the DuckDB builder works from: a missing or empty table is simply not
present, a column the files lack reads as NULL, a stored type is cast to the canonical
one. ``inputs`` may be any path Spark reads (``hdfs://``, ``s3a://``, a local folder).

A column whose stored type cannot mean the canonical one (text where a number or a date
is expected) stops the read with one message naming the table, the column, both types and
what to do; nothing is computed.

Examples
--------
>>> import tempfile, pandas as pd
>>> from mallseg.distributed.session import local_spark_session
>>> folder = tempfile.mkdtemp()
>>> pd.DataFrame({"customer_id": ["c1"], "age": [31]}).to_parquet(f"{folder}/customers.parquet")
>>> sources = read_canonical_tables(local_spark_session(), folder)
>>> sorted(sources.present), sources.columns["customers"]
(['customers'], {'customer_id': 'VARCHAR', 'age': 'BIGINT'})
"""

from __future__ import annotations

import logging
from pathlib import Path

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from mallseg.core.schema import CANONICAL_TABLES, TABLE_LOAD_ORDER
from mallseg.features.sources import CanonicalSources

__all__ = ["InputTableError", "read_canonical_tables", "sql_type_name"]

logger = logging.getLogger(__name__)

_NUMBERS = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "FLOAT", "DOUBLE"})
_TIMES = frozenset({"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"})
_SIMPLE_TYPES: dict[type[st.DataType], str] = {
    st.StringType: "VARCHAR",
    st.VarcharType: "VARCHAR",
    st.CharType: "VARCHAR",
    st.BooleanType: "BOOLEAN",
    st.ByteType: "TINYINT",
    st.ShortType: "SMALLINT",
    st.IntegerType: "INTEGER",
    st.LongType: "BIGINT",
    st.FloatType: "FLOAT",
    st.DoubleType: "DOUBLE",
    st.DateType: "DATE",
    st.TimestampNTZType: "TIMESTAMP",
    st.TimestampType: "TIMESTAMP WITH TIME ZONE",
}


class InputTableError(ValueError):
    """A canonical table in the inputs cannot be used; the message says why and what to do."""


def sql_type_name(data_type: st.DataType) -> str:
    """DuckDB's name of a Spark column type (what the feature SQL compares types by).

    Examples
    --------
    >>> from pyspark.sql import types as st
    >>> sql_type_name(st.TimestampNTZType()), sql_type_name(st.DecimalType(10, 2))
    ('TIMESTAMP', 'DECIMAL(10,2)')
    """
    for spark_type, name in _SIMPLE_TYPES.items():
        if isinstance(data_type, spark_type):
            return name
    if isinstance(data_type, st.DecimalType):
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    return data_type.simpleString().upper()


def read_canonical_tables(spark: SparkSession, inputs: str | Path) -> CanonicalSources:
    """Register the canonical tables under ``inputs`` as temporary views of ``spark``.

    Parameters
    ----------
    spark:
        The session to register the views in (they take the canonical names:
        ``customers``, ``visits``, ...).
    inputs:
        Folder holding ``<table>/`` or ``<table>.parquet`` per canonical table.

    Returns
    -------
    CanonicalSources
        The tables present (existing and non-empty) and their stored column types.

    Raises
    ------
    InputTableError
        When ``inputs`` is a local folder that does not exist, ``customers`` is missing,
        empty or lacks ``customer_id``, or a column's stored type cannot be cast to its
        canonical type.
    """
    root = str(inputs).rstrip("/")
    if "://" not in root and not Path(root).is_dir():
        raise InputTableError(
            f"inputs folder {root} does not exist: give the folder that holds one "
            "sub-folder (or .parquet file) per table, such as mall-sim/inputs"
        )
    columns: dict[str, dict[str, str]] = {}
    frames: dict[str, DataFrame] = {}
    for table in TABLE_LOAD_ORDER:
        frame, location = _read_table(spark, root, table)
        if frame is None:
            continue
        stored = {field.name: sql_type_name(field.dataType) for field in frame.schema.fields}
        _check_types(table, location, stored)
        frames[table] = frame
        columns[table] = stored
    present = _non_empty(frames)
    for table, frame in frames.items():
        if table in present:
            frame.createOrReplaceTempView(table)
        else:
            logger.info("%s/%s is empty: its features are left out", root, table)
    columns = {table: stored for table, stored in columns.items() if table in present}
    if "customers" not in present:
        raise InputTableError(
            f"{root}/customers missing or empty: the inputs need a customers table "
            "(Parquet, with at least customer_id)"
        )
    if "customer_id" not in columns["customers"]:
        raise InputTableError(
            f"{root}/customers has no column customer_id (it has "
            f"{', '.join(columns['customers'])}): name the customer key customer_id"
        )
    logger.info("read %s from %s", ", ".join(sorted(present)), root)
    return CanonicalSources(frozenset(present), columns)


def _non_empty(frames: dict[str, DataFrame]) -> set[str]:
    """The tables holding at least one row, found in one Spark job (one row read per table)."""
    if not frames:
        return set()
    probes = [frame.limit(1).select(sf.lit(table).alias("table"))
              for table, frame in frames.items()]
    union = probes[0]
    for probe in probes[1:]:
        union = union.unionAll(probe)
    return {str(row["table"]) for row in union.collect()}


def _read_table(spark: SparkSession, root: str, table: str) -> tuple[DataFrame | None, str]:
    for location in (f"{root}/{table}", f"{root}/{table}.parquet"):
        if "://" not in location and not Path(location).exists():
            continue
        try:
            return spark.read.parquet(location), location
        except AnalysisException as error:
            if "PATH_NOT_FOUND" in str(error) or "UNABLE_TO_INFER_SCHEMA" in str(error):
                continue
            raise InputTableError(f"{location} cannot be read as Parquet: {error}") from None
    return None, f"{root}/{table}"


def _check_types(table: str, location: str, stored: dict[str, str]) -> None:
    for column in CANONICAL_TABLES[table].columns:
        if column.name not in stored:
            continue
        found, wanted = stored[column.name], column.sql_type
        if found == wanted or wanted == "VARCHAR" or _same_family(found, wanted):
            continue
        raise InputTableError(
            f"{location}: column {column.name} is stored as {found}, expected {wanted} "
            f"({column.meaning}): write the table with canonical types (mallseg ingest "
            "types and validates a raw export)"
        )


def _same_family(found: str, wanted: str) -> bool:
    number = {*_NUMBERS, "DECIMAL"}
    return (
        (found.split("(")[0] in number and wanted in number)
        or (found in _TIMES and wanted in _TIMES)
    )
