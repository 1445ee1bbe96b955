"""Erasure of one customer: from every table, snapshot, result, audit detail and file.

What it does, in order:

1. in one transaction: delete the customer's rows from every table with a ``customer_id``
   column (the canonical tables, customer attributes, assignments of every run, live
   assignments, run snapshots, feature tables); delete the quarantine records that quote
   them; take them out of every insight result (lists of customers, target lists); replace
   the id by ``[erased customer]`` in whatever other text quotes it (audit details, run
   summaries); record a tombstone (the SHA-256 digest of the pseudonym, so that not even
   the pseudonym stays) and a refit request for every run that was fitted on them;
2. remove model files that keep training rows (the density model of HDBSCAN keeps them)
   of those runs: the refit request says the model was purged;
3. rewrite the exports (CSV, Parquet) without the customer's rows and remove any other
   file that quotes them (a report: write it again);
4. compact the database file (:mod:`mallseg.workspace.compaction`), so that the deleted
   rows' old pages are gone from the disk.

Afterwards neither the workspace id nor the raw id (when given) is in any file of the
workspace folder, byte for byte. The audit log records that an erasure happened and what
it removed, never whom.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     customer = ws.connection.execute("SELECT min(customer_id) FROM customers").fetchone()[0]
...     erasure = erase_customer(ws, customer)
...     again = ingest_file(ws, "customers", classic_sample_path())
>>> erasure.rows_removed["customers"], again.rows_erased, again.rows_loaded
(1, 1, 199)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from skops import io as sio

from mallseg.core.sql_text import quote_identifier
from mallseg.privacy.files import scrub_files
from mallseg.privacy.id_matching import (
    ERASED_TEXT,
    IdMatcher,
    is_distinct,
    names_customer,
    replacing_pattern,
)
from mallseg.privacy.scan import word_pattern
from mallseg.workspace import DATABASE_FILE, SYSTEM_TABLES, Workspace
from mallseg.workspace.compaction import Compaction, compact_database
from mallseg.workspace.tables import SYSTEM_DDL

__all__ = ["ERASED_TEXT", "Erasure", "erase_customer"]

_STRUCTURAL_COLUMNS = frozenset({
    "run_id", "kind", "status", "model_path", "mallseg_version", "feature_schema",
    "table_name", "source_file", "content_sha256", "ingest_id", "key_id", "salt",
    "key_hash", "scopes", "digest", "snapshot", "action", "key", "attribute",
    "source_table", "source_column", "value_type", "family", "member",
})
"""Columns of the workspace's own tables that name things (runs, files, paths, keys), never
a customer: the sweep leaves them alone, so that an id ``0`` cannot rewrite a model's path."""

_TRAINING_ROW_TYPES = frozenset({"mallseg.segment.density.DensityTree"})
"""Model parts that keep training rows: a model holding one is purged, not kept."""


