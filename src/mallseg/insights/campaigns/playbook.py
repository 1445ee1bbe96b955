"""A playbook per segment: what worked, who responds anyway, who was harmed, in words.

Every word rests on the numbers beside it:

- **worked**: the response rate or spend per head rose, significantly after the
  Benjamini-Hochberg correction, with the whole interval above zero;
- **harmed**: one of them fell, significantly, with the whole interval below zero (and
  none rose);
- **responds anyway**: the offer made no significant difference, yet the segment's held-out
  customers responded more than the campaign's held-out customers as a whole (the lower
  bound of their Wilson interval is above the campaign's holdout rate): sending them the
  offer buys little;
- everything else measured is inconclusive; cells too small to judge are listed apart.

Examples
--------
>>> from mallseg.insights.campaigns.cells import UpliftCell, UpliftEstimate
>>> up = UpliftEstimate("response_rate", 0.3, 0.1, 0.2, 0.09, 0.31, 0.0004, 0.0008, True,
...                     100, 100, 30, 10)
>>> cell = UpliftCell("k", "young", "measured", 100, 100, response=up)
>>> book = build_playbook([cell], {}, {"k": {"name": "Spring", "channel": "app"}})
>>> print(book[0].summary)
Responds to: Spring (app).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mallseg.insights.campaigns.cells import UpliftCell, UpliftEstimate
from mallseg.insights.campaigns.inference import wilson_interval

__all__ = ["Finding", "FindingKind", "SegmentPlaybook", "build_playbook"]

FindingKind = Literal["worked", "responds_anyway", "harmed"]


def _points(value: float) -> str:
    return f"{value * 100:+.1f} points"


def _share(value: float) -> str:
    return f"{value * 100:.1f}%"


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _effect(estimate: UpliftEstimate) -> str:
    level = f"{estimate.confidence * 100:.0f}% CI"
    if estimate.metric == "response_rate":
        return (f"response {_points(estimate.uplift)} ({level} {estimate.low * 100:+.1f} to "
                f"{estimate.high * 100:+.1f}; {_share(estimate.treated)} targeted vs "
                f"{_share(estimate.holdout)} held out; adjusted p {_p(estimate.p_adjusted)})")
    what = "spend per head" if estimate.metric == "spend_per_head" else "visits per head"
    return (f"{what} {estimate.uplift:+.2f} ({level} {estimate.low:+.2f} to "
            f"{estimate.high:+.2f}; {estimate.treated:.2f} targeted vs {estimate.holdout:.2f} "
            f"held out; adjusted p {_p(estimate.p_adjusted)})")


@dataclass(frozen=True)
class Finding:
    """One campaign's verdict for one segment, with the estimates it rests on."""

    kind: FindingKind
    campaign_id: str
    campaign_name: str | None
    channel: str | None
    offer: str | None
    estimates: tuple[UpliftEstimate, ...]
    sentence: str
    campaign_holdout_rate: float | None = None
    """For ``responds_anyway``: the holdout response rate of the whole campaign."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "kind": self.kind,
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "channel": self.channel,
            "offer": self.offer,
            "estimates": [e.to_dict() for e in self.estimates],
            "sentence": self.sentence,
            "campaign_holdout_rate": self.campaign_holdout_rate,
        }


@dataclass(frozen=True)
class SegmentPlaybook:
    """What the campaigns did for one segment."""

    segment: str
    worked: tuple[Finding, ...]
    responds_anyway: tuple[Finding, ...]
    harmed: tuple[Finding, ...]
    inconclusive: tuple[str, ...]
    """Campaigns measured on this segment without a significant effect (or a clear
    "responds anyway")."""
    too_small: tuple[str, ...]
    """Campaigns with too few of this segment's customers in an arm to judge."""
    summary: str

    @property
    def channels_that_worked(self) -> tuple[str, ...]:
        """Channels of the campaigns that worked, the clearest finding's first."""
        seen: list[str] = []
        for finding in self.worked:
            if finding.channel and finding.channel not in seen:
                seen.append(finding.channel)
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "segment": self.segment,
            "worked": [f.to_dict() for f in self.worked],
            "responds_anyway": [f.to_dict() for f in self.responds_anyway],
            "harmed": [f.to_dict() for f in self.harmed],
            "inconclusive": list(self.inconclusive),
            "too_small": list(self.too_small),
            "channels_that_worked": list(self.channels_that_worked),
            "summary": self.summary,
        }


def _label(campaign_id: str, info: Mapping[str, Any]) -> str:
    name = info.get("name") or campaign_id
    channel = info.get("channel")
    return f"{name} ({channel})" if channel else str(name)


def _finding(
    kind: FindingKind, cell: UpliftCell, estimates: tuple[UpliftEstimate, ...],
    info: Mapping[str, Any], sentence: str, campaign_rate: float | None = None,
) -> Finding:
    return Finding(
        kind=kind, campaign_id=cell.campaign_id, campaign_name=info.get("name"),
        channel=info.get("channel"), offer=info.get("offer"), estimates=estimates,
        sentence=sentence, campaign_holdout_rate=campaign_rate,
    )


