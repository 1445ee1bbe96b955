"""Load a file into a canonical table of the workspace, validating every row.

The steps, all in the workspace database, unit by unit: stage the rows
(:mod:`mallseg.data.readers`), type and check them (:mod:`mallseg.data.typing_plan`,
:mod:`mallseg.data.row_checks`), check references (:mod:`mallseg.data.references`),
derive or check keys (:mod:`mallseg.data.keys`), merge the valid rows
(:mod:`mallseg.data.merge`), quarantine the others with their reason
(:mod:`mallseg.data.quarantine`), and keep what the extra columns say about customers
(:mod:`mallseg.data.attributes`, :mod:`mallseg.data.event_attributes`). Loading the same
rows again adds nothing.

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

import functools
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import duckdb

from mallseg.data.attribute_store import upsert_catalog
from mallseg.data.attributes import plan_customer_attributes, store_unit_attributes
from mallseg.data.errors import IngestError
from mallseg.data.event_attributes import (
    EVENT_TABLES,
    accumulate_event_values,
    drop_event_tables,
    finish_event_attributes,
    plan_event_attributes,
)
from mallseg.data.folder import FolderScan, find_table_sources, scan_table_folder
from mallseg.data.ingest_log import log_ingest, now
from mallseg.data.ingest_pseudonyms import (
    ERASED_REASON,
    PSEUDONYM_TABLE,
    IdMap,
    add_unit_pseudonyms,
    drop_pseudonym_table,
    ingest_key,
    keep_erased_out,
)
from mallseg.data.ingest_report import IngestReport
from mallseg.data.ingest_state import (
    IngestState,
    UnitCallback,
    UnitProgress,
    build_report,
    logged_counts,
)
from mallseg.data.ingest_units import (
    log_committed_units,
    supersede_earlier_quarantine,
    unit_rows_setting,
)
from mallseg.data.keys import assign_keys, create_key_tables, drop_key_tables
from mallseg.data.merge import merge_valid_rows
from mallseg.data.prepare import PreparedIngest, prepare_ingest
from mallseg.data.quarantine import quarantine_unit, replace_earlier_quarantine
from mallseg.data.readers import stage_units
from mallseg.data.references import check_references
from mallseg.data.row_checks import check_typed_rows
from mallseg.data.staging import TYPED_TABLE, StagedUnit
from mallseg.data.typing_plan import staged_types, typed_value, typing_statement
from mallseg.data.value_warnings import count_value_warnings
from mallseg.workspace import Workspace

__all__ = [
    "FolderScan",
    "IngestReport",
    "PreparedIngest",
    "StageCallback",
    "UnitCallback",
    "UnitProgress",
    "find_table_sources",
    "ingest_file",
    "load_prepared",
    "prepare_ingest",
    "scan_table_folder",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

StageCallback = Callable[[str, float], None]
"""Progress: called with the stage name (read, validate, load) and the fraction done."""


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
    unit_rows: int | None = None,
    value_map: Mapping[str, Mapping[str, str]] | None = None,
    spend_columns: Sequence[str] | None = None,
    keep_id_map: str | Path | None = None,
    on_unit: UnitCallback | None = None,
) -> IngestReport:
    r"""Validate and load ``path`` into canonical table ``table_name``.

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
        Called as work advances: ``("read", fraction)`` while rows are staged,
        ``("load", fraction)`` after each committed unit.
    unit_rows:
        Rows typed, checked and merged at a time; bounds memory on large files (default
        ``$MALLSEG_UNIT_ROWS``, else :data:`~mallseg.data.staging.UNIT_ROWS`). Each unit is
        committed with its line in the ingest log (:mod:`mallseg.data.ingest_units`).
    value_map:
        Raw value rewrites per column (canonical or source name), applied before parsing:
        ``{"gender": {"1": "male", "2": "female"}}``.
    spend_columns:
        Columns of a customers file that hold spend per category without a common
        prefix (``Fresh``, ``Milk``, ...): kept as the attribute family ``spend``.
    keep_id_map:
        A CSV file outside the workspace folder where the pairs (raw id, pseudonym) of
        this file's customers are appended, for an operator who must map back; without
        it, the mapping back is kept nowhere (see :mod:`mallseg.data.ingest_pseudonyms`).
    on_unit:
        Called after each committed unit with the rows and units done so far
        (:class:`~mallseg.data.ingest_state.UnitProgress`).

    Raises
    ------
    IngestError
        When the file cannot be used at all (nothing is loaded then), or when reading
        fails part-way through a file larger than one unit (the message says how many rows
        were loaded before; loading the repaired file again completes it, since rows
        already loaded count as unchanged).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from mallseg.workspace import Workspace
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "c.csv").write_text("ID,Sex,Age\nA,1,30\nB,2,150\nTotal,,\n")
    >>> with Workspace.open(folder / "ws") as ws:
    ...     report = ingest_file(ws, "customers", folder / "c.csv",
    ...                          value_map={"gender": {"1": "male", "2": "female"}})
    >>> report.rows_read, report.rows_loaded, [r[2] for r in report.top_reasons]
    (3, 1, ['age: 150 is outside 10..110', "looks like a summary row ('Total'), not a customer"])
    """
    prepared = prepare_ingest(table_name, path, column_map=column_map, encoding=encoding,
                              delimiter=delimiter, sheet=sheet, value_map=value_map,
                              spend_columns=spend_columns)
    return load_prepared(workspace, prepared, register_unknown=register_unknown,
                         progress=progress, unit_rows=unit_rows, keep_id_map=keep_id_map,
                         on_unit=on_unit)


def load_prepared(
    workspace: Workspace,
    prepared: PreparedIngest,
    *,
    register_unknown: bool = False,
    progress: StageCallback | None = None,
    unit_rows: int | None = None,
    keep_id_map: str | Path | None = None,
    on_unit: UnitCallback | None = None,
) -> IngestReport:
    r"""Load a prepared source unit by unit; see :func:`ingest_file`.

    Each unit is committed on its own, so that memory stays bounded however large the
    file: a file of one unit is all or nothing, a larger one is loaded up to the unit that
    failed, and the error says so.

    >>> import tempfile, pathlib
    >>> from mallseg.workspace import Workspace
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "stores.csv").write_text("store_id,floor\nS1,0\nS2,1\n")
    >>> prepared = prepare_ingest("stores", folder / "stores.csv")
    >>> with Workspace.open(folder / "ws") as ws:
    ...     load_prepared(ws, prepared).rows_new
    2
    """
    source = prepared.source
    con = workspace.connection
    started = now()
    ingest_id = f"ingest-{started.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    state = IngestState(prepared=prepared, ingest_id=ingest_id, started=started,
                         register_unknown=register_unknown, notes=list(source.notes))
    if "customer_id" in prepared.table.column_names:
        state.key = ingest_key(workspace)
        if state.key is not None and keep_id_map is not None:
            state.id_map = IdMap(keep_id_map, workspace_folder=workspace.folder)

    read = [0.0]  # the share of the source staged so far

    def reading(fraction: float) -> None:
        read[0] = fraction
        if progress:
            progress("read", fraction)

    try:
        state.fresh_table = not con.execute(
            f"SELECT EXISTS (SELECT 1 FROM {prepared.table.name})").fetchall()[0][0]
        state.digest = digest = source.content_sha256()
        for unit in stage_units(con, source, unit_rows=unit_rows_setting(unit_rows),
                                progress=reading):
            if not unit.rows_read:
                continue  # a sheet of blank rows, a Parquet file without rows
            _in_transaction(con, functools.partial(_process_unit, con, state, unit))
            state.committed_units += 1
            if progress:
                progress("load", read[0])
            if on_unit:
                on_unit(UnitProgress(state.committed_units, state.rows_read, read[0]))
        if state.rows_read == 0:
            raise IngestError(f"{source.label}: no data rows below the header")
        report = _in_transaction(con, lambda: _finish(workspace, state, digest))
    except BaseException as exc:
        if not state.committed_units:
            raise
        _log_partial(workspace, state)
        if isinstance(exc, IngestError):
            raise IngestError(
                f"{exc} (after {state.rows_read:,} rows had been loaded or quarantined; "
                "repair the file and ingest it again to complete the load)"
            ) from exc
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS {TYPED_TABLE}")
        drop_key_tables(con)
        drop_event_tables(con)
        drop_pseudonym_table(con)
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


def _decide(con: duckdb.DuckDBPyConnection, state: IngestState) -> None:
    """Take the file's decisions from its first unit: typing, keys, attributes."""
    prepared, table, mapping = state.prepared, state.table, state.prepared.mapping
    source = prepared.source
    types = staged_types(con)
    candidates = list(mapping.ignored)
    if table.name == "customers":
        state.attributes = plan_customer_attributes(con, source, candidates, types,
                                                    prepared.spend_columns)
    elif table.name in EVENT_TABLES:
        state.attributes = plan_event_attributes(
            con, source, candidates, types, state.mapped["customer_id"],
            table_name=table.name, value_map=prepared.value_map, notes=state.notes,
            now=state.started)
    nul_columns = ([c for c in source.columns if types.get(c) == "VARCHAR"]
                   if source.nul_line is not None else [])
    if state.key is not None:
        id_source = state.mapped["customer_id"]
        state.id_sql = typed_value(
            con, table.column("customer_id"), id_source, types.get(id_source, "VARCHAR"),
            values=prepared.value_map.get("customer_id"), notes=[], now=state.started).value
    state.plan = typing_statement(
        con, table, mapping, value_map=prepared.value_map, notes=state.notes,
        now=state.started, nul_columns=nul_columns,
        first_column=source.columns[0] if source.columns else None,
        extra_columns=state.attributes.typed_columns(),
        pseudonyms=PSEUDONYM_TABLE if state.key is not None else None)
    create_key_tables(con, table, state.mapped)
    upsert_catalog(con, state.attributes.specs, state.ingest_id, state.started)
    state.kept = [*state.mapped.values(), *state.attributes.kept_sources]


