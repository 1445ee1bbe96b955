"""The report shows a run's stored layout and its latest drift check, with the stored numbers,
and neither when they were not computed for the run."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mallseg.app.insights import layout_for_run
from mallseg.app.monitor import check_monitor
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.report import write_report
from mallseg.report.layout_sections import StoredLayout, stored_layout
from mallseg.report.monitoring_sections import stored_monitoring
from mallseg.report.sections import build_sections
from mallseg.service.insight_sections import latest_monitoring
from mallseg.service.insight_sections import stored_layout as dashboard_layout
from mallseg.workspace import Workspace


class Sections(HTMLParser):
    """Each section's paragraphs, list items, table rows and chart ids, by key."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, dict[str, list[Any]]] = {}
        self._key: str | None = None
        self._text: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section" and values.get("data-section"):
            self._key = str(values["data-section"])
            self.found[self._key] = {"p": [], "li": [], "rows": [], "figures": []}
        elif self._key is None:
            return
        elif tag in ("p", "li", "td"):
            self._text = []
        elif tag == "tr":
            self._row = []
        elif tag == "div" and values.get("data-figure"):
            self.found[self._key]["figures"].append(values["data-figure"])

    def handle_endtag(self, tag: str) -> None:
        if self._key is None:
            return
        if tag in ("p", "li") and self._text is not None:
            self.found[self._key][tag].append("".join(self._text))
            self._text = None
        elif tag == "td" and self._text is not None and self._row is not None:
            self._row.append("".join(self._text))
            self._text = None
        elif tag == "tr" and self._row is not None:
            if self._row:  # header rows hold <th> only
                self.found[self._key]["rows"].append(tuple(self._row))
            self._row = None
        elif tag == "section":
            self._key = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


@dataclass(frozen=True)
class Written:
    """A report as written: its section keys, their contents and the figure specs."""

    keys: tuple[str, ...]
    sections: dict[str, dict[str, list[Any]]]
    figures: dict[str, Any]


@dataclass(frozen=True)
class Mall:
    """The workspace, its two runs, what was stored for the second, the two reports."""

    folder: Path
    first_run: str
    run: str
    layout: dict[str, Any]
    monitor_run: str
    monitor: dict[str, Any]
    reports: dict[str, Written]


def _read(path: Path, keys: tuple[str, ...]) -> Written:
    page = path.read_text(encoding="utf-8")
    parser = Sections()
    parser.feed(page)
    found = re.search(r'<script type="application/json" id="mallseg-figures">(.*?)</script>',
                      page, re.S)
    assert found is not None
    return Written(keys, parser.found, json.loads(found.group(1)))