def _judge(
    cell: UpliftCell, whole: UpliftCell | None, info: Mapping[str, Any]
) -> Finding | None:
    label = _label(cell.campaign_id, info)
    measured = cell.estimates()
    up = tuple(e for e in measured if e.direction == "positive")
    down = tuple(e for e in measured if e.direction == "negative")
    if up and not down:
        effects = "; ".join(_effect(e) for e in up)
        return _finding("worked", cell, up, info, f"{label} worked: {effects}.")
    if down:
        effects = "; ".join(_effect(e) for e in down)
        return _finding("harmed", cell, down, info, f"{label} did harm: {effects}.")
    response = cell.response
    if response is None or response.holdout_events is None or whole is None:
        return None
    if whole.response is None:
        return None
    base = whole.response.holdout
    low, high = wilson_interval(response.holdout_events, response.n_holdout,
                                response.confidence)
    if float(low) <= base:
        return None
    level = f"{response.confidence * 100:.0f}% CI"
    sentence = (
        f"{label}: {_share(response.holdout)} of this segment's held-out customers responded "
        f"without the offer ({level} {_share(float(low))} to {_share(float(high))}), above "
        f"{_share(base)} for all the campaign's held-out customers, and the offer made no "
        f"significant difference ({_effect(response)}): sending it buys little."
    )
    return _finding("responds_anyway", cell, (response,), info, sentence, base)


def _summary(worked: list[Finding], anyway: list[Finding], harmed: list[Finding],
             inconclusive: list[str], too_small: list[str],
             campaigns: Mapping[str, Mapping[str, Any]]) -> str:
    parts = []
    for title, findings in (("Responds to", worked),
                            ("Responds without being targeted to", anyway),
                            ("Harmed by", harmed)):
        if findings:
            names = ", ".join(_label(f.campaign_id, campaigns.get(f.campaign_id, {}))
                              for f in findings)
            parts.append(f"{title}: {names}.")
    if not parts:
        parts.append("No campaign made a significant difference to this segment"
                     f" ({len(inconclusive)} measured).")
    if too_small:
        parts.append(f"Too few customers to judge {len(too_small)} campaign"
                     f"{'s' if len(too_small) != 1 else ''}.")
    return " ".join(parts)


def build_playbook(
    cells: Sequence[UpliftCell],
    whole_campaigns: Mapping[str, UpliftCell],
    campaigns: Mapping[str, Mapping[str, Any]],
) -> list[SegmentPlaybook]:
    """One playbook per segment from its cells.

    Parameters
    ----------
    cells:
        Segment cells (``segment`` not ``None``).
    whole_campaigns:
        The whole-campaign cell of each campaign, by campaign id.
    campaigns:
        ``name``, ``channel``, ``offer`` of each campaign, by campaign id.

    Returns
    -------
    list of SegmentPlaybook
        Sorted by segment. Findings that worked or harmed come clearest first (the
        largest effect relative to the width of its interval); "responds anyway" findings
        highest holdout response first.

    Examples
    --------
    >>> from mallseg.insights.campaigns.cells import UpliftCell
    >>> book = build_playbook([UpliftCell("k", "s", "too_small", 12, 2)], {}, {})
    >>> print(book[0].summary)
    No campaign made a significant difference to this segment (0 measured). Too few \
customers to judge 1 campaign.
    """
    by_segment: dict[str, list[UpliftCell]] = {}
    for cell in cells:
        if cell.segment is not None:
            by_segment.setdefault(cell.segment, []).append(cell)
    books = []
    for segment in sorted(by_segment):
        worked: list[Finding] = []
        anyway: list[Finding] = []
        harmed: list[Finding] = []
        inconclusive: list[str] = []
        too_small: list[str] = []
        for cell in by_segment[segment]:
            if cell.status == "too_small":
                too_small.append(cell.campaign_id)
                continue
            if cell.status != "measured":
                continue
            finding = _judge(cell, whole_campaigns.get(cell.campaign_id),
                             campaigns.get(cell.campaign_id, {}))
            if finding is None:
                inconclusive.append(cell.campaign_id)
            else:
                {"worked": worked, "responds_anyway": anyway, "harmed": harmed}[
                    finding.kind].append(finding)

        def strength(finding: Finding) -> float:
            return -max(abs(e.uplift) / max(abs(e.high - e.low), 1e-12)
                        for e in finding.estimates)

        worked.sort(key=strength)
        harmed.sort(key=strength)
        anyway.sort(key=lambda f: -(f.estimates[0].holdout))
        books.append(SegmentPlaybook(
            segment=segment, worked=tuple(worked), responds_anyway=tuple(anyway),
            harmed=tuple(harmed), inconclusive=tuple(inconclusive),
            too_small=tuple(too_small),
            summary=_summary(worked, anyway, harmed, inconclusive, too_small, campaigns),
        ))
    return books
