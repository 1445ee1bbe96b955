"""Use cases of live segmentation: score customers and look one up.

:class:`LiveModel` is a segmentation run made ready for requests: its feature schema,
model and segment names, and the arrays that place and explain one customer in tens of
microseconds (the same segment, confidence, runner-up and feature pulls as
:func:`mallseg.segment.explain.explain_customer`, which takes milliseconds). Recording a
customer's events and placing them again is :mod:`mallseg.app.live_events`.

A customer's segment is their live assignment, when they have one from the served run,
else the run's. Reads are audited by the caller (the service queues them).

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
...     model = LiveModel.load(ws)
...     rich = model.place({"annual_income": 120, "spending_score": 90})
...     lookup = customer_segment(ws, model, "0042")
...     page = list_segments(ws, model.run_id, offset=3, limit=10)
>>> rich.segment_name == model.names[rich.segment_id], rich.features[0].feature
(True, 'annual_income')
>>> lookup.customer_id, lookup.source
('0042', 'run')
>>> page.count, [s["segment_id"] for s in page.segments]
(5, [3, 4])
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from mallseg.app.explain import FeatureReason
from mallseg.app.run_artifacts import RunArtifacts, load_run
from mallseg.app.small_groups import stored_profile_shown
from mallseg.data.consent_settings import group_size_rule
from mallseg.features.catalog import describe_feature
from mallseg.segment.coverage import NOT_ENOUGH_DATA, NOT_ENOUGH_DATA_LABEL, record_coverage
from mallseg.segment.preprocess import output_slices
from mallseg.segment.rfm import RFM_FEATURES, score_with_cuts
from mallseg.workspace import Workspace
from mallseg.workspace.segment_store import UNASSIGNED_NAME

__all__ = [
    "CustomerNotFoundError",
    "CustomerSegment",
    "FeatureValueError",
    "LiveModel",
    "Placement",
    "SegmentPage",
    "customer_segment",
    "first_row",
    "list_segments",
    "plain_value",
]


class FeatureValueError(ValueError):
    """A feature value a model cannot take; ``field`` names the feature.

    >>> FeatureValueError("features.age", "age is numeric: expected a number").field
    'features.age'
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class CustomerNotFoundError(LookupError):
    """The customer is not in the workspace, or has no segment.

    >>> isinstance(CustomerNotFoundError("customer 'C9' is not in the workspace"), LookupError)
    True
    """


