"""Load a file into a canonical table of the workspace, validating every row.

The steps, all in the workspace database: stage the file (:mod:`mallseg.data.readers`),
map its columns (:mod:`mallseg.data.mapping`), type every value
(:mod:`mallseg.data.parsing`), check emptiness of required fields, types, ranges, allowed
values, duplicate keys and references to other tables, then merge the valid rows and put
every other row into the ``quarantine`` table with its reason. Loading the same rows again
adds nothing: keyed rows that are identical are counted as unchanged, keyed rows that
differ update the mapped columns, and event rows without an id get a key derived from
their content (and their occurrence number among identical rows of the file).

The counts always reconcile: ``rows_read == rows_loaded + rows_quarantined`` and
``rows_loaded == rows_new + rows_updated + rows_unchanged``.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.datasets.samples import classic_sample_path
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     first = ingest_file(ws, "customers", classic_sample_path())
...     again = ingest_file(ws, "customers", classic_sample_path())
>>> first.rows_read, first.rows_new, first.rows_quarantined
(200, 200, 0)
>>> again.rows_new, again.rows_unchanged
(0, 200)
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd

from mallseg.core.schema import CANONICAL_TABLES, TABLE_LOAD_ORDER, Column, Table
from mallseg.core.sql_text import quote_identifier
from mallseg.data.errors import IngestError
from mallseg.data.mapping import ColumnMapping, map_columns
from mallseg.data.parsing import (
    boolean_expr,
    detect_datetime_format,
    detect_decimal_comma,
    gender_expr,
    number_expr,
    text_expr,
    timestamp_expr,
)
from mallseg.data.readers import (
    DECISION_ROWS,
    STAGING_TABLE,
    UNIT_ROWS,
    Source,
    StagedUnit,
    open_source,
    stage_units,
)
from mallseg.workspace import Workspace

__all__ = [
    "IngestReport",
    "PreparedIngest",
    "StageCallback",
    "find_table_sources",
    "ingest_file",
    "load_prepared",
    "prepare_ingest",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

StageCallback = Callable[[str, float], None]
"""Progress: called with the stage name (read, validate, load) and the fraction done."""

TYPED_TABLE = "_typed"
_INCOME_FULL_UNITS_MEDIAN = 1_000.0


@dataclass
class IngestReport:
    """What one ingest did, with reconciled counts."""

    ingest_id: str
    table: str
    source: str
    rows_read: int
    rows_loaded: int
    rows_new: int
    rows_updated: int
    rows_unchanged: int
    rows_quarantined: int
    mapping: dict[str, str]
    ignored_columns: list[str] = field(default_factory=list)
    dropped_pii_columns: list[str] = field(default_factory=list)
    registered: dict[str, int] = field(default_factory=dict)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form (for the API and ``--json`` output)."""
        return asdict(self)


def ingest_file(
    workspace: Workspace,
    table_name: str,
    path: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    register_unknown: bool = False,
    progress: StageCallback | None = None,
    unit_rows: int = UNIT_ROWS,
) -> IngestReport:
    """Validate and load ``path`` into canonical table ``table_name``.

    Parameters
    ----------
    workspace:
        The open workspace.
    table_name:
        One of customers, stores, visits, transactions, campaigns, exposures.
    path:
        A CSV, Parquet or Excel file, a folder of parts, or a glob.
    column_map:
        ``source -> canonical`` column names that win over the automatic mapping.
    encoding, delimiter, sheet:
        Override detection of a CSV's encoding (``utf8``, ``cp1252`` or ``latin1``) and
        delimiter, or choose an Excel sheet.
    register_unknown:
        Add customers, stores or campaigns that rows refer to but the workspace lacks as
        bare rows (id only) instead of quarantining those rows. Meant for transaction
        exports that come without a customer table.
    progress:
        Called as work advances.
    unit_rows:
        Rows typed, checked and merged at a time; bounds memory on large files.

    Raises
    ------
    IngestError
        When the file cannot be used at all (nothing is loaded then), or when reading
        fails part-way through a file larger than one unit (the message says how many rows
        were loaded before; loading the repaired file again completes it, since rows
        already loaded count as unchanged).
    """
    prepared = prepare_ingest(table_name, path, column_map=column_map, encoding=encoding,
                              delimiter=delimiter, sheet=sheet)
    return load_prepared(workspace, prepared, register_unknown=register_unknown,
                         progress=progress, unit_rows=unit_rows)