def _process_unit(con: duckdb.DuckDBPyConnection, state: IngestState, unit: StagedUnit) -> None:
    """Type, check, merge and quarantine the rows now in the staging table."""
    table = state.table
    if state.plan is None:
        _decide(con, state)
    assert state.plan is not None
    if state.key is not None and state.id_sql is not None:
        add_unit_pseudonyms(con, state.key, state.id_sql, state.id_map)
    con.execute(state.plan)
    if "customer_id" in state.mapped:
        state.counts["erased"] += keep_erased_out(con)
    check_typed_rows(con, table, state.mapped)
    check_references(con, table, register_unknown=state.register_unknown,
                     registered=state.registered, unknown=state.unknown_references,
                     mapped=state.mapped)
    assign_keys(con, table, state.mapped)
    count_value_warnings(con, table, state.mapped, state.warning_counts)
    state.counts.update(merge_valid_rows(con, table, state.mapped, state.ingest_id,
                                         fresh_table=state.fresh_table))
    supersede_earlier_quarantine(
        con, table.name, state.ingest_id, state.digest, state.prepared.source.label,
        [(r.source_file, r.line) for r in unit.parse_rejects])
    state.counts["quarantined"] += quarantine_unit(
        con, table.name, state.prepared.source, state.kept, unit, state.ingest_id,
        state.started, id_source=state.mapped.get("customer_id") if state.key else None,
        pseudonymise=state.key.pseudonym if state.key else None, erased_reason=ERASED_REASON)
    if table.name == "customers":
        state.unreadable.update(store_unit_attributes(con, state.attributes, state.ingest_id))
    elif table.name in EVENT_TABLES:
        accumulate_event_values(con, state.attributes)
    state.rows_read += unit.rows_read
    counts = state.counts
    log_committed_units(con, logged_counts(state, counts["new"] + counts["updated"]
                                     + counts["unchanged"]), state.started, state.digest)


