r"""Write a refit's stable identities into the rows the run stored.

A run stores its assignments and segments under its model's labels (0..k-1). Once a refit
is matched to the lineage (:mod:`mallseg.monitor.lineage`), the stored rows take the stable
ids and names: ``segment_assignments`` and ``segments`` are rewritten in one transaction,
and the run's metrics keep the names by stable id with ``segment_ids`` (model label ->
stable id), which every reader that applies the model itself uses to translate.

Examples
--------
>>> import json, duckdb
>>> from mallseg.workspace.tables import SYSTEM_DDL
>>> con = duckdb.connect()
>>> for ddl in SYSTEM_DDL:
...     _ = con.execute(ddl)
>>> _ = con.execute("INSERT INTO runs (run_id, kind, status, metrics) VALUES "
...                 "('0002', 'segment', 'ok', '{\"names\": {\"0\": {\"name\": \"A\"}}}')")
>>> _ = con.execute("INSERT INTO segment_assignments VALUES ('0002', 'c1', 0, 'A', 1.0)")
>>> _ = con.execute("INSERT INTO segments VALUES ('0002', 0, 'A', 1, 1.0, '', '{}')")
>>> apply_identities(con, "0002", {0: 5}, {0: "Savers"})
>>> con.execute("SELECT segment_id, segment_name FROM segment_assignments").fetchall()
[(5, 'Savers')]
>>> json.loads(con.execute("SELECT metrics FROM runs").fetchall()[0][0])["segment_ids"]
{'0': 5}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

__all__ = ["apply_identities", "copy_run_rows", "stored_segments"]


def apply_identities(
    connection: duckdb.DuckDBPyConnection, run_id: str, ids: Mapping[int, int],
    names: Mapping[int, str], identity: Mapping[str, Any] | None = None,
) -> None:
    """Rewrite run ``run_id``'s stored rows from model labels to stable ids and names.

    Parameters
    ----------
    connection:
        The workspace's connection.
    run_id:
        The refit run whose rows are rewritten.
    ids, names:
        Model label -> stable id, and -> name.
    identity:
        The match in plain values, kept in the run's metrics.
    """
    mapping = pd.DataFrame({"label": [int(k) for k in ids],
                            "segment_id": [int(v) for v in ids.values()],
                            "segment_name": [str(names[k]) for k in ids]})
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.register("_identity_map", mapping)
        connection.execute(
            "UPDATE segment_assignments AS a SET segment_id = m.segment_id, "
            "segment_name = m.segment_name FROM _identity_map m "
            "WHERE a.run_id = ? AND a.segment_id = m.label", [run_id])
        rows = connection.execute(
            "SELECT segment_id, segment_name, size, share, description, profile FROM segments "
            "WHERE run_id = ?", [run_id]).fetchall()
        connection.execute("DELETE FROM segments WHERE run_id = ?", [run_id])
        for label, name, size, share, description, profile in rows:
            segment = int(ids.get(int(label), int(label)))
            connection.execute(
                "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, segment, names.get(int(label), name), size, share, description,
                 _relabel_profile(profile, int(label), segment)])
        connection.unregister("_identity_map")
        found = connection.execute("SELECT metrics FROM runs WHERE run_id = ?",
                                   [run_id]).fetchall()
        metrics = json.loads(found[0][0] or "{}") if found else {}
        connection.execute("UPDATE runs SET metrics = ? WHERE run_id = ?",
                           [json.dumps(_relabel_metrics(metrics, ids, names, identity),
                                       default=str), run_id])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def copy_run_rows(connection: duckdb.DuckDBPyConnection, source_run: str,
                  target_run: str) -> None:
    """Copy a run's assignments and segment rows to another run id (a rollback's).

    >>> import duckdb
    >>> from mallseg.workspace.tables import SYSTEM_DDL
    >>> con = duckdb.connect()
    >>> for ddl in SYSTEM_DDL:
    ...     _ = con.execute(ddl)
    >>> _ = con.execute("INSERT INTO segment_assignments VALUES ('0001', 'c1', 3, 'A', 1.0)")
    >>> copy_run_rows(con, "0001", "0004")
    >>> con.execute("SELECT run_id, segment_id FROM segment_assignments ORDER BY 1").fetchall()
    [('0001', 3), ('0004', 3)]
    """
    for table in ("segment_assignments", "segments"):
        columns = [str(r[0]) for r in connection.execute(f"DESCRIBE {table}").fetchall()
                   if str(r[0]) != "run_id"]
        connection.execute(f"INSERT INTO {table} (run_id, {', '.join(columns)}) SELECT ?, "
                           f"{', '.join(columns)} FROM {table} WHERE run_id = ?",
                           [target_run, source_run])


def stored_segments(connection: duckdb.DuckDBPyConnection, run_id: str,
                    customer_ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Each customer's stored segment id in run ``run_id`` (-1: not in that run).

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE segment_assignments AS SELECT '1' AS run_id, "
    ...                 "'a' AS customer_id, 4 AS segment_id")
    >>> stored_segments(con, "1", ["a", "b"]).tolist()
    [4, -1]
    """
    frame = connection.execute(
        "SELECT customer_id, segment_id FROM segment_assignments WHERE run_id = ?",
        [run_id]).df()
    stored = dict(zip(frame["customer_id"].astype(str), frame["segment_id"].astype(int),
                      strict=True))
    return np.array([stored.get(str(c), -1) for c in customer_ids], dtype=np.int64)


def _relabel_profile(profile: str | None, label: int, segment: int) -> str | None:
    """A segment's profile with its id (and the label made of it) in the stable id."""
    if not profile:
        return profile
    data = json.loads(profile)
    if data.get("segment") == label:
        data["segment"] = segment
    if data.get("label") == f"Segment {label}":
        data["label"] = f"Segment {segment}"
    return json.dumps(data, default=str)


def _relabel_metrics(metrics: dict[str, Any], ids: Mapping[int, int],
                     names: Mapping[int, str], identity: Mapping[str, Any] | None
                     ) -> dict[str, Any]:
    """Names keyed by stable id (with the kept name), segment rows in ids, the map kept."""
    relabelled: dict[str, Any] = {}
    for key, payload in (metrics.get("names") or {}).items():
        label = int(key)
        if label < 0:
            relabelled[key] = payload
            continue
        entry = dict(payload)
        fresh = entry.get("name")
        entry["name"] = names.get(label, fresh)
        if fresh != entry["name"]:
            entry["fitted_name"] = fresh
        relabelled[str(ids.get(label, label))] = entry
    segments = []
    for row in metrics.get("segments") or []:
        label = int(row.get("segment", -1))
        if label >= 0:
            row = {**row, "segment": int(ids.get(label, label)),
                   "name": names.get(label, row.get("name"))}
        segments.append(row)
    out = {**metrics, "names": relabelled, "segments": segments,
           "segment_ids": {str(k): int(v) for k, v in ids.items()}}
    if identity is not None:
        out["identity"] = dict(identity)
    return out