@dataclass(frozen=True)
class Erasure:
    """What erasing one customer removed.

    >>> Erasure({"customers": 1}, 2, 0, (), (), (), (), False, Compaction(10, 5)).found
    True
    """

    rows_removed: dict[str, int]
    """Table -> rows deleted (canonical tables, attributes, assignments, snapshots, ...)."""
    quarantine_rows: int
    insight_results_changed: int
    runs_to_refit: tuple[str, ...]
    models_purged: tuple[str, ...]
    files_rewritten: tuple[str, ...]
    files_removed: tuple[str, ...]
    already_erased: bool
    """The customer had been erased before (a tombstone existed)."""
    compaction: Compaction

    @property
    def found(self) -> bool:
        """Whether anything of the customer was in the workspace."""
        return bool(sum(self.rows_removed.values()) or self.quarantine_rows
                    or self.insight_results_changed or self.files_rewritten
                    or self.files_removed)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for the API and ``--json``): counts and names, no id."""
        return {
            "found": self.found, "rows_removed": dict(self.rows_removed),
            "quarantine_rows": self.quarantine_rows,
            "insight_results_changed": self.insight_results_changed,
            "runs_to_refit": list(self.runs_to_refit),
            "models_purged": list(self.models_purged),
            "files_rewritten": list(self.files_rewritten),
            "files_removed": list(self.files_removed),
            "already_erased": self.already_erased,
            "bytes_freed": self.compaction.bytes_freed,
        }


def erase_customer(
    workspace: Workspace, customer_id: str, *, raw_id: str | None = None,
    actor: str | None = None,
) -> Erasure:
    """Erase the customer the workspace knows as ``customer_id`` (see the module).

    ``raw_id``, when the operator gave one, is looked for and removed as well.
    """
    needles = [customer_id] + ([raw_id] if raw_id and raw_id != customer_id else [])
    con = workspace.connection
    for ddl in SYSTEM_DDL:  # an older workspace gets the tombstones table here
        con.execute(ddl)
    con.execute("BEGIN TRANSACTION")
    try:
        already = _scalar(con, "SELECT count(*) FROM tombstones WHERE digest = sha256(?)",
                          [customer_id]) > 0
        fitted_on = _runs_fitted_on(con, customer_id)
        removed = _delete_rows(con, customer_id)
        quarantined = _delete_quarantine(con, needles)
        insights = _scrub_insight_results(con, needles)
        swept = _sweep_text(con, needles)
        for table, count in swept.items():
            removed[table] = removed.get(table, 0) + count
        con.execute("INSERT OR IGNORE INTO tombstones VALUES (sha256(?), now())", [customer_id])
        purged = _purge_models(workspace, con, fitted_on)
        for run_id, count in fitted_on.items():
            con.execute(
                "INSERT INTO refit_requests VALUES (?, ?, ?, now()) ON CONFLICT (run_id) DO "
                "UPDATE SET erased_customers = refit_requests.erased_customers + "
                "excluded.erased_customers, model_purged = refit_requests.model_purged OR "
                "excluded.model_purged, requested_at = excluded.requested_at",
                [run_id, count, run_id in purged])
        workspace.audit("erase_customer", "one customer", {
            "rows_removed": sum(removed.values()), "quarantine_rows": quarantined,
            "runs_to_refit": sorted(fitted_on), "models_purged": len(purged)}, actor=actor)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    models = [workspace.folder / path for path in purged.values()]
    for path in models:
        path.unlink(missing_ok=True)
    database = workspace.folder / DATABASE_FILE
    rewritten, deleted = scrub_files(
        workspace.folder, needles,
        skip={database, database.with_name(database.name + ".wal")})
    compaction = compact_database(workspace)
    return Erasure(
        rows_removed={t: n for t, n in sorted(removed.items()) if n},
        quarantine_rows=quarantined, insight_results_changed=insights,
        runs_to_refit=tuple(sorted(fitted_on)),
        models_purged=tuple(sorted(str(p.relative_to(workspace.folder)) for p in models)),
        files_rewritten=tuple(rewritten), files_removed=tuple(deleted),
        already_erased=already, compaction=compaction,
    )


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _base_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [str(r[0]) for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' AND table_catalog = current_database() ORDER BY 1"
    ).fetchall()]


def _text_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [str(r[0]) for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_catalog = current_database() AND table_name = ? AND data_type = 'VARCHAR'",
        [table]).fetchall()]


def _runs_fitted_on(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, int]:
    """Runs that assigned the customer or kept them in a snapshot: run id -> 1."""
    runs = {str(r[0]) for r in con.execute(
        "SELECT DISTINCT run_id FROM segment_assignments WHERE customer_id = ?", [customer_id]
    ).fetchall()}
    for run_id, table in con.execute("SELECT run_id, table_name FROM run_snapshots").fetchall():
        if "customer_id" in _text_columns(con, str(table)) and _scalar(
                con, f"SELECT count(*) FROM {quote_identifier(str(table))} "
                "WHERE customer_id = ?", [customer_id]):
            runs.add(str(run_id))
    return dict.fromkeys(sorted(runs), 1)


def _delete_rows(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, int]:
    removed: dict[str, int] = {}
    for table in _base_tables(con):
        if "customer_id" in _text_columns(con, table):
            removed[table] = _scalar(
                con, f"DELETE FROM {quote_identifier(table)} WHERE customer_id = ?",
                [customer_id])
    return removed


def _without(value: Any, matcher: IdMatcher) -> Any:
    """``value`` (parsed JSON) with every element that quotes an id taken out.

    A distinct id is looked for as a word anywhere; a short one (``0``) only as a whole
    string or as the value of a key that names a customer, so that segment 0 and the
    number 0 stay (:class:`~mallseg.privacy.id_matching.IdMatcher`).

    >>> _without({"at_risk": ["C00001", "C00002"], "note": "C00001 left", "n": 2},
    ...          IdMatcher(["C00001"]))
    {'at_risk': ['C00002'], 'note': '[erased customer] left', 'n': 2}
    >>> _without({"rows": [{"customer_id": "0", "segment": 1}, {"customer_id": "1",
    ...           "segment": 0}], "sizes": [0, 3], "0": "first"}, IdMatcher(["0"]))
    {'rows': [{'customer_id': '1', 'segment': 0}], 'sizes': [0, 3], '0': 'first'}
    """
    if isinstance(value, str):
        return matcher.replace(value)
    if isinstance(value, list):
        return [_without(item, matcher) for item in value if not matcher.in_item(item)]
    if isinstance(value, dict):
        return {k: _without(v, matcher) for k, v in value.items()
                if not matcher.in_text(str(k))}
    return value


def _delete_quarantine(con: duckdb.DuckDBPyConnection, needles: list[str]) -> int:
    """Delete the quarantine records of the customer; how many.

    A record is theirs when its customer field (the source column its load mapped to
    ``customer_id``, from the ingest log) is the id; a distinct id quoted as a word in the
    record or its reason counts too. A short id elsewhere in a record (an amount ``0``)
    does not.
    """
    customer_field = (
        "'$.\"' || replace(json_extract_string(l.column_mapping, '$.customer_id'), "
        "'\"', '\\\"') || '\"'")
    deleted = 0
    for needle in needles:
        deleted += _scalar(
            con, "DELETE FROM quarantine q USING ingest_log l WHERE l.ingest_id = q.ingest_id "
            f"AND trim(json_extract_string(q.raw_record, {customer_field})) = ?", [needle])
        if is_distinct(needle):
            deleted += _scalar(
                con, "DELETE FROM quarantine WHERE regexp_matches(coalesce(raw_record, ''), ?) "
                "OR regexp_matches(coalesce(reason, ''), ?)", [word_pattern(needle)] * 2)
    return deleted


def _scrub_insight_results(con: duckdb.DuckDBPyConnection, needles: list[str]) -> int:
    matcher = IdMatcher(needles)
    pattern = re.compile("|".join(
        word_pattern(n) if is_distinct(n) else re.escape(json.dumps(n)) for n in needles))
    changed = 0
    rows = con.execute("SELECT run_id, kind, payload FROM insight_results").fetchall()
    for run_id, kind, payload in rows:
        if payload is None or not pattern.search(str(payload)):
            continue
        cleaned = _without(json.loads(str(payload)), matcher)
        con.execute("UPDATE insight_results SET payload = ? WHERE run_id = ? AND kind = ?",
                    [json.dumps(cleaned, default=str), run_id, kind])
        changed += 1
    return changed


def _sweep_text(con: duckdb.DuckDBPyConnection, needles: list[str]) -> dict[str, int]:
    """Take out whatever text still quotes the customer.

    Rows of other tables whose customer column (by another name than ``customer_id``) is
    the id are deleted; in the workspace's own tables (but never in a column that names a
    run, file or key) a distinct id quoted as a whole word is replaced by
    :data:`ERASED_TEXT`; a short id only where it is the whole value or a JSON string
    value.
    """
    deleted: dict[str, int] = {}
    for table in _base_tables(con):
        columns = _text_columns(con, table)
        if table in SYSTEM_TABLES:
            columns = [c for c in columns if c not in _STRUCTURAL_COLUMNS]
        if not columns:
            continue
        quoted = quote_identifier(table)
        for needle in needles:
            if table not in SYSTEM_TABLES:
                # only columns that name a customer: a short id ('7') may be any value
                keyed = [c for c in columns if names_customer(c) and c != "customer_id"]
                if keyed:
                    holds = " OR ".join(f"{quote_identifier(c)} = ?" for c in keyed)
                    deleted[table] = deleted.get(table, 0) + _scalar(
                        con, f"DELETE FROM {quoted} WHERE {holds}", [needle] * len(keyed))
                continue
            if not is_distinct(needle):
                _sweep_short_id(con, quoted, columns, needle)
                continue
            pattern = word_pattern(needle)
            for column in columns:
                name = quote_identifier(column)
                # keep the characters around the id: replace only the id itself, and never
                # where that would break a JSON value (an id "1" and the number 1 in a profile)
                replaced = f"regexp_replace({name}, ?, '\\1{ERASED_TEXT}\\2', 'g')"
                con.execute(
                    f"UPDATE {quoted} SET {name} = {replaced} WHERE regexp_matches({name}, ?) "
                    f"AND (NOT coalesce(json_valid({name}), false) "
                    f"OR coalesce(json_valid({replaced}), false))",
                    [replacing_pattern(needle), pattern, replacing_pattern(needle)])
    return deleted


def _sweep_short_id(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str], needle: str
) -> None:
    """Replace a short id where it is a column's whole value or a JSON string value."""
    value = f'([\\[:,]\\s*)"{re.escape(needle)}"(\\s*[,\\]}}])'
    for column in columns:
        name = quote_identifier(column)
        con.execute(f"UPDATE {table} SET {name} = ? WHERE trim({name}) = ?",
                    [ERASED_TEXT, needle])
        con.execute(
            f"UPDATE {table} SET {name} = regexp_replace({name}, ?, ?, 'g') "
            f"WHERE regexp_matches({name}, ?)",
            [value, f'\\1"{ERASED_TEXT}"\\2', value])


def _purge_models(
    workspace: Workspace, con: duckdb.DuckDBPyConnection, runs: dict[str, int]
) -> dict[str, Path]:
    """Model files of ``runs`` that keep training rows: run id -> path in the folder."""
    purged: dict[str, Path] = {}
    for run_id in runs:
        row = con.execute("SELECT model_path FROM runs WHERE run_id = ?", [run_id]).fetchone()
        if not row or not row[0]:
            continue
        given = Path(str(row[0]))
        # a workspace copied elsewhere keeps its models' old absolute paths: look in models/
        path = workspace.folder / "models" / given.name
        if not path.is_file():
            path = given if given.is_absolute() else workspace.folder / given
        if not path.is_file() or not path.resolve().is_relative_to(workspace.folder.resolve()):
            continue
        try:
            kept = set(sio.get_untrusted_types(file=path))
        except Exception:  # a file skops cannot read may hold anything: purge it
            kept = set(_TRAINING_ROW_TYPES)
        if kept & _TRAINING_ROW_TYPES:
            purged[run_id] = path.resolve().relative_to(workspace.folder.resolve())
    return purged