def _finish(workspace: Workspace, state: IngestState, digest: str) -> IngestReport:
    con = workspace.connection
    counts = state.counts
    rows_loaded = counts["new"] + counts["updated"] + counts["unchanged"]
    if rows_loaded + counts["quarantined"] != state.rows_read:
        raise RuntimeError(
            f"counts do not reconcile: read {state.rows_read}, loaded {rows_loaded}, "
            f"quarantined {counts['quarantined']}"
        )
    filled: dict[str, int] = {}
    if state.table.name in EVENT_TABLES:
        unreadable, filled = finish_event_attributes(con, state.attributes, state.ingest_id)
        state.unreadable.update(unreadable)
    notes = list(state.notes)
    for target, unknown in state.unknown_references.items():
        if unknown:
            notes.append(
                f"{unknown:,} rows refer to {target} missing from the workspace: ingest "
                f"{target} first, or pass --register-unknown to add them as bare rows"
            )
    if counts["erased"]:
        notes.append(f"{counts['erased']:,} rows belong to customers erased on request: "
                     "quarantined without their values, not loaded again")
    for column, count in filled.items():
        notes.append(f"{column}: filled for {count:,} customers whose value was empty, from "
                     "their rows in this file (where all of them agree)")
    replace_earlier_quarantine(con, state.table.name, state.ingest_id, digest,
                               state.prepared.source.label)
    report = build_report(con, state, rows_loaded, notes, filled)
    log.info("%s: %s read, %s loaded, %s quarantined; %s attributes kept, %s columns set aside",
             report.source, report.rows_read, report.rows_loaded, report.rows_quarantined,
             len(report.attributes), len(report.set_aside))
    log_ingest(workspace, logged_counts(state, rows_loaded), digest, report.mapping,
               state.started, status="complete", registered=report.registered)
    return report


def _log_partial(workspace: Workspace, state: IngestState) -> None:
    """Record an ingest that stopped part-way, with what its committed units did."""
    counts = state.counts
    rows_loaded = counts["new"] + counts["updated"] + counts["unchanged"]
    log_ingest(workspace, logged_counts(state, rows_loaded), "", {}, state.started,
               status="stopped")
