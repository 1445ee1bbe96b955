"""The workspace's own tables (beside the canonical ones) and the migrations between layouts.

Version 1 held the canonical tables, the quarantine, the ingest log, runs, assignments,
segments and the audit log. Version 2 adds what later stages build on:

- ``customer_attributes`` / ``attribute_catalog``: every extra column a customer file
  brings (spend per category, household, education, ...), one row per customer and
  attribute, documented once in the catalog with its source name and kind;
- runs that remember their inputs: reference time, feature schema and its hash, the
  ingests they read, who ran them;
- ``run_snapshots``: the tables a run keeps of its own (the features it was fitted on),
  so that nothing a later run overwrites changes what an earlier run means;
- ``api_keys``: the HTTP service's keys, as salted hashes with their scopes;
- ``live_assignments``: each customer's current segment as events arrive between runs;
- ``insight_results``: what an insight (loyalty, campaigns, layout, recommendations)
  found for a segmentation run, as JSON; its per-customer tables are run snapshots;
- ``tombstones``: the SHA-256 digest of each erased customer's id, so that a later
  ingest does not bring them back, and ``refit_requests``: the runs whose models were
  trained on an erased customer (an older workspace gets both at its first erasure).

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> for ddl in SYSTEM_DDL:
...     _ = con.execute(ddl)
>>> "run_snapshots" in {r[0] for r in con.execute("SHOW TABLES").fetchall()}
True
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from mallseg.core.schema import Table

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SYSTEM_DDL",
    "SYSTEM_TABLES",
    "Migration",
    "canonical_table_ddl",
]

SCHEMA_VERSION = 2
"""Version of the workspace layout written by this release."""

_RUN_COLUMNS_V2 = (
    ("reference_time", "TIMESTAMP"),
    ("feature_schema", "VARCHAR"),
    ("feature_schema_hash", "VARCHAR"),
    ("ingest_ids", "VARCHAR"),
    ("actor", "VARCHAR"),
)

_ATTRIBUTES_DDL = (
    """CREATE TABLE IF NOT EXISTS customer_attributes (
        customer_id VARCHAR,
        attribute VARCHAR,
        number DOUBLE,
        text VARCHAR,
        _ingest_id VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS attribute_catalog (
        attribute VARCHAR PRIMARY KEY,
        source_table VARCHAR,
        source_column VARCHAR,
        value_type VARCHAR,
        kind VARCHAR,
        family VARCHAR,
        member VARCHAR,
        meaning VARCHAR,
        ingest_id VARCHAR,
        updated_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id VARCHAR PRIMARY KEY,
        name VARCHAR,
        scopes VARCHAR,
        salt VARCHAR,
        key_hash VARCHAR,
        created_at TIMESTAMP,
        revoked_at TIMESTAMP,
        last_used_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS live_assignments (
        customer_id VARCHAR PRIMARY KEY,
        run_id VARCHAR,
        segment_id INTEGER,
        segment_name VARCHAR,
        confidence DOUBLE,
        updated_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS insight_results (
        run_id VARCHAR,
        kind VARCHAR,
        created_at TIMESTAMP,
        actor VARCHAR,
        payload VARCHAR,
        PRIMARY KEY (run_id, kind)
    )""",
    """CREATE TABLE IF NOT EXISTS tombstones (
        digest VARCHAR PRIMARY KEY,
        erased_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS refit_requests (
        run_id VARCHAR PRIMARY KEY,
        erased_customers BIGINT,
        model_purged BOOLEAN,
        requested_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS run_snapshots (
        run_id VARCHAR,
        snapshot VARCHAR,
        table_name VARCHAR,
        row_count BIGINT,
        created_at TIMESTAMP,
        PRIMARY KEY (run_id, snapshot)
    )""",
)

SYSTEM_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS workspace_meta (
        key VARCHAR PRIMARY KEY,
        value VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        ingest_id VARCHAR,
        table_name VARCHAR,
        source_file VARCHAR,
        source_row BIGINT,
        reason VARCHAR,
        raw_record VARCHAR,
        quarantined_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS ingest_log (
        ingest_id VARCHAR PRIMARY KEY,
        table_name VARCHAR,
        source_file VARCHAR,
        content_sha256 VARCHAR,
        column_mapping VARCHAR,
        rows_read BIGINT,
        rows_loaded BIGINT,
        rows_new BIGINT,
        rows_updated BIGINT,
        rows_unchanged BIGINT,
        rows_quarantined BIGINT,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        status VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        kind VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        status VARCHAR,
        parameters VARCHAR,
        metrics VARCHAR,
        summary VARCHAR,
        model_path VARCHAR,
        mallseg_version VARCHAR,
        """ + ",\n        ".join(f"{name} {kind}" for name, kind in _RUN_COLUMNS_V2) + """
    )""",
    """CREATE TABLE IF NOT EXISTS segment_assignments (
        run_id VARCHAR,
        customer_id VARCHAR,
        segment_id INTEGER,
        segment_name VARCHAR,
        confidence DOUBLE,
        PRIMARY KEY (run_id, customer_id)
    )""",
    """CREATE TABLE IF NOT EXISTS segments (
        run_id VARCHAR,
        segment_id INTEGER,
        segment_name VARCHAR,
        size BIGINT,
        share DOUBLE,
        description VARCHAR,
        profile VARCHAR,
        PRIMARY KEY (run_id, segment_id)
    )""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        logged_at TIMESTAMP,
        actor VARCHAR,
        action VARCHAR,
        target VARCHAR,
        details VARCHAR
    )""",
    *_ATTRIBUTES_DDL,
)
"""CREATE statements of the workspace's own tables, ``workspace_meta`` first."""

SYSTEM_TABLES: frozenset[str] = frozenset({
    "workspace_meta", "quarantine", "ingest_log", "runs", "segment_assignments", "segments",
    "audit_log", "customer_attributes", "attribute_catalog", "run_snapshots", "api_keys",
    "live_assignments", "insight_results", "tombstones",
    "refit_requests",
})
"""Names of the workspace's own tables: never overwritten by features or snapshots."""


def canonical_table_ddl(table: Table) -> str:
    """CREATE TABLE statement of a canonical table, with its primary key.

    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> print(canonical_table_ddl(CANONICAL_TABLES["stores"]).splitlines()[0])
    CREATE TABLE IF NOT EXISTS stores (
    """
    cols = [f"    {c.name} {c.sql_type}" for c in table.columns]
    cols.append("    _ingest_id VARCHAR")
    if not table.derived_key:
        # Event tables (visits, transactions) reach 100M+ rows: an index on their key would
        # cost memory for nothing, since ingest already guarantees the key is unique.
        cols.append(f"    PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n" + ",\n".join(cols) + "\n)"


Migration = Callable[[duckdb.DuckDBPyConnection], None]


def _v1_to_v2(con: duckdb.DuckDBPyConnection) -> None:
    """Attributes, run inputs and run snapshots."""
    existing = {str(r[0]) for r in con.execute("DESCRIBE runs").fetchall()}
    for name, kind in _RUN_COLUMNS_V2:
        if name not in existing:
            con.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    for ddl in _ATTRIBUTES_DDL:
        con.execute(ddl)


MIGRATIONS: dict[int, Migration] = {1: _v1_to_v2}
"""Steps from version ``v`` to ``v + 1``, keyed by ``v``; a later release adds entries here."""
