"""Read-only use cases: the stored insights of a run, a customer's suggestions, monitoring.

Nothing here computes an insight: each function reads what ``mallseg loyalty``,
``campaigns``, ``layout``, ``recommend``, ``export targets`` or ``monitor`` kept in the
workspace, and says which command makes it when it is not there. The service answers its
GETs from these, so a read never costs a computation.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> from mallseg.app.segment import SegmentRequest, segment_customers
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     _ = segment_customers(ws, SegmentRequest(lens="classic", k=5, n_resamples=2))
...     ws.save_insight("0001", "layout", {"run_id": "0001", "notes": []})
...     found = stored_insight(ws, "layout")
...     try:
...         stored_insight(ws, "loyalty")
...     except InsightNotComputed as exc:
...         missing = str(exc)
>>> found.run_id, found.kind, found.payload["notes"]
('0001', 'layout', [])
>>> missing
'loyalty was not computed for run 0001: run `mallseg loyalty --run 0001`'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from mallseg.core.sql_text import quote_identifier
from mallseg.data.consent import customer_may_be_marketed
from mallseg.data.consent_settings import marketing_consent_rule
from mallseg.report.monitoring_sections import StoredMonitoring, stored_monitoring
from mallseg.workspace import Workspace

__all__ = [
    "INSIGHT_COMMANDS",
    "CustomerRecommendations",
    "InsightNotComputed",
    "InsightState",
    "MonitoringStatus",
    "NoRecommendationsForCustomer",
    "StoredInsight",
    "customer_recommendations",
    "insights_of_run",
    "monitoring_status",
    "stored_insight",
]

INSIGHT_COMMANDS: dict[str, str] = {
    "loyalty": "mallseg loyalty",
    "campaigns": "mallseg campaigns",
    "targeting": "mallseg export targets",
    "layout": "mallseg layout",
    "recommendations": "mallseg recommend",
}
"""Stored insight kind -> the command that computes and stores it for a run."""

RECOMMENDATIONS_SNAPSHOT = "recommendations"
"""The run snapshot holding every customer's suggestions (one row per customer x rank)."""


