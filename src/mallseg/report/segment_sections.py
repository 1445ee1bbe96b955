"""The sections of a segmentation run: overview, one per segment, certainty and method.

Registered as the section builder of
:class:`~mallseg.report.facts.SegmentationFacts`; the dashboard calls the single
builders (:func:`overview_section`, :func:`segment_section`, ...) for its pages.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> from mallseg.app.segment import SegmentRequest, segment_customers
>>> from mallseg.report.facts import gather_segmentation_facts
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     _ = segment_customers(ws, SegmentRequest(lens="classic", k=5, n_resamples=2))
...     facts = gather_segmentation_facts(ws)
>>> [s.key for s in build_sections(facts)]  # doctest: +NORMALIZE_WHITESPACE
['overview', 'segment-0', 'segment-1', 'segment-2', 'segment-3', 'segment-4', 'certainty',
 'method']
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mallseg.report.actions import suggest_actions
from mallseg.report.charts.activity import (
    hours_by_segment_figure,
    top_stores_figure,
    visit_hours_figure,
)
from mallseg.report.charts.segments import (
    certainty_figure,
    distinguishing_figure,
    feature_label,
    segment_profile_figure,
    segment_sizes_figure,
    top_categories_figure,
)
from mallseg.report.charts.selection import (
    algorithm_name,
    candidates_figure,
    customer_map_figure,
)
from mallseg.report.facts import SegmentationFacts
from mallseg.report.projection import Projection
from mallseg.report.run_view import SegmentationView
from mallseg.report.sections import Section, SectionTable, build_sections, section_builder
from mallseg.report.wording import (
    confidence_sentence,
    stability_sentence,
    stability_word,
    structure_verdict,
)
from mallseg.segment.descriptions import feature_phrase

__all__ = [
    "build_sections",
    "certainty_section",
    "method_section",
    "overview_section",
    "segment_section",
    "segmentation_sections",
    "view_names",
]


@section_builder(SegmentationFacts)
def segmentation_sections(facts: SegmentationFacts) -> list[Section]:
    """Overview, one section per segment (unassigned last), certainty, method."""
    view = facts.view
    segments = [int(s) for s in view.segments["segment"]]
    return [overview_section(view, facts.projection, facts.hours, facts.hours_source),
            *(segment_section(facts, s) for s in segments), certainty_section(view),
            method_section(view)]


def overview_section(
    view: SegmentationView, projection: Projection | None = None,
    hours: pd.DataFrame | None = None, hours_source: str = "visits", *,
    link_customers: bool = False,
) -> Section:
    """Who the customers are in a few numbers, the segments' sizes and the customers' map.

    With ``link_customers`` the map's points and the size bars carry what a page needs to
    open the customer or the segment on click.
    """
    names = view_names(view)
    named = view.segments[view.segments["segment"] >= 0]
    largest = named.sort_values("size", ascending=False).iloc[0] if len(named) else None
    sentences = [
        f"{view.n_customers:,} customers fall into {view.k} segments. {view.reference}",
    ]
    if largest is not None:
        sentences.append(f"The largest, {largest['name']}, holds {int(largest['size']):,} "
                         f"customers ({float(largest['share']):.0%}).")
    unassigned = view.segments[view.segments["segment"] < 0]
    if len(unassigned):
        row = unassigned.iloc[0]
        sentences.append(f"{int(row['size']):,} customers ({float(row['share']):.0%}) are close "
                         "to no segment and stay unassigned.")
    if view.selection is not None:
        sentences.append(_why_sentence(view.selection))
    figures = [segment_sizes_figure(view.segments)]
    if projection is not None:
        figures.append(customer_map_figure(projection, names, link_customers=link_customers))
    heat = hours_by_segment_figure(hours, names, what=hours_source) if hours is not None \
        else None
    if heat is not None:
        figures.append(heat)
    bullets = tuple(f"{row['name']}: {row['description']}" for _, row in view.segments.iterrows())
    return Section("overview", "The segments at a glance", tuple(sentences), tuple(figures),
                   table=_key_numbers(view), bullets=bullets, table_first=True)


def _key_numbers(view: SegmentationView) -> SectionTable:
    """The run in five numbers, one row."""
    selection = view.selection or {}
    stability = (selection.get("stability") or {}).get("mean_ari")
    segments = view.segments[view.segments["segment"] >= 0]
    weights = segments["size"] / max(int(segments["size"].sum()), 1)
    confidence = float((weights * segments["mean_confidence"]).sum()) \
        if segments["mean_confidence"].notna().all() and len(segments) else float("nan")
    structure = selection.get("structure") or {}
    verdict = ("natural groups" if structure.get("has_structure") else "a continuum") \
        if structure else "RFM score cells"
    reference = view.record.reference_time
    return SectionTable(
        ("customers", "segments", "stability", "mean confidence", "structure", "as of"),
        ((f"{view.n_customers:,}", str(view.k), _fixed(stability, 2), _fixed(confidence, 2),
          verdict, reference.strftime("%Y-%m-%d") if reference else "today"),),
        caption="Key numbers")


def segment_section(facts: SegmentationFacts, segment: int) -> Section:
    """One segment: what sets it apart with the numbers, what to do, its charts."""
    view, profiles = facts.view, facts.profiles
    row = view.segment_row(segment)
    meanings = view.schema.meanings
    name = str(row["name"])
    sentences = [str(row["description"])]
    if bool(row.get("suppressed", False)):
        sentences.append(f"It holds {int(row['size']):,} customers, fewer than the "
                         f"workspace's minimum group size of {view.group_rule.k}, so no figure "
                         "about them is shown.")
        return Section(f"segment-{segment}", name, tuple(sentences), segment=segment)
    top = profiles.distinguishing(segment, n=3)
    if len(top):
        sentences.append("What sets it apart most: " + "; ".join(
            feature_phrase(r, meanings) for _, r in top.iterrows()) + ".")
    if not bool(row["enough_data"]):
        sentences.append(f"Most of its customers lack the features this segmentation used "
                         f"(coverage {float(row['coverage']):.0%}): its numbers describe the "
                         "few who have them.")
    if segment >= 0 and row["mean_confidence"] == row["mean_confidence"]:
        certainty = (f"Its customers' mean confidence is {float(row['mean_confidence']):.2f} "
                     f"({float(row['confident_share']):.0%} at 0.8 or more)")
        if row["stability"] == row["stability"]:
            certainty += (f"; it keeps {float(row['stability']):.0%} of its members together "
                          f"when refitted ({stability_word(float(row['stability']))})")
        sentences.append(certainty + ".")
    figures = [
        segment_profile_figure(profiles, segment, name=name, meanings=meanings),
        distinguishing_figure(profiles, segment, meanings=meanings),
    ]
    optional = (
        top_categories_figure(profiles, segment, name=name),
        top_stores_figure(facts.stores, segment, name=name),
        visit_hours_figure(facts.hours, segment, what=facts.hours_source),
    )
    figures.extend(f for f in optional if f is not None)
    actions = tuple(suggest_actions(profiles, segment, meanings=meanings)) if segment >= 0 \
        else ("Check why these customers fit no segment: they often have too little history "
              "to place.",)
    return Section(f"segment-{segment}", name, tuple(sentences), tuple(figures),
                   segment=segment, bullets=actions)


def certainty_section(view: SegmentationView) -> Section:
    """How the segmentation was chosen and how sure we are, in plain words."""
    selection = view.selection
    if selection is None:
        return Section("certainty", "How the segments were made", (
            "These are RFM groups: recency, frequency and spend are scored in quintiles of "
            "the buyers, and each (recency, frequency-and-spend) cell maps to a standard "
            "group; nothing is estimated, so there is no stability to measure.",))
    sentences = [
        structure_verdict(selection.get("structure") or {}),
        stability_sentence(selection, view_names(view)),
        confidence_sentence(view.segments),
        _why_sentence(selection),
    ]
    figures = [certainty_figure(view.segments)]
    candidates = selection.get("candidates") or []
    if len({int(c["k"]) for c in candidates}) > 1:  # one k tried: nothing to compare
        figures.append(candidates_figure(candidates))
    return Section("certainty", "How they were chosen and how sure we are", tuple(sentences),
                   tuple(figures))


def method_section(view: SegmentationView) -> Section:
    """For the data scientist: features, reference time, algorithm, candidates."""
    selection = view.selection or {}
    meanings = view.schema.meanings
    features = ", ".join(feature_label(f, meanings) for f in view.model_features)
    sentences = [
        f"Run {view.run_id}, lens {view.lens}. {view.reference}",
        f"Features ({len(view.model_features)}): {features}.",
    ]
    if selection:
        sizes = selection.get("sample_sizes") or {}
        sentences.append(
            f"Algorithm: {algorithm_name(str(selection.get('algorithm')))} with "
            f"k={selection.get('k')} ({selection.get('regime')}); candidates scored on "
            f"{int(sizes.get('search', view.n_customers)):,} customers, the winner refitted "
            f"on {int(sizes.get('refit', view.n_customers)):,}.")
        sentences.append(str(selection.get("explanation", "")))
    dropped = selection.get("dropped_features") or {}
    bullets = tuple(f"Left out {f}: {reason}" for f, reason in dropped.items())
    bullets += tuple(str(n) for n in selection.get("notes") or [])
    if view.model_problem:
        bullets += (f"The customers' map is missing: {view.model_problem}.",)
    return Section("method", "Method (for the data scientist)", tuple(sentences),
                   table=_candidate_table(selection.get("candidates") or []),
                   audience="analyst", bullets=bullets)


def view_names(view: SegmentationView) -> dict[int, str]:
    """Segment id -> name of every segment of ``view``, unassigned included."""
    return {int(s): str(n) for s, n in zip(view.segments["segment"], view.segments["name"],
                                           strict=True)}


def _why_sentence(selection: dict[str, Any]) -> str:
    stability = float((selection.get("stability") or {}).get("mean_ari", float("nan")))
    candidates = selection.get("candidates") or []
    chosen = (f"{algorithm_name(str(selection.get('algorithm')))} with k={selection.get('k')} "
              f"(silhouette {float(selection.get('silhouette') or 0):.2f}, stability "
              f"{stability:.2f})")
    regime = str(selection.get("regime", ""))
    if regime == "fixed k":
        return (f"Why {selection.get('k')} segments: the number was set when the segmentation "
                f"was run; {chosen}.")
    if regime == "marketing partition":
        return (f"Why {selection.get('k')} segments: with no natural groups to find, of "
                f"{len(candidates)} candidate segmentations scored, {chosen} is the finest "
                "split that stays stable under refits with every segment distinct and large "
                "enough to act on.")
    return (f"Why {selection.get('k')} segments: of {len(candidates)} candidate segmentations "
            f"scored, {chosen} separated the customers best among those stable under refits "
            "with no segment too small to act on.")


def _candidate_table(candidates: list[dict[str, Any]]) -> SectionTable | None:
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda c: int(c.get("rank") or 10**6))[:12]
    rows = tuple(
        (str(c.get("rank")), algorithm_name(str(c.get("algorithm"))), str(c.get("k")),
         _fixed(c.get("silhouette"), 3), _fixed(c.get("stability"), 2),
         _fixed(c.get("smallest_segment_share"), 3), "yes" if c.get("eligible") else "no",
         str(c.get("reason") or ""))
        for c in ranked
    )
    return SectionTable(("rank", "algorithm", "k", "silhouette", "stability",
                         "smallest share", "eligible", "why not chosen / chosen"), rows,
                        caption=f"The best {len(rows)} of {len(candidates)} candidates.")


def _fixed(value: object, digits: int) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if number != number else f"{number:.{digits}f}"
