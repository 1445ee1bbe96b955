"""No aggregate of fewer than k customers is shown or kept, whatever the stage.

A small simulated mall is segmented (a clustering and an RFM run, whose fixed groups can be
small) with the workspace's ``min_group_size`` raised to 40, then every insight is computed
(loyalty, campaigns, layout, recommendations, migration between two runs, the make-up
table). Every JSON value those use cases return or keep in the workspace (what the report,
the dashboard and the API read) is walked: a group of fewer than 40 customers may keep its
count, but never a figure computed from its members. The test also checks that the rule
had something to hide on this mall (otherwise it would hold by construction).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mallseg.app.consent_makeup import makeup_for_run
from mallseg.app.consent_settings import change_setting
from mallseg.app.insights import (
    campaigns_for_run,
    layout_for_run,
    loyalty_for_run,
    recommendations_for_run,
)
from mallseg.app.live import list_segments
from mallseg.app.monitor import segment_migration
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.data.folder import find_table_sources
from mallseg.data.ingest import ingest_file
from mallseg.datasets.simulate import simulate_mall
from mallseg.report.writer import report_sections, write_report
from mallseg.workspace import Workspace

K = 40

COUNT_KEYS = ("customers", "size", "segment_size", "n_targeted", "n_holdout",
              "segment_customers")
"""Keys that hold the number of customers a JSON object describes."""
ALLOWED = {"share", "segment_size", "size"}
"""Figures a small group may keep: its count and its share of all customers."""


def _walk(value: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _figures(entry: dict[str, Any]) -> dict[str, Any]:
    """The numbers an object shows about its members (counts and ids aside)."""
    shown = {}
    for key, value in entry.items():
        if key in ALLOWED or key in COUNT_KEYS:
            continue
        number = isinstance(value, float) and math.isfinite(value)
        estimate = isinstance(value, dict) and key in ("response", "spend", "visits")
        if number or estimate:
            shown[key] = value
        elif key == "counts" and isinstance(value, list) and any(any(r) for r in value):
            shown[key] = "non-zero heat map"
    return shown


def _small_groups_showing_figures(document: Any, k: int) -> list[str]:
    leaks = []
    for path, entry in _walk(document):
        counts = [int(entry[c]) for c in COUNT_KEYS
                  if isinstance(entry.get(c), int) and not isinstance(entry.get(c), bool)]
        if counts and 0 < min(counts) < k:
            figures = _figures(entry)
            if figures:
                leaks.append(f"{path}: {min(counts)} customers with {sorted(figures)}")
    return leaks


def _hidden(document: Any, k: int) -> int:
    """Groups of fewer than k customers in the document (counted, their figures gone)."""
    hidden = 0
    for _, entry in _walk(document):
        counts = [int(entry[c]) for c in COUNT_KEYS
                  if isinstance(entry.get(c), int) and not isinstance(entry.get(c), bool)]
        if counts and 0 < min(counts) < k:
            hidden += 1
        if entry.get("customers", 0) is None or entry.get("suppressed") is True:
            hidden += 1
    return hidden


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("groups")
    simulate_mall(folder / "mall", customers=700, days=150, seed=5)
    out: dict[str, Any] = {}
    with Workspace.open(folder / "ws") as ws:
        for table, path in find_table_sources(folder / "mall" / "inputs").items():
            ingest_file(ws, table, path)
        change_setting(ws, "min_group_size", str(K))
        first = segment_customers(ws, SegmentRequest(k=4, n_resamples=2))
        out["segment"] = first.to_dict()
        second = segment_customers(ws, SegmentRequest(k=5, n_resamples=2, random_state=1))
        out["migration"] = segment_migration(ws, first.run_id, second.run_id).to_dict()
        out["makeup"] = makeup_for_run(ws, second.run_id)[1].to_dict()
        out["campaigns"] = campaigns_for_run(ws, second.run_id, min_cell=5).to_dict()
        out["layout"] = layout_for_run(ws, second.run_id, min_customers=5).to_dict()
        out["recommendations"] = recommendations_for_run(ws, second.run_id).to_dict()
        rfm = segment_customers(ws, SegmentRequest(method="rfm"))
        out["rfm"] = rfm.to_dict()
        out["loyalty"] = loyalty_for_run(ws, rfm.run_id).to_dict()
        out["makeup_rfm"] = makeup_for_run(ws, rfm.run_id)[1].to_dict()
        _, sections = report_sections(ws, rfm.run_id)
        out["report_sections"] = [s.to_dict() for s in sections]
        out["report_html"] = Path(write_report(ws, rfm.run_id).path).read_text()
        for run in (first.run_id, second.run_id, rfm.run_id):
            out[f"segments_api_{run}"] = [dict(s) for s in list_segments(ws, run).segments]
        rows = ws.connection.execute(
            "SELECT run_id, kind, payload FROM insight_results ORDER BY ALL").fetchall()
        out["stored"] = {f"{r[0]}/{r[1]}": json.loads(r[2]) for r in rows}
        out["stored_segments"] = [
            {"size": r[0], **json.loads(r[1] or "{}")}
            for r in ws.connection.execute("SELECT size, profile FROM segments").fetchall()]
    return out


def test_the_rule_had_groups_to_hide(documents: dict[str, Any]) -> None:
    hidden = {name: _hidden(doc, K) for name, doc in documents.items()}
    for name in ("rfm", "campaigns", "makeup", "loyalty"):
        assert hidden[name] > 0, (name, hidden)
    assert documents["migration"]["hidden_flows"] > 0


@pytest.mark.parametrize("name", ["segment", "migration", "makeup", "campaigns", "layout",
                                  "recommendations", "rfm", "loyalty", "makeup_rfm",
                                  "stored", "stored_segments"])
def test_no_small_group_shows_a_figure(documents: dict[str, Any], name: str) -> None:
    assert _small_groups_showing_figures(documents[name], K) == []


def test_the_report_shows_small_groups_without_their_figures(
        documents: dict[str, Any]) -> None:
    sections = {s["key"]: s for s in documents["report_sections"]}
    small = [s for s in documents["segments_api_0003"] if s["size"] < K]
    assert small
    for group in small:
        section = sections[f"segment-{group['segment_id']}"]
        assert not any("What sets it apart" in line for line in section["sentences"])
        assert section["figures"] == [] or all(
            not trace.get("x") and not trace.get("y")
            for figure in section["figures"] for trace in figure["data"])
    assert "makeup" in sections
    assert "Make-up by gender and age" in documents["report_html"]


def test_the_segments_the_api_lists_hide_small_profiles(documents: dict[str, Any]) -> None:
    listed = [s for name, page in documents.items() if name.startswith("segments_api_")
              for s in page]
    small = [s for s in listed if s["size"] < K]
    assert small, "the RFM run has groups under the minimum"
    assert all(s["profile"] == {"suppressed": True} for s in small)
    assert all(s["profile"] != {"suppressed": True} for s in listed if s["size"] >= K)


def test_clustering_never_makes_a_segment_under_the_minimum(documents: dict[str, Any]) -> None:
    for name in ("segment",):
        sizes = [s["size"] for s in documents[name]["segments"] if s["segment"] >= 0]
        assert min(sizes) >= K


def test_migration_totals_and_flows_respect_the_minimum(documents: dict[str, Any]) -> None:
    moves = documents["migration"]
    assert moves["min_group_size"] == K
    assert all(c["customers"] >= K for c in moves["cells"])
    assert moves["hidden_flows"] > 0
    for total in ("stayed", "moved", "joined", "left", "hidden_customers"):
        assert moves[total] is None or moves[total] == 0 or moves[total] >= K


def test_a_setting_below_two_is_refused(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        with pytest.raises(ValueError, match="at least 2"):
            change_setting(ws, "min_group_size", "1")
        with pytest.raises(ValueError, match="whole number"):
            change_setting(ws, "min_group_size", "ten")
        assert change_setting(ws, "min_group_size", "25").value == "25"


def test_the_scan_finds_a_small_group_with_figures() -> None:
    document = {"segments": [{"segment": "A", "customers": 3, "mean_spend": 12.5},
                             {"segment": "B", "customers": 300, "mean_spend": 40.0},
                             {"segment": "C", "customers": 4, "mean_spend": None}],
                "cells": [{"n_targeted": 50, "n_holdout": 6, "response": {"uplift": 0.1}}]}
    assert _small_groups_showing_figures(document, K) == [
        "$.segments[0]: 3 customers with ['mean_spend']",
        "$.cells[0]: 6 customers with ['response']"]
