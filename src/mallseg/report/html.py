"""Sections to one self-contained HTML page (the report), and the pieces pages share.

The page holds everything inline: the CSS, every figure as a JSON spec, Plotly's
JavaScript once (read from the installed plotly package), and a short script that draws
each chart into its slot. It opens from disk with no server and no network. JSON inside
``<script>`` is written with ``<``, ``>`` and ``&`` escaped, so no text from the data
(a store called ``</script>``) can end the script early.

Examples
--------
>>> from mallseg.report.sections import Section
>>> page = render_report([Section("intro", "Intro", ("Hello <there>.",))], title="T")
>>> "Hello &lt;there&gt;." in page, page.count("<script src=")
(True, 0)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from mallseg import __version__
from mallseg.report.charts.style import segment_colour
from mallseg.report.sections import Section, unique_keys

__all__ = ["figure_payload", "plotly_javascript", "render_report", "report_environment",
           "script_json"]


@cache
def report_environment() -> jinja2.Environment:
    """The Jinja2 environment of the report's templates (autoescaped)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("mallseg.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    environment.globals["colour"] = segment_colour
    return environment


@cache
def plotly_javascript() -> str:
    """Plotly's JavaScript bundle, from the installed plotly package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def script_json(payload: Any) -> Markup:
    r"""``payload`` as JSON safe to place inside a ``<script>`` element.

    >>> str(script_json({"name": "</script>"}))
    '{"name":"\\u003c/script\\u003e"}'
    """
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("&", "\\u0026"))


def figure_payload(sections: Sequence[Section]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Every figure's spec by id, and each section's figure ids in order.

    >>> from mallseg.report.sections import Section
    >>> specs, ids = figure_payload([Section("a", "A")])
    >>> specs, ids
    ({}, {'a': []})
    """
    specs: dict[str, Any] = {}
    ids: dict[str, list[str]] = {}
    for section in sections:
        ids[section.key] = []
        for index, spec in enumerate(section.figure_specs()):
            figure_id = f"{section.key}-{index}"
            specs[figure_id] = _finite(spec)
            ids[section.key].append(figure_id)
    return specs, ids


def render_report(
    sections: Sequence[Section], *, title: str, subtitle: str = "",
    generated: datetime | None = None,
) -> str:
    """The report page of ``sections`` (marketer sections first, then the analyst's)."""
    unique_keys(sections)
    ordered = [s for s in sections if s.audience == "marketer"] + \
        [s for s in sections if s.audience != "marketer"]
    specs, ids = figure_payload(ordered)
    moment = generated or datetime.now(UTC)
    template = report_environment().get_template("report.html.j2")
    return template.render(
        title=title, subtitle=subtitle, sections=ordered, figure_ids=ids,
        figures_json=script_json(specs), plotly_js=Markup(plotly_javascript()),
        version=__version__, generated=moment.strftime("%Y-%m-%d %H:%M UTC"),
    )


def _finite(value: Any) -> Any:
    """NaN and infinities become null (JSON has neither)."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
