"""The HTML report of a simulated mall: self-contained, every segment with its numbers,
numbers that agree with the database, and nothing about any one customer."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs

from mallseg.report import write_report
from mallseg.report.charts.segments import feature_label
from mallseg.workspace import Workspace

SEGMENTS = 4
"""The fixture's k (``expected_segments``), repeated so module-level code can read it."""


class SectionParser(HTMLParser):
    """Sections of the page: key, segment, heading text, all text, chart slots."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[dict[str, Any]] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.sections.append({"key": values.get("data-section"),
                                  "segment": values.get("data-segment"),
                                  "class": values.get("class"), "title": "", "text": "",
                                  "figures": []})
        elif tag == "h2" and self.sections:
            self._in_h2 = True
        elif tag == "div" and values.get("data-figure") and self.sections:
            self.sections[-1]["figures"].append(values["data-figure"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self.sections:
            self.sections[-1]["text"] += data
            if self._in_h2:
                self.sections[-1]["title"] += data


@pytest.fixture(scope="module")
def report(mall_workspace: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Any, str, list[dict[str, Any]], dict[str, Any]]:
    out = tmp_path_factory.mktemp("report") / "mall report.html"
    result = write_report(mall_workspace, out=out)
    page = out.read_text(encoding="utf-8")
    parser = SectionParser()
    parser.feed(page)
    figures_text = re.search(r'<script type="application/json" id="mallseg-figures">(.*?)'
                             r"</script>", page, re.S)
    assert figures_text is not None
    return result, page, parser.sections, json.loads(figures_text.group(1))


@pytest.fixture(scope="module")
def truth(mall_workspace: Path) -> dict[str, Any]:
    """What the database says, computed here with plain SQL."""
    with Workspace.open(mall_workspace, read_only=True) as ws:
        con = ws.connection
        run_id = con.execute("SELECT max(run_id) FROM runs WHERE kind = 'segment'").fetchone()[0]
        sizes = dict(con.execute(
            "SELECT segment_id, count(*) FROM segment_assignments WHERE run_id = ? "
            "GROUP BY ALL", [run_id]).fetchall())
        names = dict(con.execute("SELECT segment_id, segment_name FROM segments "
                                 "WHERE run_id = ?", [run_id]).fetchall())
        stored = {int(s): json.loads(p) for s, p in con.execute(
            "SELECT segment_id, profile FROM segments WHERE run_id = ?", [run_id]).fetchall()}
        ids = [r[0] for r in con.execute("SELECT customer_id FROM customers").fetchall()]
        snapshot = f"snapshot_{run_id}_features"
        columns = [r[0] for r in con.execute(f"DESCRIBE {snapshot}").fetchall()]
        numeric = [r[0] for r in con.execute(f"DESCRIBE {snapshot}").fetchall()
                   if r[1] in ("DOUBLE", "BIGINT", "INTEGER", "FLOAT")]
        means: dict[tuple[int, str], float] = {}
        for column in numeric:
            for segment, value in con.execute(
                f'SELECT a.segment_id, avg(f."{column}") FROM {snapshot} f JOIN '
                "segment_assignments a USING (customer_id) WHERE a.run_id = ? GROUP BY ALL",
                [run_id]).fetchall():
                means[(int(segment), column)] = float(value) if value is not None else None
            everyone = con.execute(f'SELECT avg("{column}") FROM {snapshot}').fetchone()[0]
            means[(-99, column)] = float(everyone) if everyone is not None else None
        store_spend = con.execute(
            "SELECT a.segment_id, s.name, sum(t.amount) / sum(sum(t.amount)) OVER "
            "(PARTITION BY a.segment_id) FROM transactions t JOIN stores s USING (store_id) "
            "JOIN segment_assignments a ON a.customer_id = t.customer_id AND a.run_id = ? "
            "WHERE t.amount > 0 GROUP BY a.segment_id, s.name", [run_id]).fetchall()
    return {"run_id": run_id, "sizes": sizes, "names": names, "stored": stored, "ids": ids,
            "columns": columns, "means": means,
            "store_shares": {(int(s), n): float(v) for s, n, v in store_spend}}


def test_the_file_needs_no_server_and_no_network(report: Any) -> None:
    result, page, _, _ = report
    assert result.path.name == "mall report.html"
    assert result.bytes == len(page.encode("utf-8"))
    bundle = get_plotlyjs()
    assert page.count(bundle) == 1  # Plotly's JavaScript, whole and exactly once
    ours = page.replace(bundle, "")  # the bundle's own strings (its logo link) never load
    assert "<script src" not in ours.lower()
    assert "<link" not in ours.lower()
    assert re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", ours, re.I) is None
    assert "@import" not in ours and "url(" not in ours
    assert "Plotly.newPlot" in ours


def test_it_holds_every_segment_with_its_name_and_size(report: Any, truth: Any) -> None:
    _, _, sections, _ = report
    segment_sections = [s for s in sections if s["segment"] is not None
                        and int(s["segment"]) >= 0]
    assert len(segment_sections) == SEGMENTS == len([s for s in truth["sizes"] if s >= 0])
    for section in segment_sections:
        segment = int(section["segment"])
        assert section["title"].strip() == truth["names"][segment]
        size = truth["sizes"][segment]
        assert f"{size:,} customers ({size / 800:.0%})" in section["text"]
        assert len(section["figures"]) >= 4  # profile, what sets apart, categories, stores


def test_the_overview_sizes_chart_counts_the_assignments(report: Any, truth: Any) -> None:
    _, _, _, figures = report
    bars = figures["overview-0"]["data"][0]
    shown = dict(zip(bars["y"], bars["x"], strict=True))
    assert shown == {truth["names"][s]: n for s, n in truth["sizes"].items()}
    assert bars["x"] == sorted(bars["x"], reverse=True)


def test_what_sets_a_segment_apart_matches_what_the_run_stored(report: Any, truth: Any
                                                                ) -> None:
    _, _, sections, figures = report
    by_label = {feature_label(c): c for c in truth["columns"]}
    for section in sections:
        if section["segment"] is None or int(section["segment"]) < 0:
            continue
        segment = int(section["segment"])
        bars = figures[section["figures"][1]]["data"][0]
        shown = [by_label.get(label, label.split(":")[0]) for label in bars["y"]]
        stored = truth["stored"][segment]["distinguishing"]
        for feature, label in zip(stored, shown[: len(stored)], strict=True):
            assert label == feature or label == feature_label(feature), (segment, shown, stored)
        effects = bars["x"]
        assert isinstance(effects, list)
        assert all(abs(a) >= abs(b) - 1e-9 for a, b in pairwise(effects))


def test_profile_panels_show_the_segment_and_everyone_in_the_features_units(
        report: Any, truth: Any) -> None:
    _, _, sections, figures = report
    by_label = {feature_label(c): c for c in truth["columns"]}
    checked = 0
    for section in sections:
        if section["segment"] is None or int(section["segment"]) < 0:
            continue
        segment = int(section["segment"])
        spec = figures[section["figures"][0]]
        titles = [a["text"].split(": based on")[0] for a in spec["layout"]["annotations"]]
        for title, trace in zip(titles, spec["data"], strict=True):
            feature = by_label[title]
            segment_mean, everyone = truth["means"][(segment, feature)], \
                truth["means"][(-99, feature)]
            assert trace["y"] == [truth["names"][segment], "Everyone"]
            assert trace["x"][0] == pytest.approx(segment_mean, rel=1e-9)
            assert trace["x"][1] == pytest.approx(everyone, rel=1e-9)
            checked += 1
    assert checked >= SEGMENTS * 3


def test_top_stores_are_the_segments_shares_of_spend(report: Any, truth: Any) -> None:
    _, _, sections, figures = report
    checked = 0
    for section in sections:
        for figure_id in section["figures"]:
            spec = figures[figure_id]
            if spec["layout"]["title"]["text"] != "Top stores: share of spend":
                continue
            segment = int(section["segment"])
            bars = spec["data"][0]
            for label, share in zip(bars["y"], bars["x"], strict=True):
                store = label.rsplit(" (", 1)[0]
                assert share == pytest.approx(truth["store_shares"][(segment, store)])
                checked += 1
            assert bars["x"] == sorted(bars["x"], reverse=True)
    assert checked >= SEGMENTS


def test_no_customer_level_data_leaves_in_the_report(report: Any, truth: Any) -> None:
    _, page, _, figures = report
    leaked = [i for i in truth["ids"] if i in page]
    assert leaked == []
    scatter = figures["overview-1"]["data"]
    assert len(scatter) == len(truth["sizes"])  # the segments, and the set-aside if any
    assert sum(len(trace["x"]) for trace in scatter) == 800
    assert all("customdata" not in trace for trace in scatter)


def test_the_marketer_reads_first_and_the_method_comes_last(report: Any) -> None:
    result, _, sections, _ = report
    keys = [s["key"] for s in sections]
    assert keys[0] == "overview" and keys[-1] == "method"
    assert keys == list(result.sections)
    assert sections[-1]["class"] == "section section-analyst"
    certainty = next(s for s in sections if s["key"] == "certainty")["text"]
    assert "stability" in certainty and "confidence" in certainty
    assert ("fall into natural groups" in certainty) != ("do not fall into" in certainty)
