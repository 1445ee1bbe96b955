"""Runs that remember what they used, and the snapshots they keep of their own.

A run (a segmentation, later an insight or a monitoring check) is numbered in order
(``0001``, ``0002``, ...) and records its parameters, metrics and summary, who started it,
the reference time its features were computed at, the feature schema (features, kinds,
categories) with a hash, and the ingests whose data it read. A run can keep *snapshots*:
tables of its own inside the workspace database (``snapshot_0007_features``), so that
``explain``, ``assign`` and monitoring read exactly what the run was fitted on, whatever
a later run writes.

Examples
--------
>>> import duckdb
>>> from mallseg.workspace.tables import SYSTEM_DDL
>>> con = duckdb.connect()
>>> for ddl in SYSTEM_DDL:
...     _ = con.execute(ddl)
>>> next_run_id(con)
'0001'
>>> snapshot_table_name("0007", "features")
'snapshot_0007_features'
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

__all__ = [
    "RunDraft",
    "RunNotFoundError",
    "RunRecord",
    "find_run",
    "list_runs",
    "next_run_id",
    "snapshot_table_name",
]

_RUN_SELECT = (
    "SELECT run_id, kind, status, parameters, metrics, summary, model_path, started_at, "
    "finished_at, reference_time, feature_schema, feature_schema_hash, ingest_ids, actor "
    "FROM runs"
)


class RunNotFoundError(LookupError):
    """No run with that id (the message suggests near matches)."""


@dataclass(frozen=True)
class RunRecord:
    """A run as kept in the ``runs`` table."""

    run_id: str
    kind: str
    status: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    model_path: str | None = None
    summary: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reference_time: datetime | None = None
    feature_schema: dict[str, Any] = field(default_factory=dict)
    feature_schema_hash: str | None = None
    ingest_ids: tuple[str, ...] = ()
    actor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form.

        >>> RunRecord("0001", "segment", "ok", {}, {}).to_dict()["run_id"]
        '0001'
        """
        return {
            "run_id": self.run_id, "kind": self.kind, "status": self.status,
            "parameters": self.parameters, "metrics": self.metrics,
            "model_path": self.model_path, "summary": self.summary,
            "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
            "reference_time": _iso(self.reference_time),
            "feature_schema": self.feature_schema,
            "feature_schema_hash": self.feature_schema_hash,
            "ingest_ids": list(self.ingest_ids), "actor": self.actor,
        }


@dataclass
class RunDraft:
    """What a running run fills in; written to ``runs`` when the run ends."""

    run_id: str
    kind: str
    metrics: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    model_path: str | None = None
    reference_time: datetime | None = None
    feature_schema: dict[str, Any] | None = None
    feature_schema_hash: str | None = None
    ingest_ids: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if not hasattr(self, key):
            raise KeyError(f"a run has no field {key!r}")
        setattr(self, key, value)


def next_run_id(con: duckdb.DuckDBPyConnection) -> str:
    """The next run number, four digits at least (``0001``, ..., ``10000``)."""
    rows = con.execute(
        "SELECT max(CAST(run_id AS BIGINT)) FROM runs WHERE regexp_full_match(run_id, '[0-9]+')"
    ).fetchall()
    latest = int(rows[0][0]) if rows and rows[0][0] is not None else 0
    return f"{latest + 1:04d}"


def snapshot_table_name(run_id: str, snapshot: str) -> str:
    """Name of the table holding ``snapshot`` of run ``run_id`` (letters, digits, ``_``)."""
    safe = re.sub(r"[^0-9A-Za-z]+", "_", f"{run_id}_{snapshot}").strip("_").lower()
    return f"snapshot_{safe}"


def record_from_row(row: tuple[Any, ...]) -> RunRecord:
    """Build a :class:`RunRecord` from a row of :data:`_RUN_SELECT`."""
    return RunRecord(
        run_id=str(row[0]), kind=str(row[1]), status=str(row[2]),
        parameters=json.loads(row[3] or "{}"), metrics=json.loads(row[4] or "{}"),
        summary=row[5] or "", model_path=row[6], started_at=row[7], finished_at=row[8],
        reference_time=row[9], feature_schema=json.loads(row[10] or "{}"),
        feature_schema_hash=row[11], ingest_ids=tuple(json.loads(row[12] or "[]")),
        actor=row[13],
    )


def list_runs(
    con: duckdb.DuckDBPyConnection, kind: str | None = None, *, status: str | None = "ok"
) -> list[RunRecord]:
    """Runs, oldest first, of one kind (or all) and one status (``None``: any)."""
    where, params = [], []
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if status is not None:
        where.append("status = ?")
        params.append(status)
    sql = _RUN_SELECT + (f" WHERE {' AND '.join(where)}" if where else "")
    rows = con.execute(sql + " ORDER BY started_at, run_id", params).fetchall()
    return [record_from_row(r) for r in rows]


def find_run(
    con: duckdb.DuckDBPyConnection, run_id: str | None, kind: str, *, folder: object = ""
) -> RunRecord:
    """The run ``run_id`` of ``kind`` (``None``: the latest successful one).

    Raises
    ------
    RunNotFoundError
        When there is no such run; the message names the near matches (``1`` -> ``0001``)
        or says how to make a first run.
    """
    runs = list_runs(con, kind)
    if run_id is None:
        if not runs:
            raise RunNotFoundError(
                f"workspace {folder} has no {kind} run yet: run `mallseg {kind}` first"
            )
        return runs[-1]
    for run in runs:
        if run.run_id == run_id:
            return run
    known = [r.run_id for r in runs]
    near = [r for r in known if run_id.isdigit() and r.isdigit() and int(r) == int(run_id)]
    near += [r for r in difflib.get_close_matches(run_id, known, n=3) if r not in near]
    failed = [r.run_id for r in list_runs(con, kind, status=None)
              if r.run_id == run_id and r.status != "ok"]
    if failed:
        hint = f"run {run_id} did not finish (status {_status(con, run_id)})"
    elif near:
        hint = f"did you mean {' or '.join(near)}?"
    elif known:
        hint = f"known {kind} runs: {', '.join(known[-5:])}"
    else:
        hint = f"there is no {kind} run yet: run `mallseg {kind}` first"
    raise RunNotFoundError(f"no {kind} run {run_id!r} in workspace {folder}: {hint}")


def _status(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    rows = con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchall()
    row = rows[0] if rows else None
    return str(row[0]) if row else "unknown"


def run_select_sql() -> str:
    """The SELECT that :func:`record_from_row` reads."""
    return _RUN_SELECT


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def utc_now() -> datetime:
    """The current UTC time, naive (as the workspace stores times)."""
    return datetime.now(UTC).replace(tzinfo=None)
