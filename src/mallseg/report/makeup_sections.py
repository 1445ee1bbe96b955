"""The report's section on each segment's make-up by gender and age band.

A run keeps its make-up table with it (``sensitive_makeup``, see ``mallseg makeup``): per
segment and group, the share of the segment's customers in the group next to the share of
all customers. The section says which segments may stand in for gender or age (a share 20
points or more above the population's) and shows the largest differences; a cell under
the workspace's minimum group size has no figures and is not shown.

Examples
--------
>>> payload = {"population": 100, "proxy_points": 20.0, "flags": [], "rows": [
...     {"segment": "A", "attribute": "gender", "group": "female", "customers": 40,
...      "segment_size": 50, "share": 0.8, "population_share": 0.6,
...      "difference_points": 20.0},
...     {"segment": "B", "attribute": "gender", "group": "female", "customers": None,
...      "segment_size": 50, "share": None, "population_share": None,
...      "difference_points": None}]}
>>> section = makeup_section(payload)
>>> section.table.rows
(('A', 'gender', 'female', '80%', '60%', '+20 pts'),)
>>> section.sentences[0].split(",")[0]
"No segment's share of a gender or age band exceeds the population's by 20 points or more"
"""

from __future__ import annotations

from typing import Any

from mallseg.report.sections import Section, SectionTable

__all__ = ["MAKEUP_INSIGHT", "makeup_section"]

MAKEUP_INSIGHT = "sensitive_makeup"
"""The kind under which a run keeps its make-up."""

_SHOWN = 12
"""Most rows of the table: the largest differences."""


def makeup_section(payload: dict[str, Any]) -> Section:
    """The make-up section from what the run kept."""
    points = float(payload.get("proxy_points") or 20.0)
    flags = tuple(str(f) for f in payload.get("flags") or ())
    rows = [r for r in payload.get("rows") or ()
            if r.get("difference_points") is not None and r.get("group") != "unknown"]
    rows.sort(key=lambda r: -abs(float(r["difference_points"])))
    sentences = [
        f"{len(flags)} segments may stand in for gender or age: their share of a group is "
        f"{points:.0f} points or more above all customers'." if flags else
        f"No segment's share of a gender or age band exceeds the population's by {points:.0f} "
        "points or more, so no segment stands in for one of them."]
    sentences.append("Whether or not gender and age are segmentation features (`mallseg "
                     "settings`), this is how each segment is made up against everyone; "
                     "groups under the minimum group size are not shown.")
    table = SectionTable(
        ("segment", "attribute", "group", "share", "all customers", "difference"),
        tuple((str(r["segment"]), str(r["attribute"]), str(r["group"]),
               f"{float(r['share']):.0%}", f"{float(r['population_share']):.0%}",
               f"{float(r['difference_points']):+.0f} pts") for r in rows[:_SHOWN]),
        caption="Largest differences from all customers")
    return Section("makeup", "Make-up by gender and age", tuple(sentences), table=table,
                   bullets=flags)