class InsightNotComputed(LookupError):  # noqa: N818 - reads as a sentence where raised
    """A result was not computed (or not kept); the message names the command that makes it."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NoRecommendationsForCustomer(InsightNotComputed):
    """The latest recommendations hold no suggestion for the customer."""


@dataclass(frozen=True)
class StoredInsight:
    """What insight ``kind`` found for run ``run_id``, as the workspace keeps it.

    Examples
    --------
    >>> StoredInsight("0002", "loyalty", None, "cli", {"horizon_days": 90}).payload
    {'horizon_days': 90}
    """

    run_id: str
    kind: str
    computed_at: datetime | None
    actor: str
    payload: dict[str, Any]


def stored_insight(workspace: Workspace, kind: str, run_id: str | None = None
                   ) -> StoredInsight:
    """The stored result of insight ``kind`` for segmentation run ``run_id`` (default: latest).

    See the module's example.

    Raises
    ------
    ValueError
        When ``kind`` is not one of :data:`INSIGHT_COMMANDS`.
    mallseg.workspace.RunNotFoundError
        When there is no such run.
    InsightNotComputed
        When the insight was not computed for the run (the message names the command).
    """
    if kind not in INSIGHT_COMMANDS:
        raise ValueError(f"insight {kind!r} is unknown: expected one of "
                         f"{', '.join(INSIGHT_COMMANDS)}")
    record = workspace.get_run(run_id, "segment")
    row = _insight_row(workspace, "WHERE run_id = ? AND kind = ?", [record.run_id, kind])
    if row is None:
        raise InsightNotComputed(f"{kind} was not computed for run {record.run_id}: run "
                                 f"`{INSIGHT_COMMANDS[kind]} --run {record.run_id}`")
    return row


@dataclass(frozen=True)
class InsightState:
    """Whether insight ``kind`` was computed for a run, when, and the command that makes it.

    Examples
    --------
    >>> InsightState("0002", "layout", None, "mallseg layout --run 0002").computed
    False
    """

    run_id: str
    kind: str
    computed_at: datetime | None
    command: str

    @property
    def computed(self) -> bool:
        """Whether the result is there."""
        return self.computed_at is not None


def insights_of_run(workspace: Workspace, run_id: str | None = None
                    ) -> tuple[InsightState, ...]:
    """Every insight kind of run ``run_id`` (default: latest), computed or not, in order.

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When there is no such run.
    """
    record = workspace.get_run(run_id, "segment")
    found: dict[str, datetime] = {}
    if workspace.has_table("insight_results"):
        found = {str(kind): at for kind, at in workspace.connection.execute(
            "SELECT kind, created_at FROM insight_results WHERE run_id = ?",
            [record.run_id]).fetchall()}
    return tuple(InsightState(record.run_id, kind, found.get(kind),
                              f"{command} --run {record.run_id}")
                 for kind, command in INSIGHT_COMMANDS.items())


def _insight_row(workspace: Workspace, where: str, parameters: list[Any]
                 ) -> StoredInsight | None:
    if not workspace.has_table("insight_results"):
        return None
    found = workspace.connection.execute(
        "SELECT run_id, kind, created_at, actor, payload FROM insight_results "
        f"{where} ORDER BY created_at DESC LIMIT 1", parameters).fetchall()
    if not found:
        return None
    run_id, kind, created_at, actor, payload = found[0]
    return StoredInsight(str(run_id), str(kind), created_at, str(actor or ""),
                         json.loads(payload))


@dataclass(frozen=True)
class CustomerRecommendations:
    """One customer's suggestions from the latest stored recommendations.

    ``items`` are in rank order, each with ``rank, item, label, score, source, reason``
    (and ``because_of, co_customers, share`` when the method says why).

    Examples
    --------
    >>> CustomerRecommendations("C1", "0002", None, "store", "ease", ()).to_dict()["items"]
    []
    """

    customer_id: str
    run_id: str
    computed_at: datetime | None
    item_kind: str
    method: str | None
    items: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"customer_id": self.customer_id, "run_id": self.run_id,
                "computed_at": self.computed_at, "item_kind": self.item_kind,
                "method": self.method, "items": [dict(i) for i in self.items]}


def customer_recommendations(workspace: Workspace, customer_id: str
                             ) -> CustomerRecommendations:
    """The customer's suggestions from the latest ``mallseg recommend`` result.

    Raises
    ------
    InsightNotComputed
        When no recommendations were stored (or they kept no per-customer rows).
    NoRecommendationsForCustomer
        When the latest recommendations have none for this customer (the message says how
        many customers they cover and how many were left out for want of consent), or the
        workspace's consent rule keeps this customer out now (consent or rule changed since).
    """
    found = _insight_row(workspace, "WHERE kind = ?", ["recommendations"])
    if found is None:
        raise InsightNotComputed("no recommendations were computed yet: run "
                                 "`mallseg recommend`")
    table = workspace.snapshot_table(found.run_id, RECOMMENDATIONS_SNAPSHOT)
    if table is None:
        raise InsightNotComputed(
            f"the recommendations of run {found.run_id} kept no per-customer suggestions: "
            f"run `mallseg recommend --run {found.run_id}` again")
    frame = workspace.connection.execute(
        f"SELECT * EXCLUDE (customer_id) FROM {quote_identifier(table)} "
        "WHERE customer_id = ? ORDER BY rank", [customer_id]).df()
    payload = found.payload
    if frame.empty:
        served = int(payload.get("customers") or 0)
        left_out = int(payload.get("excluded_without_consent") or 0)
        consent = (f"; {left_out:,} customers were left out for want of marketing consent"
                   if left_out else "")
        raise NoRecommendationsForCustomer(
            f"customer {customer_id} has no recommendations in run {found.run_id} (they cover "
            f"{served:,} customers{consent})")
    rule = marketing_consent_rule(workspace.connection)
    if not customer_may_be_marketed(workspace.connection, customer_id, rule):
        # stored before the consent (or the rule) changed: not given any more
        raise NoRecommendationsForCustomer(
            f"customer {customer_id} has no recorded marketing consent that the workspace's "
            f"rule ({rule}) accepts: no personal recommendations are given")
    items = tuple({str(k): _plain(v) for k, v in row.items()}
                  for row in frame.to_dict("records"))
    model = payload.get("model") or {}
    return CustomerRecommendations(customer_id, found.run_id, found.computed_at,
                                   str(payload.get("item_kind") or "store"),
                                   model.get("method"), items)


def _plain(value: Any) -> Any:
    """A frame value as a Python one (missing values as None).

    >>> import numpy as np
    >>> _plain(pd.NA), _plain(np.int64(3)), _plain("S1")
    (None, 3, 'S1')
    """
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    return value


MonitoringStatus = StoredMonitoring
"""The latest drift check and the model versions (the report's record of a check)."""


def monitoring_status(workspace: Workspace) -> MonitoringStatus:
    """The latest recorded drift check, with the model versions.

    Raises
    ------
    InsightNotComputed
        When no check has been recorded (the message names ``mallseg monitor``).
    """
    status = stored_monitoring(workspace)
    if status is None:
        raise InsightNotComputed("no monitoring check has run yet: run `mallseg monitor` "
                                 "(it needs data after the segmentation run's reference time)")
    return status
