"""Ingest unit by unit, each unit's rows and its line in the ingest log committed together.

A unit's merge, quarantine rows, attributes and the ingest log's running totals are written
in one transaction, so that an ingest killed at any moment (even ``SIGKILL``) leaves the
workspace as it was before or after a whole unit: the log then shows the load as
``stopped`` with the counts of the units it committed, and loading the file again completes
it (rows already loaded count as unchanged, the stopped load's quarantine is replaced).
Loading content again (the same bytes, or the file of a stopped load) supersedes the
earlier load's quarantine unit by unit, in the unit's transaction: a row is never in the
quarantine twice, however the load ends.

The unit size is :data:`~mallseg.data.staging.UNIT_ROWS` rows unless the environment
variable ``MALLSEG_UNIT_ROWS`` says otherwise (smaller units bound memory further on a
small machine; the first unit still holds the rows the parsing decisions are taken from).

Examples
--------
>>> unit_rows_setting(None, environ={"MALLSEG_UNIT_ROWS": "5000"})
5000
>>> unit_rows_setting(300, environ={"MALLSEG_UNIT_ROWS": "5000"})
300
>>> unit_rows_setting(None, environ={"MALLSEG_UNIT_ROWS": "lots"})
Traceback (most recent call last):
...
ValueError: MALLSEG_UNIT_ROWS='lots': expected a whole number of rows >= 1
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb

from mallseg.data.ingest_log import LoggedCounts, now
from mallseg.data.staging import STAGING_TABLE, UNIT_ROWS

__all__ = ["STOPPED", "log_committed_units", "supersede_earlier_quarantine",
           "unit_rows_setting"]

STOPPED = "stopped"
"""The ingest log's status of a load that has not (yet) finished."""


def unit_rows_setting(value: int | None, *, environ: Mapping[str, str] | None = None) -> int:
    """Rows per unit: ``value`` when given, else ``$MALLSEG_UNIT_ROWS``, else the default."""
    if value is not None:
        return value
    text = (os.environ if environ is None else environ).get("MALLSEG_UNIT_ROWS", "").strip()
    if not text:
        return UNIT_ROWS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"MALLSEG_UNIT_ROWS={text!r}: expected a whole number of rows >= 1")
    return int(text)


def log_committed_units(
    con: duckdb.DuckDBPyConnection, counts: LoggedCounts, started: datetime, digest: str = ""
) -> None:
    """Record the totals of the units so far, as a ``stopped`` load, in the current transaction.

    Committed with the unit, this line is what a killed ingest leaves in the log; the
    ingest's last step replaces it with the ``complete`` line.

    >>> from mallseg.workspace.tables import SYSTEM_DDL
    >>> con = duckdb.connect()
    >>> for ddl in SYSTEM_DDL:
    ...     _ = con.execute(ddl)
    >>> log_committed_units(con, LoggedCounts("i1", "stores", "s.csv", 5, 4, 4, 0, 0, 1), now())
    >>> log_committed_units(con, LoggedCounts("i1", "stores", "s.csv", 9, 8, 8, 0, 0, 1), now())
    >>> con.execute("SELECT status, rows_read, rows_new FROM ingest_log").fetchall()
    [('stopped', 9, 8)]
    """
    con.execute(
        "INSERT OR REPLACE INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [counts.ingest_id, counts.table, counts.source, digest, json.dumps({}), counts.rows_read,
         counts.rows_loaded, counts.rows_new, counts.rows_updated, counts.rows_unchanged,
         counts.rows_quarantined, started, now(), STOPPED],
    )


def supersede_earlier_quarantine(
    con: duckdb.DuckDBPyConnection, table_name: str, ingest_id: str, digest: str, label: str,
    parse_rejects: Sequence[tuple[str, int]] = (),
) -> int:
    """Drop the quarantine rows an earlier load of this content kept for this unit's rows.

    The unit's rows are those in the staging table plus ``parse_rejects`` (file, line). An
    earlier load counts when it read the same bytes (``digest``) or stopped part-way on the
    same source (``label``). Returns the rows dropped.

    >>> from mallseg.workspace.tables import SYSTEM_DDL
    >>> con = duckdb.connect()
    >>> for ddl in SYSTEM_DDL:
    ...     _ = con.execute(ddl)
    >>> log_committed_units(con, LoggedCounts("i1", "stores", "s.csv", 3, 1, 1, 0, 0, 2), now(),
    ...                     "abc")
    >>> _ = con.execute("INSERT INTO quarantine (ingest_id, table_name, source_file, source_row)"
    ...                 " VALUES ('i1', 'stores', 's.csv', 2), ('i1', 'stores', 's.csv', 9)")
    >>> _ = con.execute("CREATE TEMP TABLE _staging AS SELECT 's.csv' AS _source_file, "
    ...                 "2 AS _source_row")
    >>> supersede_earlier_quarantine(con, "stores", "i2", "abc", "s.csv")
    1
    >>> con.execute("SELECT source_row FROM quarantine").fetchall()
    [(9,)]
    """
    earlier = ("SELECT ingest_id FROM ingest_log WHERE table_name = ? AND ingest_id <> ? AND "
               "(content_sha256 = ? OR (source_file = ? AND status = 'stopped'))")
    params = [table_name, table_name, ingest_id, digest, label]
    kept = con.execute(f"SELECT EXISTS (SELECT 1 FROM quarantine q WHERE q.table_name = ? "
                       f"AND q.ingest_id IN ({earlier}))", params).fetchall()
    if not kept[0][0]:
        return 0  # nothing of an earlier load to supersede (a first load)
    rows = con.execute(
        f"DELETE FROM quarantine q WHERE q.table_name = ? AND q.ingest_id IN ({earlier}) "
        f"AND EXISTS (SELECT 1 FROM {STAGING_TABLE} s WHERE s._source_file = q.source_file "
        "AND s._source_row = q.source_row)", params).fetchall()
    dropped = int(rows[0][0]) if rows else 0
    for source_file, line in parse_rejects:
        found = con.execute(
            f"DELETE FROM quarantine q WHERE q.table_name = ? AND q.ingest_id IN ({earlier}) "
            "AND q.source_file = ? AND q.source_row = ?",
            [*params, source_file, line]).fetchall()
        dropped += int(found[0][0]) if found else 0
    return dropped