@dataclass(frozen=True)
class Placement:
    """A customer placed in a segment, with the features that place them there.

    >>> Placement("0001", 2, "Big spenders", 0.93, 0, "Light spenders", 0.88).to_dict()["margin"]
    0.88
    """

    run_id: str
    segment_id: int
    segment_name: str
    confidence: float
    runner_up: int | None
    runner_up_name: str | None
    margin: float
    features: tuple[FeatureReason, ...] = ()
    customer_id: str | None = None
    segment_size: int | None = None
    """Customers of the run in the segment (the one explained, for an unassigned one)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class CustomerSegment:
    """A known customer's segment (``source``: ``live`` or ``run``) and its profile.

    >>> CustomerSegment("C1", "0001", 2, "Big spenders", 0.9, "run", None).to_dict()["source"]
    'run'
    """

    customer_id: str
    run_id: str
    segment_id: int
    segment_name: str
    confidence: float
    source: str
    updated_at: datetime | None
    profile: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        data = asdict(self)
        data["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return data


@dataclass(frozen=True)
class SegmentPage:
    """One page of a run's segments (each: id, name, size, share, description, profile).

    >>> SegmentPage("0001", (), 3).to_dict()
    {'run_id': '0001', 'segments': [], 'count': 3}
    """

    run_id: str
    segments: tuple[dict[str, Any], ...]
    count: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"run_id": self.run_id, "segments": list(self.segments), "count": self.count}


class LiveModel:
    """A segmentation run ready to place customers one request at a time.

    The module's example shows it at work.

    Parameters
    ----------
    artifacts:
        The run's record, schema, fitted model (None for RFM) and segment names.
    """

    def __init__(self, artifacts: RunArtifacts) -> None:
        self.artifacts = artifacts
        segmenter = artifacts.segmenter
        self.names = dict(artifacts.segment_names)
        if segmenter is None:
            self.features: tuple[str, ...] = tuple(RFM_FEATURES)
            self.kinds = {f: "numeric" for f in self.features}
            return
        self.features = tuple(str(f) for f in segmenter.feature_names_in_)
        self.kinds = dict(segmenter.feature_kinds_)
        self._slices = list(output_slices(segmenter.preprocessor_).items())
        self._centres = np.asarray(segmenter.centers_, dtype=np.float64)
        self._population = dict(segmenter.population_profile_)
        self._profiles = {int(k): dict(v) for k, v in segmenter.segment_profile_.items()}
        self._sizes = [int(n) for n in segmenter.segment_sizes_]

    @classmethod
    def load(cls, workspace: Workspace, run_id: str | None = None) -> LiveModel:
        """The run ``run_id`` (default: the latest) ready for live use.

        Raises
        ------
        mallseg.workspace.RunNotFoundError
            When there is no such run.
        """
        return cls(load_run(workspace, run_id))

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.artifacts.run_id

    def describe(self) -> dict[str, Any]:
        """The run in plain values: method, lens, algorithm, segments, features, time."""
        record, schema = self.artifacts.record, self.artifacts.schema
        segmenter = self.artifacts.segmenter
        return {
            "run_id": self.run_id, "method": self.artifacts.method,
            "lens": record.parameters.get("lens"),
            "algorithm": segmenter.algorithm if segmenter is not None else None,
            "segments": len([s for s in self.names if s >= 0]),
            "features": list(self.features), "reference": schema.sentence(),
            "reference_time": schema.as_of, "finished_at": record.finished_at,
            "feature_schema_hash": record.feature_schema_hash,
        }

    def meaning(self, feature: str) -> str:
        """What a feature is, in words, with its unit (the run's words, else the catalog's)."""
        said = self.artifacts.schema.meanings.get(feature)
        if said:
            return str(said)
        try:
            spec = describe_feature(feature)
        except KeyError:
            return feature.replace("_", " ")
        return f"{spec.meaning} ({spec.unit})" if spec.unit else spec.meaning

    def check_record(self, values: Mapping[str, object], where: str = "features"
                     ) -> dict[str, object]:
        """Every model feature's value from ``values`` (absent: missing), type-checked.

        Raises
        ------
        FeatureValueError
            For a feature the model does not use, or a value of the wrong type.
        """
        record: dict[str, object] = dict.fromkeys(self.features)
        for name, value in values.items():
            kind = self.kinds.get(name)
            if kind is None:
                raise FeatureValueError(
                    f"{where}.{name}", f"the model does not use {name!r}; its features are "
                    f"{', '.join(self.features)}")
            if value is None:
                continue
            if kind == "categorical":
                if not isinstance(value, str):
                    raise FeatureValueError(f"{where}.{name}",
                                            f"{name} is a category: expected text or null")
            elif isinstance(value, bool):
                value = float(value)
            elif not isinstance(value, int | float) or not math.isfinite(value):
                raise FeatureValueError(f"{where}.{name}",
                                        f"{name} is {kind}: expected a finite number or null")
            record[name] = value
        return record

    def place(self, record: Mapping[str, object], *, customer_id: str | None = None,
              top: int = 5) -> Placement:
        """Place one customer given as feature values (see :meth:`check_record`)."""
        values = self.check_record(record)
        segmenter = self.artifacts.segmenter
        if segmenter is None:
            return self._place_rfm(values, customer_id)
        # The arithmetic of mallseg.segment.explain.explain_customer, on the compiled
        # assigner's vector instead of scikit-learn's validated path (tests hold them equal).
        assigner = segmenter.assigner_
        mixture = assigner.mixture
        if mixture is None:
            return Placement(self.run_id, -1, UNASSIGNED_NAME, 0.0, None, None, 0.0, (),
                             customer_id)
        features = [*assigner.numeric_features, *assigner.categorical_features]
        if assigner.min_coverage and (record_coverage(values, features)
                                      < assigner.min_coverage - 1e-12):
            return Placement(self.run_id, NOT_ENOUGH_DATA, NOT_ENOUGH_DATA_LABEL, 0.0, None,
                             None, 0.0, (), customer_id)
        point = assigner.vectorise(values)
        proba = mixture.predict_proba_one(point)
        if assigner.assignment == "centroid":
            # Segmenter.assign_one's nearest-centre rule, without vectorising twice
            segment = int(np.argmin(assigner.center_norms - 2.0 * (assigner.centers @ point)))
            confidence = float(proba[segment])
        else:
            segment, confidence = assigner.assign_one(values)
        reference = segment if segment >= 0 else int(np.argmax(proba))
        others = [int(k) for k in np.argsort(-proba, kind="stable") if k != reference]
        runner = others[0] if others else None
        margin = float(proba[reference] - proba[runner] if runner is not None
                       else proba[reference])
        pull = np.zeros_like(point)
        if runner is not None:
            pull = ((point - self._centres[runner]) ** 2
                    - (point - self._centres[reference]) ** 2)
        profile = self._profiles[reference]
        reasons = [
            FeatureReason(name, plain_value(values[name]), profile[name],
                          self._population[name], float(pull[columns].sum()))
            for name, columns in self._slices
        ]
        reasons.sort(key=lambda r: r.pull, reverse=True)
        return Placement(
            self.run_id, segment, self.names.get(segment, UNASSIGNED_NAME), confidence,
            runner, self.names.get(runner) if runner is not None else None, margin,
            tuple(reasons[:top]), customer_id, self._sizes[reference])

    def _place_rfm(self, values: Mapping[str, object], customer_id: str | None) -> Placement:
        frame = pd.DataFrame([{f: values[f] for f in RFM_FEATURES}], dtype="float64")
        scored = score_with_cuts(frame, self.artifacts.rfm_cuts).scores.iloc[0]
        segment = int(scored["segment"])
        reasons = tuple(
            FeatureReason(f, plain_value(values[f]), None, None, float(scored[letter]))
            for f, letter in zip(RFM_FEATURES, ("R", "F", "M"), strict=True))
        return Placement(self.run_id, segment, self.names.get(segment, str(scored["group"])),
                         1.0, None, None, 1.0, reasons, customer_id)


def customer_segment(workspace: Workspace, model: LiveModel, customer_id: str
                     ) -> CustomerSegment:
    """The customer's live assignment from ``model``'s run, else the run's, with the profile.

    The module's example looks a customer up.

    Raises
    ------
    CustomerNotFoundError
        When the customer is unknown, or known but in no segment of the run.
    """
    con = workspace.connection
    row = first_row(con.execute(
        "SELECT run_id, segment_id, segment_name, confidence, updated_at, 'live' "
        "FROM live_assignments WHERE customer_id = ? AND run_id = ?",
        [customer_id, model.run_id]))
    if row is None:
        row = first_row(con.execute(
            "SELECT run_id, segment_id, segment_name, confidence, NULL, 'run' "
            "FROM segment_assignments WHERE customer_id = ? AND run_id = ?",
            [customer_id, model.run_id]))
    if row is None:
        known = first_row(con.execute("SELECT count(*) FROM customers WHERE customer_id = ?",
                            [customer_id]))
        if known and known[0]:
            raise CustomerNotFoundError(
                f"customer {customer_id!r} has no segment in run {model.run_id} (loaded after "
                "it): record an event for them, or score their features")
        raise CustomerNotFoundError(f"customer {customer_id!r} is not in the workspace")
    profile = first_row(con.execute(
        "SELECT profile, size FROM segments WHERE run_id = ? AND segment_id = ?",
        [row[0], row[1]]))
    shown = (stored_profile_shown(int(profile[1]), json.loads(profile[0] or "{}"),
                                  group_size_rule(con)) if profile else {})
    return CustomerSegment(customer_id, str(row[0]), int(row[1]), str(row[2]), float(row[3]),
                           str(row[5]), row[4], shown)


def list_segments(workspace: Workspace, run_id: str, *, offset: int = 0, limit: int = 100,
                  segment_id: int | None = None) -> SegmentPage:
    """A page of run ``run_id``'s segments in id order (or the one ``segment_id``).

    The module's example lists a page.
    """
    where, params = "WHERE run_id = ?", [run_id] if segment_id is None else [run_id, segment_id]
    if segment_id is not None:
        where += " AND segment_id = ?"
    con = workspace.connection
    total = first_row(con.execute(f"SELECT count(*) FROM segments {where}", params))
    rows = con.execute(
        "SELECT segment_id, segment_name, size, share, description, profile FROM segments "
        f"{where} ORDER BY segment_id LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()
    rule = group_size_rule(con)
    segments = tuple(
        {"segment_id": int(r[0]), "name": str(r[1]), "size": int(r[2]), "share": float(r[3]),
         "description": str(r[4] or ""),
         "profile": stored_profile_shown(int(r[2]), json.loads(r[5] or "{}"), rule)}
        for r in rows)
    return SegmentPage(run_id, segments, int(total[0]) if total else 0)


def plain_value(value: object) -> float | str | None:
    """A feature value as JSON takes it: a float, text, or None for missing.

    >>> plain_value(float("nan")), plain_value(3), plain_value("north")
    (None, 3.0, 'north')
    """
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):  # type: ignore[call-overload]
        return None
    if isinstance(value, str):
        return value
    return float(value)  # type: ignore[arg-type]


def first_row(result: Any) -> tuple[Any, ...] | None:
    """The first row of a query result, read to the end (DuckDB then frees the connection).

    >>> import duckdb
    >>> first_row(duckdb.connect().execute("SELECT 42")), first_row(
    ...     duckdb.connect().execute("SELECT 1 WHERE false"))
    ((42,), None)
    """
    rows = result.fetchall()
    return tuple(rows[0]) if rows else None
