"""Online updates: re-placing only the customers new events touched gives exactly what a
full recompute gives them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mallseg.app.monitor import OnlineUpdater, update_after_ingest, update_customers
from mallseg.app.run_artifacts import load_run
from mallseg.data.ingest import ingest_file
from mallseg.features.build import build_features
from mallseg.workspace import Workspace

EVENT_TABLES = ("customers", "visits", "transactions", "exposures")


def same_rows(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Equal frames: numbers to 1e-9, text exactly, missing where missing."""
    assert list(left.columns) == list(right.columns)
    assert left["customer_id"].tolist() == right["customer_id"].tolist()
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9,
                                       atol=1e-9, err_msg=column)
        else:
            assert a.fillna("<na>").astype(str).tolist() == \
                b.fillna("<na>").astype(str).tolist(), column


def full_recompute(ws: Workspace, as_of: Any, ids: list[str]) -> tuple[pd.DataFrame, list[int]]:
    """Every customer's features rebuilt, and the run's segment of ``ids`` from them."""
    artifacts = load_run(ws)
    frame = build_features(ws.connection, schema=replace(artifacts.schema, as_of=as_of)).frame
    rows = frame[frame["customer_id"].isin(ids)].sort_values("customer_id")
    assert artifacts.segmenter is not None
    return rows.reset_index(drop=True), artifacts.segmenter.predict(rows).tolist()


@pytest.fixture
def updated(event_workspace: Any, tmp_path: Path) -> Path:
    """The workspace with the events after the cut-off ingested (nothing re-placed yet)."""
    folder = event_workspace.copy(tmp_path / "ws")
    with Workspace.open(folder) as ws:
        ids = [ingest_file(ws, t, event_workspace.updates / f"{t}.parquet").ingest_id
               for t in EVENT_TABLES]
    (tmp_path / "ingests.txt").write_text("\n".join(ids))
    return folder


def test_after_an_ingest_only_its_customers_are_replaced_as_a_full_recompute_would(
    updated: Path,
) -> None:
    ingests = (updated.parent / "ingests.txt").read_text().split()
    with Workspace.open(updated) as ws:
        touched: set[str] = set()
        last = None
        for ingest_id in ingests:
            last = update_after_ingest(ws, ingest_id)
            touched |= set(last.assignments["customer_id"])
        assert last is not None
        live = ws.connection.execute(
            "SELECT customer_id, segment_id FROM live_assignments ORDER BY customer_id").df()
        expected_ids = set(ws.connection.execute(
            "SELECT customer_id FROM visits WHERE _ingest_id IN (SELECT unnest(?)) UNION "
            "SELECT customer_id FROM transactions WHERE _ingest_id IN (SELECT unnest(?))",
            [ingests, ingests]).df()["customer_id"])
        customers = ws.table_count("customers")
        rows, segments = full_recompute(ws, last.as_of, sorted(touched))
    assert expected_ids <= touched
    assert 300 < len(touched) < customers
    assert set(live["customer_id"]) == touched
    assert dict(zip(live["customer_id"], live["segment_id"], strict=True)) == dict(
        zip(rows["customer_id"], segments, strict=True))


def test_one_customer_at_a_time_matches_the_full_recompute_for_random_customers(
    updated: Path,
) -> None:
    with Workspace.open(updated) as ws:
        everyone = ws.connection.execute(
            "SELECT customer_id FROM customers ORDER BY customer_id").df()["customer_id"]
        chosen = np.random.default_rng(8).choice(everyone.to_numpy(), 20, replace=False)
        updater = OnlineUpdater(ws)
        updates = [updater.update([str(c)]) for c in chosen]
        batch = update_customers(ws, [str(c) for c in everyone.sample(300, random_state=3)])
        as_of = updates[0].as_of
        assert all(u.as_of == as_of for u in updates) and batch.as_of == as_of
        ids = sorted({str(c) for c in chosen} | set(batch.assignments["customer_id"]))
        rows, segments = full_recompute(ws, as_of, ids)
    by_customer = dict(zip(rows["customer_id"], segments, strict=True))
    for update in updates:
        customer = update.assignments["customer_id"].iloc[0]
        same_rows(update.features, rows[rows["customer_id"] == customer].reset_index(drop=True))
        assert int(update.assignments["segment_id"].iloc[0]) == by_customer[customer]
    same_rows(batch.features.sort_values("customer_id").reset_index(drop=True),
              rows[rows["customer_id"].isin(batch.assignments["customer_id"])]
              .reset_index(drop=True))
    assert batch.assignments["segment_id"].tolist() == [
        by_customer[c] for c in batch.assignments["customer_id"]]


def test_an_unknown_customer_is_listed_and_placed_nowhere(event_workspace: Any,
                                                          tmp_path: Path) -> None:
    with Workspace.open(event_workspace.copy(tmp_path / "ws")) as ws:
        update = update_customers(ws, ["C0000001", "NOBODY"])
        assert update.unknown == ("NOBODY",)
        assert update.assignments["customer_id"].tolist() == ["C0000001"]
        assert ws.connection.execute(
            "SELECT count(*) FROM live_assignments WHERE customer_id = 'NOBODY'"
        ).fetchone() == (0,)
