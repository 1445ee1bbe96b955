"""Model versions and the changelog of segment identities, kept in the workspace.

Every segmentation run is a model version. Two tables of this module's own record how
versions relate and what happened to each segment identity:

``model_versions``
    One row per version created by a refit or a rollback (plain fits need none):
    ``run_id``, ``family`` (the version whose identities it continues), ``parent_run_id``
    (the version it was aligned to, or restored), ``source`` (``fit``, ``refit`` or
    ``rollback``), ``model_path``, ``feature_schema_hash``, ``segments``, ``created_at``,
    ``actor``, ``note``.
``segment_lineage``
    One row per identity event of a version: ``run_id``, ``segment_id`` (the stable id),
    ``model_label`` (the version's own label, NULL for an identity that ended),
    ``segment_name``, ``event`` (``first``, ``kept``, ``split``, ``merged``, ``appeared``,
    ``vanished``, ``restored``), ``previous_run_id``, ``previous_ids`` (JSON list),
    ``similarity`` (Jaccard of a kept pair), ``sentence``, ``recorded_at``.

A version's stable ids are its lineage rows with a model label; a version without any uses
its model's labels as ids. The current version is the newest segmentation run.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> ensure_version_tables(con)
>>> record_first_identities(con, "0001", {0: "Savers", 1: "Spenders"})
>>> identities_of(con, "0001")
{0: (0, 'Savers'), 1: (1, 'Spenders')}
>>> identities_of(con, "0002") is None
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb

from mallseg.monitor.lineage import IdentityMatch
from mallseg.workspace.runs import list_runs, utc_now

__all__ = [
    "VERSION_DDL",
    "LineageEntry",
    "ModelVersion",
    "RollbackResult",
    "ensure_version_tables",
    "family_of",
    "identities_of",
    "lineage_entries",
    "model_versions",
    "record_first_identities",
    "record_match",
    "record_restored",
    "register_version",
    "run_identities",
    "used_ids",
    "version_rows",
]

VERSION_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS model_versions (
        run_id VARCHAR PRIMARY KEY,
        family VARCHAR,
        parent_run_id VARCHAR,
        source VARCHAR,
        model_path VARCHAR,
        feature_schema_hash VARCHAR,
        segments INTEGER,
        created_at TIMESTAMP,
        actor VARCHAR,
        note VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS segment_lineage (
        run_id VARCHAR,
        segment_id INTEGER,
        model_label INTEGER,
        segment_name VARCHAR,
        event VARCHAR,
        previous_run_id VARCHAR,
        previous_ids VARCHAR,
        similarity DOUBLE,
        sentence VARCHAR,
        recorded_at TIMESTAMP
    )""",
)
"""The tables of this module (created when missing)."""


@dataclass(frozen=True)
class LineageEntry:
    """One identity event of a version, as the changelog lists it."""

    run_id: str
    segment_id: int
    model_label: int | None
    segment_name: str
    event: str
    previous_run_id: str | None
    previous_ids: tuple[int, ...]
    similarity: float | None
    sentence: str
    recorded_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        data = asdict(self)
        data["previous_ids"] = list(self.previous_ids)
        data["recorded_at"] = self.recorded_at.isoformat() if self.recorded_at else None
        return data


@dataclass(frozen=True)
class ModelVersion:
    """A segmentation run as a model version: where it came from and its segments."""

    run_id: str
    created_at: datetime | None
    source: str
    parent_run_id: str | None
    family: str
    algorithm: str | None
    lens: str
    segments: dict[int, str]
    current: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"run_id": self.run_id, "source": self.source,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "parent_run_id": self.parent_run_id, "family": self.family,
                "algorithm": self.algorithm, "lens": self.lens, "current": self.current,
                "segments": {str(k): v for k, v in self.segments.items()}, "note": self.note}


@dataclass(frozen=True)
class RollbackResult:
    """The new current version restoring an earlier one."""

    run_id: str
    restored_run_id: str
    replaced_run_id: str
    segments: dict[int, str]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"run_id": self.run_id, "restored_run_id": self.restored_run_id,
                "replaced_run_id": self.replaced_run_id,
                "segments": {str(k): v for k, v in self.segments.items()}}