@pytest.fixture(scope="module")
def mall(mall_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Mall:
    """A second run 20 days before the data ends, its layout and a drift check of it."""
    folder = tmp_path_factory.mktemp("layout-monitoring")
    shutil.copytree(mall_workspace, folder / "ws")
    with Workspace.open(folder / "ws") as ws:
        first = ws.get_run(None, "segment")
        assert first.reference_time is not None
        as_of = pd.Timestamp(first.reference_time) - pd.Timedelta(days=20)
        run = segment_customers(ws, SegmentRequest(algorithms=("kmeans",), k=4,
                                                   n_resamples=2, as_of=as_of)).run_id
        layout_for_run(ws, run)
        check = check_monitor(ws)
        assert check.monitor_run_id is not None and check.run_id == run, check.message
        layout = ws.insight(run, "layout")
        monitor = ws.get_run(check.monitor_run_id, "monitor").metrics
    assert layout is not None
    reports = {}
    for run_id in (first.run_id, run):
        result = write_report(folder / "ws", run_id, out=folder / f"report-{run_id}.html")
        reports[run_id] = _read(result.path, result.sections)
    return Mall(folder / "ws", first.run_id, run, layout, check.monitor_run_id, monitor, reports)


def _share(value: float) -> str:
    return f"{value:.0%}"


def test_layout_and_monitoring_follow_the_other_insights(mall: Mall) -> None:
    keys = mall.reports[mall.run].keys
    shown = [k for k in keys if k.startswith(("campaigns", "layout", "monitoring", "method"))]
    hours = any(s.get("peak_hours") for s in mall.layout["activity"]["segments"])
    pairs = bool(mall.layout["pairs"]["pairs"])
    assert shown == ["campaigns", "layout", *(["layout-pairs"] if pairs else []),
                     *(["layout-hours"] if hours else []), "monitoring", "method"]


def test_neither_is_shown_for_a_run_without_them(mall: Mall) -> None:
    # the first run has no layout, and the only drift check is of the second run
    written = mall.reports[mall.first_run]
    assert not [k for k in written.keys if k.startswith(("layout", "monitoring"))]
    assert not [k for k in written.sections if k.startswith(("layout", "monitoring"))]


def test_the_affinity_heat_map_holds_the_stored_lifts(mall: Mall) -> None:
    written = mall.reports[mall.run]
    heat = written.figures[written.sections["layout"]["figures"][0]]["data"][0]
    cells = mall.layout["category_affinity"]["cells"]
    assert heat["type"] == "heatmap" and heat["y"] == mall.layout["segments"]
    ok = [c for c in cells if c["status"] == "ok"]
    assert ok and len(ok) < len(cells)  # some cells have too few customers: left blank
    for cell in cells:
        value = heat["z"][heat["y"].index(cell["segment"])][heat["x"].index(cell["label"])]
        assert value == (pytest.approx(cell["lift"]) if cell["status"] == "ok" else None)


def test_the_top_affinities_of_each_segment_are_listed_with_their_shares(mall: Mall) -> None:
    expected = []
    for dimension in ("category", "store"):
        cells = [c for c in mall.layout[f"{dimension}_affinity"]["cells"]
                 if c["status"] == "ok"]
        for segment in mall.layout["segments"]:
            own = sorted((c for c in cells if c["segment"] == segment),
                         key=lambda c: -c["lift"])[:3]
            expected += [(segment, dimension, c["label"], f"{c['lift']:.2f}",
                          _share(c["segment_share"]), _share(c["population_share"]),
                          f"{c['customers']:,}") for c in own]
    section = mall.reports[mall.run].sections["layout"]
    assert section["rows"] == expected
    fashion = max((c for c in mall.layout["category_affinity"]["cells"]
                   if c["status"] == "ok" and c["segment"] == "Fashion shoppers"),
                  key=lambda c: c["lift"])
    assert (f"Fashion shoppers for {fashion['label']} (lift {fashion['lift']:.2f}, "
            f"{_share(fashion['segment_share'])} against "
            f"{_share(fashion['population_share'])}, {fashion['customers']:,} customers)"
            ) in section["p"][0]


def test_suggestions_and_the_store_pairs_count_are_in_words(mall: Mall) -> None:
    section = mall.reports[mall.run].sections["layout"]
    pairs = mall.layout["pairs"]
    suggestions = [s["text"] for s in mall.layout["suggestions"]][:8]
    assert suggestions and section["li"][:len(suggestions)] == suggestions
    assert (f"(of {pairs['units']:,} {pairs['unit']}s, {pairs['multi_store_units']:,} of them "
            "with more than one store)") in section["p"][1]


def test_peak_hours_of_each_segment_are_the_stored_windows(mall: Mall) -> None:
    activity = mall.layout["activity"]
    groups = [g for g in activity["segments"] if g["peak_hours"]]
    rows = mall.reports[mall.run].sections["layout-hours"]["rows"]
    assert rows == [
        (g["group"], f"{g['total']:,}", g["peak_hours"]["label"],
         _share(g["peak_hours"]["share"]), _share(g["peak_hours"]["population_share"]),
         g["peak_slot"]["label"],
         f"{g['weekdays'][g['busiest_day'] - 1]} ({_share(g['busiest_day_share'])})")
        for g in groups]


def test_the_drift_check_shows_verdict_windows_shares_and_features(mall: Mall) -> None:
    section = mall.reports[mall.run].sections["monitoring"]
    report, windows = mall.monitor["report"], mall.monitor["windows"]
    assert section["p"][0].startswith(f"Check {mall.monitor_run} of run {mall.run} on ")
    assert section["p"][0].endswith(f": {mall.monitor['verdict']}.")
    assert section["p"][1] == (
        f"It compared {windows['reference']['since'][:10]} to "
        f"{windows['reference']['until'][:10]} ({report['reference_size']:,} customers) with "
        f"{windows['current']['since'][:10]} to {windows['current']['until'][:10]} "
        f"({report['current_size']:,} customers).")
    assert section["p"][2] == report["reasons"][0]["message"]
    bars = mall.reports[mall.run].figures[section["figures"][0]]["data"]
    shares = report["segment_mix"]["shares"]
    assert [b["y"] for b in bars] == [[s["name"] for s in shares]] * 2
    assert [b["x"] for b in bars] == [pytest.approx([s["reference_share"] for s in shares]),
                                      pytest.approx([s["current_share"] for s in shares])]
    features = sorted(report["features"], key=lambda f: -f["psi"])[:10]
    assert [(r[0], r[1]) for r in section["rows"]] == [
        (f["feature"], f"{f['psi']:.3f}") for f in features]


def test_the_dashboard_draws_the_same_sections(mall: Mall) -> None:
    written = mall.reports[mall.run]
    with Workspace.open(mall.folder, read_only=True, create=False) as ws:
        page = dashboard_layout(ws, mall.run)
        check = latest_monitoring(ws, mall.run)
        assert page == stored_layout(ws, mall.run) and check == stored_monitoring(ws, mall.run)
        sections = build_sections(page) + build_sections(check)
    assert [s.key for s in sections] == [k for k in written.keys
                                         if k.startswith(("layout", "monitoring"))]
    assert [list(s.sentences) for s in sections] == [written.sections[s.key]["p"]
                                                     for s in sections]


def test_store_pairs_are_ranked_by_lift_with_support_and_confidence() -> None:
    pair = {"store_a": "S1", "store_b": "S2", "name_a": "Nova Shoes", "name_b": "Pier Cafe",
            "together": 60, "support": 0.0234, "confidence_a_to_b": 0.41, "lift": 2.5}
    weaker = {**pair, "name_b": "Loom", "together": 35, "support": 0.01, "lift": 1.4}
    layout = StoredLayout("0002", {"segments": [], "pairs": {
        "unit": "basket", "units": 2_564, "multi_store_units": 1_300, "min_together": 30,
        "pairs": [weaker, pair]}})
    main, pairs = build_sections(layout)
    assert main.sentences == (
        "2 store pairs were bought from together in 30 baskets or more (of 2,564 baskets, "
        "1,300 of them with more than one store); the strongest is Nova Shoes with Pier "
        "Cafe: 60 baskets, lift 2.5.",)
    assert pairs.key == "layout-pairs" and pairs.table is not None
    assert pairs.table.columns == ("stores", "baskets together", "support", "confidence",
                                   "lift")
    assert pairs.table.rows == (("Nova Shoes + Pier Cafe", "60", "2.3%", "41%", "2.50"),
                                ("Nova Shoes + Loom", "35", "1.0%", "41%", "1.40"))