@dataclass(frozen=True)
class PreparedIngest:
    """A source checked to be usable for a table: readable, with a complete mapping."""

    table: Table
    source: Source
    mapping: ColumnMapping


def prepare_ingest(
    table_name: str,
    path: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> PreparedIngest:
    """Check that ``path`` can be loaded into ``table_name``, reading only its header.

    Raises
    ------
    IngestError
        When the table is unknown or the file cannot be used at all.
    """
    if table_name not in CANONICAL_TABLES:
        known = ", ".join(CANONICAL_TABLES)
        raise IngestError(f"unknown table {table_name!r}: expected one of {known}")
    table = CANONICAL_TABLES[table_name]
    source = open_source(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    mapping = map_columns(source.columns, table, column_map, source_label=source.label)
    return PreparedIngest(table=table, source=source, mapping=mapping)


def load_prepared(
    workspace: Workspace,
    prepared: PreparedIngest,
    *,
    register_unknown: bool = False,
    progress: StageCallback | None = None,
    unit_rows: int = UNIT_ROWS,
) -> IngestReport:
    """Load a prepared source unit by unit; see :func:`ingest_file`.

    Each unit is committed on its own, so that memory stays bounded however large the
    file: a file of one unit is all or nothing, a larger one is loaded up to the unit that
    failed, and the error says so.
    """
    table, source, mapping = prepared.table, prepared.source, prepared.mapping
    con = workspace.connection
    started = _now()
    ingest_id = f"ingest-{started.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    notes = list(source.notes)
    state = _IngestState(table=table, ingest_id=ingest_id, started=started)

    def stage_progress(name: str) -> Callable[[float], None]:
        return lambda fraction: progress(name, fraction) if progress else None

    try:
        for unit in stage_units(con, source, unit_rows=unit_rows,
                                progress=stage_progress("read")):
            _in_transaction(con, functools.partial(
                _process_unit, con, state, source, mapping, unit, register_unknown, notes))
            state.committed_units += 1
        if state.rows_read == 0:
            raise IngestError(f"{source.label}: no data rows below the header")
        digest = source.content_sha256()
        report = _in_transaction(
            con, lambda: _finish(workspace, state, source, mapping, notes, digest))
    except BaseException as exc:
        if not state.committed_units:
            raise
        _log_partial(workspace, state, source)
        if isinstance(exc, IngestError):
            raise IngestError(
                f"{exc} (after {state.rows_read:,} rows had been loaded or quarantined; "
                "repair the file and ingest it again to complete the load)"
            ) from exc
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS {TYPED_TABLE}")
        con.execute(f"DROP TABLE IF EXISTS {_DIGEST_COUNTS}")
        con.execute(f"DROP TABLE IF EXISTS {_SEEN_KEYS}")
    if progress:
        progress("load", 1.0)
    return report


def _in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], T]) -> T:
    """Run ``work`` in a transaction of its own: committed if it returns, else rolled back."""
    con.execute("BEGIN TRANSACTION")
    try:
        result = work()
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return result


@dataclass
class _IngestState:
    """Running totals of one ingest across its units."""

    table: Table
    ingest_id: str
    started: datetime
    plan: str | None = None
    rows_read: int = 0
    committed_units: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    registered: Counter[str] = field(default_factory=Counter)
    unknown_references: Counter[str] = field(default_factory=Counter)


_FILE_ORDER = "_source_file, _source_row"
_DIGEST_COUNTS = "_digest_counts"
_SEEN_KEYS = "_seen_keys"


