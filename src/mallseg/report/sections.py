"""Sections: what a report or a dashboard page shows of one result, and who makes them.

A :class:`Section` is a value: a title, sentences with the numbers in them, figures and at
most one small table of aggregates. A *section builder* turns one kind of result into
sections; builders are registered per result type, so a new insight (layout,
recommendations, monitoring) joins the report and the dashboard as one more builder::

    @section_builder(LayoutResult)
    def layout_sections(result: LayoutResult) -> list[Section]:
        return [Section("layout", "Store layout", ("...",), (figure,))]

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Visitors:
...     count: int
>>> @section_builder(Visitors)
... def visitor_sections(result: Visitors) -> list[Section]:
...     return [Section("visitors", "Visitors", (f"{result.count:,} visitors.",))]
>>> [s.to_dict()["sentences"] for s in build_sections(Visitors(1200))]
[['1,200 visitors.']]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import plotly.graph_objects as go

__all__ = [
    "Audience",
    "Section",
    "SectionTable",
    "build_sections",
    "has_section_builder",
    "section_builder",
]

Audience = Literal["marketer", "analyst"]
ResultT = TypeVar("ResultT")
SectionBuilder = Callable[[Any], list["Section"]]

_BUILDERS: dict[type, SectionBuilder] = {}


@dataclass(frozen=True)
class SectionTable:
    """A small table of aggregates (never one row per customer).

    Examples
    --------
    >>> SectionTable(("k", "silhouette"), (("4", "0.52"),)).to_dict()["rows"]
    [['4', '0.52']]
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"columns": list(self.columns), "rows": [list(r) for r in self.rows],
                "caption": self.caption}


@dataclass(frozen=True)
class Section:
    """One part of a report or a page.

    Attributes
    ----------
    key:
        Unique within a report; the anchor of the section (``segment-3``).
    title:
        The heading.
    sentences:
        Plain sentences, each carrying its numbers.
    figures:
        Plotly figures, in reading order.
    table:
        An optional small table of aggregates.
    audience:
        ``marketer`` (what to know and do) or ``analyst`` (how it was computed).
    segment:
        The segment the section is about, if any.
    bullets:
        Short list items (actions to take, notes), shown after the sentences.
    table_first:
        Show the table before the figures (key numbers), not after them (details).

    Examples
    --------
    >>> section = Section("overview", "Overview", ("3 segments.",))
    >>> section.to_dict()["figures"], section.audience
    ([], 'marketer')
    """

    key: str
    title: str
    sentences: tuple[str, ...] = ()
    figures: tuple[go.Figure, ...] = ()
    table: SectionTable | None = None
    audience: Audience = "marketer"
    segment: int | None = None
    bullets: tuple[str, ...] = field(default=())
    table_first: bool = False

    def figure_specs(self) -> list[dict[str, Any]]:
        """The figures as Plotly JSON specs (``data`` and ``layout``)."""
        return [json.loads(figure.to_json()) for figure in self.figures]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (figures as Plotly specs)."""
        return {
            "key": self.key, "title": self.title, "sentences": list(self.sentences),
            "bullets": list(self.bullets), "figures": self.figure_specs(),
            "table": self.table.to_dict() if self.table is not None else None,
            "audience": self.audience, "segment": self.segment,
        }


def section_builder(
    result_type: type[ResultT],
) -> Callable[[Callable[[ResultT], list[Section]]], Callable[[ResultT], list[Section]]]:
    """Register the decorated function as the section builder of ``result_type``."""

    def register(builder: Callable[[ResultT], list[Section]]) -> Callable[[ResultT],
                                                                          list[Section]]:
        _BUILDERS[result_type] = builder
        return builder

    return register


def has_section_builder(result: object) -> bool:
    """Whether some registered builder takes ``result``.

    >>> has_section_builder(3.5)
    False
    """
    return _builder_for(result) is not None


def build_sections(result: object) -> list[Section]:
    """The sections of ``result``, from the builder registered for its type.

    Raises
    ------
    TypeError
        When no builder is registered for the result's type (or a parent type).
    """
    builder = _builder_for(result)
    if builder is None:
        known = ", ".join(sorted(t.__name__ for t in _BUILDERS)) or "none"
        raise TypeError(f"no section builder for {type(result).__name__} (known: {known})")
    return builder(result)


def unique_keys(sections: Sequence[Section]) -> list[str]:
    """Keys of ``sections``, checked to be unique.

    >>> unique_keys([Section("a", "A"), Section("b", "B")])
    ['a', 'b']
    """
    keys = [s.key for s in sections]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"section keys repeat: {repeated}")
    return keys


def _builder_for(result: object) -> SectionBuilder | None:
    for kind in type(result).__mro__:
        if kind in _BUILDERS:
            return _BUILDERS[kind]
    return None