def model_versions(connection: duckdb.DuckDBPyConnection) -> tuple[ModelVersion, ...]:
    """Every successful segmentation run as a version, oldest first; the newest is current."""
    recorded = version_rows(connection)
    runs = list_runs(connection, "segment")
    out = []
    for position, run in enumerate(runs):
        info = recorded.get(run.run_id, {})
        names = run.metrics.get("names") or {}
        selection = run.metrics.get("selection") or {}
        lens = run.parameters.get("lens")
        out.append(ModelVersion(
            run.run_id, run.finished_at, str(info.get("source") or "fit"),
            info.get("parent_run_id"), str(info.get("family") or run.run_id),
            selection.get("algorithm") or run.parameters.get("method"),
            ", ".join(lens) if isinstance(lens, list) else str(lens),
            {int(k): str(v.get("name", "")) for k, v in names.items() if int(k) >= 0},
            position == len(runs) - 1, str(info.get("note") or "")))
    return tuple(out)


def run_identities(
    connection: duckdb.DuckDBPyConnection, run_id: str, metrics: Mapping[str, Any],
    names: Mapping[int, str],
) -> dict[int, tuple[int, str]]:
    """Model label -> (stable id, name) of a run: its lineage, else its metrics.

    ``names`` are the run's segment names (by stable id); a run that was never refitted
    uses its model's labels as ids.

    >>> import duckdb
    >>> run_identities(duckdb.connect(), "0001", {}, {0: "Savers", 1: "Spenders"})
    {0: (0, 'Savers'), 1: (1, 'Spenders')}
    >>> run_identities(duckdb.connect(), "0002", {"segment_ids": {"0": 5}}, {5: "Savers"})
    {0: (5, 'Savers')}
    """
    stored = identities_of(connection, run_id)
    if stored is not None:
        return stored
    ids = {int(k): int(v) for k, v in (metrics.get("segment_ids") or {}).items()}
    labels = sorted(ids) if ids else sorted(s for s in names if s >= 0)
    return {label: (ids.get(label, label), str(names.get(ids.get(label, label),
                                                          f"Segment {label}")))
            for label in labels}


def ensure_version_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create ``model_versions`` and ``segment_lineage`` when missing."""
    for ddl in VERSION_DDL:
        connection.execute(ddl)


def register_version(
    connection: duckdb.DuckDBPyConnection, run_id: str, *, family: str, parent: str | None,
    source: str, model_path: str | None, schema_hash: str | None, segments: int,
    actor: str | None, note: str = "", now: datetime | None = None,
) -> None:
    """Record a version made by a refit or a rollback (replacing an earlier record)."""
    ensure_version_tables(connection)
    connection.execute(
        "INSERT OR REPLACE INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, family, parent, source, model_path, schema_hash, segments,
         now or utc_now(), actor, note])


def family_of(connection: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """The version whose identities ``run_id`` continues (itself for a plain fit)."""
    if not _has_tables(connection):
        return run_id
    rows = connection.execute("SELECT family FROM model_versions WHERE run_id = ?",
                              [run_id]).fetchall()
    return str(rows[0][0]) if rows and rows[0][0] else run_id


def used_ids(connection: duckdb.DuckDBPyConnection, family: str) -> list[int]:
    """Every stable id used by the versions of ``family`` (so that none is reused)."""
    if not _has_tables(connection):
        return []
    rows = connection.execute(
        "SELECT DISTINCT segment_id FROM segment_lineage WHERE run_id = ? OR run_id IN "
        "(SELECT run_id FROM model_versions WHERE family = ?)", [family, family]).fetchall()
    return sorted(int(r[0]) for r in rows)


def identities_of(connection: duckdb.DuckDBPyConnection, run_id: str
                  ) -> dict[int, tuple[int, str]] | None:
    """Model label -> (stable id, name) of a version, or None when it has no lineage."""
    if not _has_tables(connection):
        return None
    rows = connection.execute(
        "SELECT model_label, segment_id, segment_name FROM segment_lineage WHERE run_id = ? "
        "AND model_label IS NOT NULL ORDER BY model_label, recorded_at", [run_id]).fetchall()
    if not rows:
        return None
    return {int(label): (int(segment), str(name)) for label, segment, name in rows}


def record_first_identities(
    connection: duckdb.DuckDBPyConnection, run_id: str, names: Mapping[int, str],
    ids: Mapping[int, int] | None = None, now: datetime | None = None,
) -> None:
    """Record a version's segments as identities of their own (its first appearance)."""
    ensure_version_tables(connection)
    if identities_of(connection, run_id) is not None:
        return
    for label, name in sorted(names.items()):
        if label < 0:
            continue
        segment = int((ids or {}).get(label, label))
        _insert(connection, run_id, segment, label, name, "first", None, [], None,
                f"{name} (segment {segment}) first seen in run {run_id}.", now)