def _process_unit(
    con: duckdb.DuckDBPyConnection,
    state: _IngestState,
    source: Source,
    mapping: ColumnMapping,
    unit: StagedUnit,
    register_unknown: bool,
    notes: list[str],
) -> None:
    """Type, check, merge and quarantine the rows now in the staging table."""
    table = state.table
    if state.plan is None:
        # parsing decisions (date formats, decimal commas, income unit) are taken once,
        # from the first unit, and hold for the whole file
        state.plan = _typing_sql(con, table, mapping, notes)
        _create_run_tables(con, table, mapping)
    con.execute(state.plan)
    _derive_columns(con, table, mapping)
    _check_references(con, state, register_unknown)
    _assign_keys(con, table, mapping.canonical_to_source)
    for name, count in _merge(con, table, mapping, state.ingest_id).items():
        state.counts[name] += count
    state.counts["quarantined"] += _quarantine(con, table, source, mapping, unit,
                                               state.ingest_id, state.started)
    state.rows_read += unit.rows_read


def _finish(
    workspace: Workspace, state: _IngestState, source: Source, mapping: ColumnMapping,
    notes: list[str], digest: str,
) -> IngestReport:
    con = workspace.connection
    counts = state.counts
    rows_loaded = counts["new"] + counts["updated"] + counts["unchanged"]
    if rows_loaded + counts["quarantined"] != state.rows_read:
        raise RuntimeError(
            f"counts do not reconcile: read {state.rows_read}, loaded {rows_loaded}, "
            f"quarantined {counts['quarantined']}"
        )
    for target, unknown in state.unknown_references.items():
        notes.append(
            f"{unknown} rows refer to {target} missing from the workspace: ingest "
            f"{target} first, or pass --register-unknown to add them as bare rows"
        )
    # the quarantine of an earlier load of the same content, or of a load of the same
    # source that stopped part-way, is replaced by this one's
    con.execute(
        "DELETE FROM quarantine WHERE table_name = ? AND ingest_id <> ? AND ingest_id IN ("
        "SELECT ingest_id FROM ingest_log WHERE table_name = ? AND (content_sha256 = ? "
        "OR (source_file = ? AND status = 'stopped')))",
        [state.table.name, state.ingest_id, state.table.name, digest, source.label],
    )
    report = IngestReport(
        ingest_id=state.ingest_id,
        table=state.table.name,
        source=source.label,
        rows_read=state.rows_read,
        rows_loaded=rows_loaded,
        rows_new=counts["new"],
        rows_updated=counts["updated"],
        rows_unchanged=counts["unchanged"],
        rows_quarantined=counts["quarantined"],
        mapping=dict(mapping.canonical_to_source),
        ignored_columns=mapping.ignored,
        dropped_pii_columns=mapping.dropped_pii,
        registered=dict(state.registered),
        top_reasons=_top_reasons(con, state.ingest_id),
        notes=notes,
    )
    _log_ingest(workspace, report, digest, state.started)
    return report


def find_table_sources(folder: str | Path) -> dict[str, Path]:
    r"""Canonical tables found in ``folder``, in load order.

    Each is a file or a folder of parts named after the table (``customers.csv``,
    ``visits/part-00000.parquet``, ...).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "stores.csv").write_text("store_id\nS1\n")
    >>> (folder / "visits").mkdir()
    >>> sorted(find_table_sources(folder))
    ['stores', 'visits']
    """
    base = Path(folder)
    if not base.is_dir():
        raise IngestError(f"{base}: not a folder; expected one with a file or folder per table")
    found: dict[str, Path] = {}
    for name in TABLE_LOAD_ORDER:
        candidates = [base / name, *sorted(base.glob(f"{name}.*"))]
        for candidate in candidates:
            if candidate.exists():
                found[name] = candidate
                break
    if not found:
        raise IngestError(
            f"{base}: no table found; expected files or folders named "
            f"{', '.join(TABLE_LOAD_ORDER)}"
        )
    return found


