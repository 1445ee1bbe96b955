"""One customer's explanation as a section: their segment, confidence, and what places them.

Takes any explanation shaped like :class:`mallseg.app.explain.ExplainResult` (the
application layer makes it; this layer only formats it), so the dashboard's customer page
is drawn like every other section.

Examples
--------
>>> from types import SimpleNamespace as Row
>>> explanation = Row(customer_id="C7", segment=1, segment_name="Night owls", confidence=0.93,
...                   runner_up_name="Early birds", margin=0.71, reference="As of today.",
...                   features=(Row(feature="share_visits_evening", customer_value=0.8,
...                                 segment_value=0.7, population_value=0.25, pull=2.5),))
>>> section = customer_section(explanation)
>>> section.title, section.table.rows[0][1:]
('Customer C7 is in Night owls', ('80%', '70%', '25%', '2.50'))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from mallseg.report.charts.segments import feature_label, feature_pull_figure
from mallseg.report.sections import Section, SectionTable
from mallseg.segment.descriptions import feature_text, format_value

__all__ = ["Explanation", "FeatureReasonLike", "customer_section"]


class FeatureReasonLike(Protocol):
    """One feature's part in a customer's placement."""

    @property
    def feature(self) -> str: ...  # noqa: D102
    @property
    def customer_value(self) -> float | str | None: ...  # noqa: D102
    @property
    def segment_value(self) -> float | str | None: ...  # noqa: D102
    @property
    def population_value(self) -> float | str | None: ...  # noqa: D102
    @property
    def pull(self) -> float: ...  # noqa: D102


class Explanation(Protocol):
    """Why one customer is in their segment."""

    @property
    def customer_id(self) -> str: ...  # noqa: D102
    @property
    def segment(self) -> int: ...  # noqa: D102
    @property
    def segment_name(self) -> str: ...  # noqa: D102
    @property
    def confidence(self) -> float: ...  # noqa: D102
    @property
    def runner_up_name(self) -> str | None: ...  # noqa: D102
    @property
    def margin(self) -> float: ...  # noqa: D102
    @property
    def reference(self) -> str: ...  # noqa: D102
    @property
    def features(self) -> Sequence[FeatureReasonLike]: ...  # noqa: D102


def customer_section(explanation: Explanation, meanings: Mapping[str, str] | None = None
                     ) -> Section:
    """The explanation in words, a chart of the features' pulls and a table of values."""
    reasons = list(explanation.features)
    labels = [feature_label(r.feature, meanings) for r in reasons]
    rows = []
    for label, reason in zip(labels, reasons, strict=True):
        share = feature_text(reason.feature, meanings)[2] == "share"
        rows.append((label, _shown(reason.customer_value, share),
                     _shown(reason.segment_value, share),
                     _shown(reason.population_value, share), f"{reason.pull:.2f}"))
    sentences = [f"Confidence {explanation.confidence:.2f}: the probability that this customer "
                 "belongs to the segment they are placed in."]
    if explanation.runner_up_name:
        sentences.append(f"Next closest: {explanation.runner_up_name} (margin "
                         f"{explanation.margin:.2f}).")
    sentences.append(explanation.reference)
    figures = (feature_pull_figure(
        labels, [r.pull for r in reasons],
        [f"customer {row[1]}, segment centre {row[2]}, everyone {row[3]}" for row in rows],
        title="What places this customer in the segment"),) if reasons else ()
    table = SectionTable(("feature", "this customer", "segment centre", "everyone", "pull"),
                         tuple(rows))
    return Section("customer", f"Customer {explanation.customer_id} is in "
                   f"{explanation.segment_name}", tuple(sentences), figures, table=table,
                   segment=explanation.segment)


def _shown(value: float | str | None, share: bool) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    return f"{float(value):.0%}" if share else format_value(float(value), "")
