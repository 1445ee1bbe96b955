"""Use case: why a customer is in their segment, in a given run (default: the latest).

The customer's features are those the run was fitted on (its snapshot), so an explanation
never mixes a model with features a later run computed.

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
...     result = explain_in_run(ws, "0042")
>>> result.run_id, result.segment_name == result.to_dict()["segment_name"]
('0001', True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mallseg.app.run_artifacts import load_run, snapshot_features
from mallseg.segment.coverage import segment_label
from mallseg.segment.explain import explain_customer
from mallseg.segment.rfm import score_with_cuts
from mallseg.workspace import Workspace

__all__ = ["ExplainResult", "FeatureReason", "explain_in_run"]


@dataclass(frozen=True)
class FeatureReason:
    """One feature's part: the customer's value, the segment's and everyone's (same units)."""

    feature: str
    customer_value: float | str | None
    segment_value: float | str | None
    population_value: float | str | None
    pull: float


@dataclass(frozen=True)
class ExplainResult:
    """Why one customer is in their segment."""

    customer_id: str
    run_id: str
    segment: int
    segment_name: str
    confidence: float
    runner_up: int | None
    runner_up_name: str | None
    margin: float
    reference: str
    features: tuple[FeatureReason, ...] = field(default=())
    scores: dict[str, int] = field(default_factory=dict)
    """RFM runs: the customer's R, F, M and FM scores."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)


def explain_in_run(
    workspace: Workspace, customer_id: str, run_id: str | None = None, *, top: int = 5,
    actor: str | None = None,
) -> ExplainResult:
    """Explain ``customer_id``'s segment in run ``run_id`` (default: the latest).

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When the run does not exist (with near matches).
    LookupError
        When the customer is not in that run.
    """
    artifacts = load_run(workspace, run_id)
    row = snapshot_features(workspace, artifacts.run_id, customer_id)
    if row.empty:
        raise LookupError(
            f"customer {customer_id!r} is not in run {artifacts.run_id}: customers loaded "
            "after the run get a segment with `mallseg assign`"
        )
    names = artifacts.segment_names
    if not workspace.read_only:
        workspace.audit("explain", customer_id, {"run_id": artifacts.run_id}, actor=actor)
    if artifacts.segmenter is None:
        scored = score_with_cuts(row, artifacts.rfm_cuts).scores.iloc[0]
        segment = int(scored["segment"])
        reasons = tuple(
            FeatureReason(f, _value(row[f].iloc[0]), None, None, float(scored[letter]))
            for f, letter in (("recency_days", "R"), ("frequency", "F"),
                              ("monetary_total", "M"))
        )
        return ExplainResult(
            customer_id, artifacts.run_id, segment, names.get(segment, str(scored["group"])),
            1.0, None, None, 1.0, artifacts.schema.sentence(), reasons,
            {k: int(scored[k]) for k in ("R", "F", "M", "FM")},
        )
    explanation = explain_customer(artifacts.segmenter, row)
    reasons = tuple(
        FeatureReason(c.feature, c.customer_value, c.segment_value, c.population_value,
                      c.contribution)
        for c in explanation.top_features(top)
    )
    runner = explanation.runner_up
    return ExplainResult(
        customer_id=customer_id, run_id=artifacts.run_id, segment=explanation.segment,
        segment_name=names.get(explanation.segment, segment_label(explanation.segment)),
        confidence=explanation.confidence, runner_up=runner,
        runner_up_name=names.get(runner) if runner is not None else None,
        margin=explanation.margin, reference=artifacts.schema.sentence(), features=reasons,
    )


def _value(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