# -- typing and row checks -----------------------------------------------------------------
def _source_types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {STAGING_TABLE}").fetchall()
    return {str(r[0]): str(r[1]).upper() for r in rows}


def _value_expr(
    con: duckdb.DuckDBPyConnection, column: Column, source: str, source_type: str,
    notes: list[str],
) -> str:
    src = f"src.{quote_identifier(source)}"
    if column.name == "gender":
        return gender_expr(src)
    kind = column.sql_type
    if _same_family(source_type, kind):
        if kind == "INTEGER":
            return f"TRY_CAST(CASE WHEN isfinite({src}) THEN round({src}) END AS BIGINT)"
        return f"TRY_CAST({src} AS {kind})"
    if kind == "VARCHAR" and source_type.startswith(("FLOAT", "DOUBLE", "DECIMAL")):
        # ids written as 1.0 by tools that store integers with gaps as floats
        return (f"CASE WHEN {src} = trunc({src}) AND abs({src}) < 1e18 "
                f"THEN CAST(CAST({src} AS BIGINT) AS VARCHAR) ELSE CAST({src} AS VARCHAR) END")
    if kind in ("INTEGER", "DOUBLE"):
        decimal_comma = source_type == "VARCHAR" and detect_decimal_comma(
            con, STAGING_TABLE, quote_identifier(source), DECISION_ROWS, _FILE_ORDER)
        if decimal_comma:
            notes.append(f"{source}: read with a decimal comma")
        expr = number_expr(src, decimal_comma=decimal_comma)
        return f"TRY_CAST(round({expr}) AS BIGINT)" if kind == "INTEGER" else expr
    if kind == "BOOLEAN":
        return boolean_expr(src)
    if kind in ("DATE", "TIMESTAMP"):
        fmt = detect_datetime_format(con, STAGING_TABLE, quote_identifier(source),
                                     DECISION_ROWS, _FILE_ORDER)
        if fmt is not None:
            notes.append(f"{source}: read with date format {fmt}")
        return f"CAST({timestamp_expr(src, fmt)} AS {kind})"
    return text_expr(src)


def _typing_sql(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    mapping: ColumnMapping,
    notes: list[str],
) -> str:
    """The statement that types and checks the staged rows into ``_typed``."""
    source_types = _source_types(con)
    selects = ["src._source_file", "src._source_row"]
    checks: list[str] = []
    for column in table.columns:
        source = mapping.canonical_to_source.get(column.name)
        if source is None:
            selects.append(f"CAST(NULL AS {column.sql_type}) AS {column.name}")
            continue
        source_type = source_types.get(source, "VARCHAR")
        value = _value_expr(con, column, source, source_type, notes)
        typed_source = _same_family(source_type, column.sql_type)
        qualified = f"src.{quote_identifier(source)}"
        raw = qualified if typed_source else text_expr(qualified)
        if column.name == "annual_income":
            value = _income_in_thousands(con, value, source, notes)
        selects.append(f"{value} AS {column.name}")
        label = f"{column.name}"
        if column.required:
            checks.append(f"CASE WHEN {raw} IS NULL THEN '{label} is empty' END")
        if not typed_source:
            expected = _expected_text(column)
            checks.append(
                f"CASE WHEN {raw} IS NOT NULL AND ({value}) IS NULL THEN "
                f"'{label}: ''' || left({raw}, 60) || ''' is not {expected}' END"
            )
        out_of_range = _range_reason(column, f"({value})", label)
        if out_of_range:
            checks.append(out_of_range)
    reasons = f"concat_ws('; ', {', '.join(checks)})" if checks else "''"
    sql = (
        f"CREATE OR REPLACE TEMP TABLE {TYPED_TABLE} AS SELECT {', '.join(selects)}, "
        f"{reasons} AS _reason FROM {STAGING_TABLE} AS src"
    )
    return sql


_TYPE_FAMILIES = {
    "numeric": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL"),
    "time": ("DATE", "TIMESTAMP"),
    "boolean": ("BOOLEAN",),
}