def record_match(
    connection: duckdb.DuckDBPyConnection, run_id: str, previous_run_id: str,
    match: IdentityMatch, previous_names: Mapping[int, str], now: datetime | None = None,
) -> None:
    """Record a refit's identity events (rows of the new version ``run_id``)."""
    ensure_version_tables(connection)
    label_of = {segment: label for label, segment in match.ids.items()}
    for event in match.events:
        if event.kind == "vanished":
            for segment in event.old_ids:
                _insert(connection, run_id, segment, None, previous_names.get(segment, ""),
                        "vanished", previous_run_id, [segment], None, event.sentence, now)
            continue
        for segment in event.new_ids:
            label = label_of[segment]
            _insert(connection, run_id, segment, label, match.names[label], event.kind,
                    previous_run_id, list(event.old_ids), event.similarity, event.sentence,
                    now)


def record_restored(
    connection: duckdb.DuckDBPyConnection, run_id: str, restored_run_id: str,
    identities: Mapping[int, tuple[int, str]], now: datetime | None = None,
) -> None:
    """Record a rollback: the restored version's identities, as they were."""
    ensure_version_tables(connection)
    for label, (segment, name) in sorted(identities.items()):
        _insert(connection, run_id, segment, label, name, "restored", restored_run_id,
                [segment], 1.0, f"{name} (segment {segment}) restored from run "
                f"{restored_run_id}.", now)


def lineage_entries(connection: duckdb.DuckDBPyConnection, run_id: str | None = None
                    ) -> list[LineageEntry]:
    """The changelog (of one version, or of all), oldest first."""
    if not _has_tables(connection):
        return []
    sql = ("SELECT run_id, segment_id, model_label, segment_name, event, previous_run_id, "
           "previous_ids, similarity, sentence, recorded_at FROM segment_lineage")
    params: list[object] = []
    if run_id is not None:
        sql += " WHERE run_id = ?"
        params.append(run_id)
    rows = connection.execute(sql + " ORDER BY recorded_at, run_id, segment_id",
                              params).fetchall()
    return [LineageEntry(str(r[0]), int(r[1]), None if r[2] is None else int(r[2]), str(r[3]),
                         str(r[4]), r[5], tuple(json.loads(r[6] or "[]")), r[7], str(r[8]),
                         r[9]) for r in rows]


def version_rows(connection: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Recorded versions by run id (source, family, parent, note, created_at)."""
    if not _has_tables(connection):
        return {}
    rows = connection.execute(
        "SELECT run_id, family, parent_run_id, source, note, created_at FROM model_versions"
    ).fetchall()
    return {str(r[0]): {"family": r[1], "parent_run_id": r[2], "source": r[3],
                        "note": r[4], "created_at": r[5]} for r in rows}


def _has_tables(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether this module's tables exist (reading never creates them: it may be read-only)."""
    rows = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
        "('model_versions', 'segment_lineage')").fetchall()
    return bool(rows and rows[0][0] == 2)


def _insert(connection: duckdb.DuckDBPyConnection, run_id: str, segment: int,
            label: int | None, name: str, event: str, previous: str | None,
            previous_ids: Sequence[int], similarity: float | None, sentence: str,
            now: datetime | None) -> None:
    connection.execute(
        "INSERT INTO segment_lineage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, int(segment), label, name, event, previous,
         json.dumps([int(i) for i in previous_ids]), similarity, sentence,
         now or utc_now()])
