"""Online updates: only the customers new events touched are re-placed.

After an ingest (of an update file) :func:`affected_customers` finds the customers whose
rows it added or changed (every canonical table and the customer attributes carry the id
of the ingest that last wrote a row). Their features are then rebuilt from their own rows
with the run's feature schema (:func:`customer_features`, equal to their rows of a full
build), :func:`place_customers` puts them in the run's segments, and
:func:`write_live_assignments` stores the result in ``live_assignments``. Nothing else is
recomputed.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, _ingest_id VARCHAR)")
>>> _ = con.execute("INSERT INTO visits VALUES ('a', 'i1'), ('b', 'i2'), ('b', 'i2')")
>>> affected_customers(con, "i2")
['b']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from mallseg.core.schema import CANONICAL_TABLES
from mallseg.features.build import build_features
from mallseg.features.schema import FeatureSchema
from mallseg.segment.coverage import segment_label
from mallseg.segment.rfm import score_with_cuts
from mallseg.segment.segmenter import Segmenter

__all__ = ["OnlineUpdate", "affected_customers", "customer_features", "place_customers",
           "write_live_assignments"]

_ONE_BY_ONE = 256
_KEYED_TABLES = (*(t for t, table in CANONICAL_TABLES.items()
                    if "customer_id" in table.column_names), "customer_attributes")


@dataclass(frozen=True)
class OnlineUpdate:
    """Customers re-placed after new events, with their live assignment."""

    run_id: str
    as_of: datetime | None
    assignments: pd.DataFrame
    """customer_id, segment_id, segment_name, confidence, previous_segment_id."""
    features: pd.DataFrame
    """The customers' rebuilt features (the run's schema, as of ``as_of``)."""
    unknown: tuple[str, ...] = ()

    @property
    def moved(self) -> int:
        """Customers whose segment changed."""
        frame = self.assignments
        return int((frame["previous_segment_id"].notna()
                    & (frame["previous_segment_id"] != frame["segment_id"])).sum())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        rows = self.assignments.astype(object).where(self.assignments.notna(), None)
        return {"run_id": self.run_id, "as_of": self.as_of.isoformat() if self.as_of else None,
                "updated": len(self.assignments), "moved": self.moved,
                "unknown": list(self.unknown), "assignments": rows.to_dict(orient="records")}


def affected_customers(connection: duckdb.DuckDBPyConnection, ingest_id: str) -> list[str]:
    """Customers with a row that ingest ``ingest_id`` added or changed, sorted."""
    present = {str(r[0]) for r in connection.execute(
        "SELECT table_name FROM duckdb_columns() WHERE column_name = '_ingest_id' "
        "AND database_name = current_database() AND schema_name = current_schema()"
    ).fetchall()}
    parts = [f'SELECT customer_id FROM "{t}" WHERE _ingest_id = $ingest'
             for t in _KEYED_TABLES if t in present]
    if not parts:
        return []
    rows = connection.execute(
        f"SELECT DISTINCT CAST(customer_id AS VARCHAR) FROM ({' UNION ALL '.join(parts)}) "
        "WHERE customer_id IS NOT NULL ORDER BY 1", {"ingest": ingest_id}).fetchall()
    return [str(r[0]) for r in rows]


def customer_features(
    connection: duckdb.DuckDBPyConnection, schema: FeatureSchema, customer_ids: Sequence[str],
) -> pd.DataFrame:
    """The features of ``customer_ids`` from their own rows, equal to a full build's rows.

    A build restricted to customers none of whom bought in a recorded store leaves
    ``distinct_stores`` empty where a full build says 0 (its store list comes from the
    customers' own rows); with the schema holding the feature, those customers bought in
    no store: 0, as documented for customers without purchases.
    """
    frame = build_features(connection, schema=schema, customer_ids=list(customer_ids)).frame
    if "distinct_stores" in schema.features and "distinct_stores" in frame.columns:
        frame["distinct_stores"] = frame["distinct_stores"].fillna(0).astype("int64")
    return frame


def place_customers(
    frame: pd.DataFrame, segmenter: Segmenter | None, identities: Mapping[int, tuple[int, str]],
    *, rfm_cuts: Mapping[str, list[float]] | None = None,
) -> pd.DataFrame:
    """Segment of each customer of ``frame`` under a run's model, in stable ids and names.

    ``segmenter`` is the run's model, or None for an RFM run (then ``rfm_cuts`` score the
    groups). A few customers are placed one by one with the model's compiled assigner
    (microseconds each, the same answer as its ``predict``), more in one pass.
    Returns customer_id, segment_id, segment_name, confidence (one row per customer).

    Examples
    --------
    >>> from mallseg.segment.segmenter import Segmenter
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
    ...                           "annual_income": [15, 16, 120, 125],
    ...                           "spending_score": [80, 78, 10, 12]})
    >>> model = Segmenter(features="classic", n_segments=2).fit(customers)
    >>> low = int(model.labels_[0])
    >>> placed = place_customers(customers.iloc[[0]], model, {low: (7, "Young spenders")})
    >>> placed[["customer_id", "segment_id", "segment_name"]].values.tolist()
    [['a', 7, 'Young spenders']]
    """
    if segmenter is None:
        labels = score_with_cuts(frame, dict(rfm_cuts or {})).scores["segment"].to_numpy()
        confidence = np.ones(len(frame))
    elif len(frame) <= _ONE_BY_ONE:
        features = [str(f) for f in segmenter.feature_names_in_]
        pairs = [segmenter.assign_one({f: _value(row[f]) for f in features})
                 for _, row in frame.iterrows()]
        labels = np.array([p[0] for p in pairs], dtype=np.int64)
        confidence = np.array([p[1] for p in pairs], dtype=np.float64)
    else:
        labels = np.asarray(segmenter.predict(frame), dtype=np.int64)
        confidence = np.asarray(segmenter.confidence(frame), dtype=np.float64)
    ids = [identities.get(int(label), (int(label), ""))[0] if label >= 0 else int(label)
           for label in labels]
    names = [identities[int(label)][1] if int(label) in identities
             else segment_label(int(label)) for label in labels]
    return pd.DataFrame({"customer_id": frame["customer_id"].astype(str).to_numpy(),
                         "segment_id": np.asarray(ids, dtype=np.int64),
                         "segment_name": names,
                         "confidence": np.clip(confidence, 0.0, 1.0)})


def _value(value: object) -> object:
    """A feature value as the compiled assigner takes it (None for missing)."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):  # type: ignore[call-overload]
        return None
    return value


def write_live_assignments(
    connection: duckdb.DuckDBPyConnection, run_id: str, placed: pd.DataFrame, now: datetime,
) -> int:
    """Store placed customers as their live assignment from ``run_id``; return the rows."""
    rows = placed.assign(run_id=run_id, updated_at=now)[
        ["customer_id", "run_id", "segment_id", "segment_name", "confidence", "updated_at"]]
    connection.register("_placed_customers", rows)
    try:
        connection.execute("INSERT OR REPLACE INTO live_assignments SELECT customer_id, run_id, "
                           "CAST(segment_id AS INTEGER), segment_name, confidence, updated_at "
                           "FROM _placed_customers")
    finally:
        connection.unregister("_placed_customers")
    return len(rows)