def _same_family(source_type: str, target_type: str) -> bool:
    """True when a typed source (Parquet) needs no parsing to reach the target type."""
    if source_type == "VARCHAR" or target_type == "VARCHAR":
        return False
    return any(
        source_type.startswith(members) and target_type.startswith(members)
        for members in _TYPE_FAMILIES.values()
    )


def _range_reason(column: Column, value: str, label: str) -> str | None:
    """SQL giving the out-of-range reason for ``value``, NULL when in range."""
    if column.minimum is None and column.maximum is None:
        return None
    low = column.minimum if column.minimum is not None else "-infinity"
    high = column.maximum if column.maximum is not None else "infinity"
    return (
        f"CASE WHEN {value} < {low} OR {value} > {high} THEN "
        f"'{label}: ' || CAST({value} AS VARCHAR) || ' is outside "
        f"{_fmt(column.minimum)}..{_fmt(column.maximum)}' END"
    )


def _expected_text(column: Column) -> str:
    if column.name == "gender":
        return "a gender (female, male, other)"
    return {
        "INTEGER": "a whole number",
        "DOUBLE": "a number",
        "BOOLEAN": "true or false (yes/no, 1/0)",
        "DATE": "a date (e.g. 2026-01-31)",
        "TIMESTAMP": "a date and time (e.g. 2026-01-31 14:05)",
    }.get(column.sql_type, "text")


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _income_in_thousands(
    con: duckdb.DuckDBPyConnection, value: str, source: str, notes: list[str]
) -> str:
    row = con.execute(
        f"SELECT median({value}) FROM (SELECT * FROM {STAGING_TABLE} ORDER BY {_FILE_ORDER} "
        f"LIMIT {DECISION_ROWS}) AS src"
    ).fetchone()
    median = row[0] if row else None
    if median is not None and median > _INCOME_FULL_UNITS_MEDIAN:
        notes.append(
            f"{source}: median {median:,.0f} reads as full currency units; "
            "divided by 1000 to give annual_income in thousands"
        )
        return f"(({value}) / 1000.0)"
    return value


def _derivation_applies(table: Table, name: str, mapped: Mapping[str, str]) -> bool:
    """True when ``name`` is absent from the file but all its inputs are present."""
    derivation = table.derived_columns.get(name)
    return (
        name not in mapped
        and derivation is not None
        and all(i in mapped for i in derivation.inputs)
    )


def _derive_columns(con: duckdb.DuckDBPyConnection, table: Table, mapping: ColumnMapping) -> None:
    mapped = mapping.canonical_to_source
    if table.name == "visits" and "left_at" in mapped:
        con.execute(
            f"UPDATE {TYPED_TABLE} SET _reason = 'left_at is before entered_at' "
            "WHERE _reason = '' AND left_at < entered_at"
        )
    for name, derivation in table.derived_columns.items():
        if name in mapped:
            continue
        if _derivation_applies(table, name, mapped):
            con.execute(f"UPDATE {TYPED_TABLE} SET {name} = {derivation.expression}")
            out_of_range = _range_reason(table.column(name), name, f"{name} (derived)")
            if out_of_range:
                con.execute(
                    f"UPDATE {TYPED_TABLE} SET _reason = {out_of_range} WHERE _reason = '' "
                    f"AND ({out_of_range}) IS NOT NULL"
                )
        if table.column(name).required:
            con.execute(
                f"UPDATE {TYPED_TABLE} SET _reason = concat_ws('; ', nullif(_reason, ''), "
                f"'{name} is empty') WHERE {name} IS NULL AND _reason = ''"
            )
    if table.name == "campaigns" and "end_date" in mapped and "start_date" in mapped:
        con.execute(
            f"UPDATE {TYPED_TABLE} SET _reason = 'end_date is before start_date' "
            "WHERE _reason = '' AND end_date < start_date"
        )


# -- keys and references -------------------------------------------------------------------
def _create_run_tables(
    con: duckdb.DuckDBPyConnection, table: Table, mapping: ColumnMapping
) -> None:
    """Tables that carry key bookkeeping from one unit of the file to the next."""
    if table.derived_key and table.key[0] not in mapping.canonical_to_source:
        # no index: an index over 100M keys would cost gigabytes of memory; joins suffice
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_DIGEST_COUNTS} "
                    "(_digest VARCHAR, seen BIGINT)")
    else:
        key_cols = ", ".join(f"{c} VARCHAR" for c in table.key)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_SEEN_KEYS} ({key_cols}, first_row BIGINT)")


def _assign_keys(
    con: duckdb.DuckDBPyConnection, table: Table, mapped_columns: Mapping[str, str]
) -> None:
    """Derive missing event keys, or mark duplicate keys; both across the whole file."""
    if table.derived_key and table.key[0] not in mapped_columns:
        _derive_keys(con, table)
    else:
        _mark_duplicates(con, table)


def _derive_keys(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Key = content digest + occurrence number of that content in this file.

    Loading the same rows again gives the same keys (so nothing is added), and identical
    rows within a file (two equal receipt lines) stay two purchases. Occurrences are
    counted across the units of the file.
    """
    key = table.key[0]
    content = [c for c in table.column_names if c != key]
    parts = ", ".join(f"coalesce(CAST({c} AS VARCHAR), chr(0))" for c in content)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {TYPED_TABLE} AS "
        f"SELECT t.* EXCLUDE (_digest) REPLACE (t._digest || '-' || CAST(coalesce(c.seen, 0) + "
        f"row_number() OVER (PARTITION BY t._digest ORDER BY t._source_file, t._source_row) "
        f"AS VARCHAR) AS {key}) "
        f"FROM (SELECT *, md5(concat_ws(chr(31), {parts})) AS _digest FROM {TYPED_TABLE}) t "
        f"LEFT JOIN {_DIGEST_COUNTS} c ON c._digest = t._digest"
    )
    unit_counts = (f"(SELECT split_part({key}, '-', 1) AS _digest, count(*) AS seen "
                   f"FROM {TYPED_TABLE} GROUP BY 1)")
    con.execute(
        f"UPDATE {_DIGEST_COUNTS} AS c SET seen = c.seen + u.seen FROM {unit_counts} u "
        "WHERE c._digest = u._digest"
    )
    con.execute(
        f"INSERT INTO {_DIGEST_COUNTS} SELECT u._digest, u.seen FROM {unit_counts} u "
        f"WHERE NOT EXISTS (SELECT 1 FROM {_DIGEST_COUNTS} c WHERE c._digest = u._digest)"
    )


def _mark_duplicates(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Quarantine every repeat of a key after its first valid row in the file."""
    key_cols = ", ".join(table.key)
    described = "".join(
        f"{c} ''' || coalesce(CAST(d.{c} AS VARCHAR), '') || ''' " for c in table.key
    )
    join_seen = " AND ".join(f"s.{c} = t.{c}" for c in table.key)
    con.execute(
        f"UPDATE {TYPED_TABLE} SET _reason = 'duplicate {described}(first at row ' || "
        f"CAST(d.first_row AS VARCHAR) || ')' FROM ("
        f"SELECT t._source_file, t._source_row, t.{table.key[0]}, "
        + ", ".join(f"t.{c}" for c in table.key[1:]) + (", " if len(table.key) > 1 else "")
        + f"row_number() OVER (PARTITION BY {', '.join(f't.{c}' for c in table.key)} "
        f"ORDER BY t._source_file, t._source_row) + (s.first_row IS NOT NULL)::INT AS rn, "
        f"coalesce(s.first_row, first_value(t._source_row) OVER (PARTITION BY "
        f"{', '.join(f't.{c}' for c in table.key)} ORDER BY t._source_file, t._source_row)) "
        f"AS first_row FROM {TYPED_TABLE} t LEFT JOIN {_SEEN_KEYS} s ON {join_seen} "
        f"WHERE t._reason = '') d "
        f"WHERE d.rn > 1 AND {TYPED_TABLE}._source_file = d._source_file "
        f"AND {TYPED_TABLE}._source_row = d._source_row"
    )
    match = " AND ".join(f"s.{c} = t.{c}" for c in table.key)
    con.execute(
        f"INSERT INTO {_SEEN_KEYS} SELECT {key_cols}, min(_source_row) FROM {TYPED_TABLE} t "
        f"WHERE _reason = '' AND NOT EXISTS (SELECT 1 FROM {_SEEN_KEYS} s WHERE {match}) "
        "GROUP BY ALL"
    )


def _check_references(
    con: duckdb.DuckDBPyConnection, state: _IngestState, register_unknown: bool
) -> None:
    for ref in state.table.references:
        missing_sql = (
            f"SELECT DISTINCT t.{ref.column} FROM {TYPED_TABLE} t "
            f"WHERE t._reason = '' AND t.{ref.column} IS NOT NULL AND NOT EXISTS ("
            f"SELECT 1 FROM {ref.table} p WHERE p.{ref.target_column} = t.{ref.column})"
        )
        if register_unknown:
            state.registered[ref.table] += _scalar(
                con,
                f"INSERT INTO {ref.table} ({ref.target_column}, _ingest_id) "
                f"SELECT {ref.column}, 'registered' FROM ({missing_sql})",
            )
            continue
        state.unknown_references[ref.table] += _scalar(
            con,
            f"UPDATE {TYPED_TABLE} SET _reason = '{ref.column} ''' || {ref.column} || "
            f"''' is not in {ref.table}' WHERE _reason = '' AND {ref.column} IN ({missing_sql})",
        )
    for name in [n for n, c in state.registered.items() if c == 0]:
        del state.registered[name]


# -- merge and quarantine ------------------------------------------------------------------
def _merge(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    mapping: ColumnMapping,
    ingest_id: str,
) -> dict[str, int]:
    derived = [
        c for c in table.derived_columns
        if _derivation_applies(table, c, mapping.canonical_to_source)
    ]
    stored = [c for c in table.column_names
              if c in mapping.canonical_to_source or c in table.key or c in derived]
    value_cols = [c for c in stored if c not in table.key]
    join = " AND ".join(f"w.{k} = v.{k}" for k in table.key)
    valid = f"(SELECT * FROM {TYPED_TABLE} WHERE _reason = '')"
    differs = " OR ".join(f"w.{c} IS DISTINCT FROM v.{c}" for c in value_cols) or "false"

    total_valid = _scalar(con, f"SELECT count(*) FROM {valid} v")
    assignments = ", ".join(f"{c} = v.{c}" for c in value_cols)
    updated = 0
    if assignments:
        updated = _scalar(
            con,
            f"UPDATE {table.name} AS w SET {assignments}, _ingest_id = '{ingest_id}' "
            f"FROM {valid} v WHERE {join} AND ({differs})",
        )
    cols = ", ".join(stored)
    insert = (
        f"INSERT INTO {table.name} ({cols}, _ingest_id) SELECT {cols}, '{ingest_id}' "
        f"FROM {valid} v WHERE NOT EXISTS (SELECT 1 FROM {table.name} w WHERE {join})"
    )
    new_rows = _scalar(con, insert)
    return {"new": new_rows, "updated": updated,
            "unchanged": total_valid - new_rows - updated}


def _scalar(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _quarantine(
    con: duckdb.DuckDBPyConnection, table: Table, source: Source, mapping: ColumnMapping,
    unit: StagedUnit, ingest_id: str, started: datetime,
) -> int:
    """Quarantine the unit's rejected rows; return how many.

    Each keeps its reason and raw values, personal data left out.
    """
    kept = [c for c in source.columns if c not in mapping.dropped_pii]
    raw_cols = ", ".join(
        f"{quote_identifier(c)} := s.{quote_identifier(c)}" for c in kept
    ) or "empty := NULL"
    rejected = _scalar(
        con,
        "INSERT INTO quarantine SELECT ?, ?, t._source_file, t._source_row, t._reason, "
        f"CAST(to_json(struct_pack({raw_cols})) AS VARCHAR), ? "
        f"FROM {TYPED_TABLE} t JOIN {STAGING_TABLE} s "
        "ON s._source_file = t._source_file AND s._source_row = t._source_row "
        "WHERE t._reason <> ''",
        [ingest_id, table.name, started],
    )
    if unit.parse_rejects:
        rejects = pd.DataFrame({
            "ingest_id": ingest_id,
            "table_name": table.name,
            "source_file": [r.source_file for r in unit.parse_rejects],
            "source_row": [r.line for r in unit.parse_rejects],
            "reason": [r.reason for r in unit.parse_rejects],
            "raw_record": [json.dumps(_reject_fields(r.text, source, mapping))
                           for r in unit.parse_rejects],
            "quarantined_at": started,
        })
        con.register("_rejects", rejects)
        con.execute("INSERT INTO quarantine SELECT * FROM _rejects")
        con.unregister("_rejects")
    return rejected + len(unit.parse_rejects)


def _reject_fields(text: str, source: Source, mapping: ColumnMapping) -> dict[str, str]:
    """A malformed line split into the header's fields, personal data left out.

    The fields of a malformed line may be shifted (an unquoted comma in a name), so only the
    fields before the first personal-data column are kept when there is one.
    """
    fields = next(csv.reader(io.StringIO(text), delimiter=source.delimiter or ","), [])
    pii_positions = [i for i, c in enumerate(source.columns) if c in mapping.dropped_pii]
    if pii_positions and len(fields) != len(source.columns):
        fields = fields[: pii_positions[0]]
    named: dict[str, str] = {}
    for position, value in enumerate(fields):
        name = source.columns[position] if position < len(source.columns) else (
            f"extra_field_{position + 1}")
        if name not in mapping.dropped_pii:
            named[name] = value
    return named


def _top_reasons(con: duckdb.DuckDBPyConnection, ingest_id: str) -> list[tuple[str, int]]:
    rows = con.execute(
        "SELECT regexp_replace(regexp_replace(regexp_replace(reason, '''[^'']*''', '…', 'g'), "
        "'-?[0-9]+(\\.[0-9]+)? is outside', 'value is outside', 'g'), "
        "'row [0-9]+', 'row …', 'g') AS kind, count(*) "
        "FROM quarantine WHERE ingest_id = ? GROUP BY kind ORDER BY count(*) DESC, kind LIMIT 5",
        [ingest_id],
    ).fetchall()
    return [(str(r[0]), int(r[1])) for r in rows]


def _log_partial(workspace: Workspace, state: _IngestState, source: Source) -> None:
    """Record an ingest that stopped part-way, with what its committed units did."""
    counts = state.counts
    workspace.connection.execute(
        "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'stopped')",
        [state.ingest_id, state.table.name, source.label, "", "{}", state.rows_read,
         counts["new"] + counts["updated"] + counts["unchanged"], counts["new"],
         counts["updated"], counts["unchanged"], counts["quarantined"], state.started,
         _now()],
    )
    workspace.audit("ingest_stopped", state.table.name,
                    {"source": source.label, "ingest_id": state.ingest_id,
                     "rows_read": state.rows_read})


def _log_ingest(
    workspace: Workspace, report: IngestReport, content_sha256: str, started: datetime
) -> None:
    workspace.connection.execute(
        "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'complete')",
        [
            report.ingest_id, report.table, report.source, content_sha256,
            json.dumps(report.mapping), report.rows_read, report.rows_loaded, report.rows_new,
            report.rows_updated, report.rows_unchanged, report.rows_quarantined, started, _now(),
        ],
    )
    workspace.audit(
        "ingest",
        report.table,
        {
            "source": report.source,
            "ingest_id": report.ingest_id,
            "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded,
            "rows_quarantined": report.rows_quarantined,
            "registered": report.registered,
        },
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
