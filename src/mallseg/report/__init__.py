"""Charts and reports: results in, Plotly figures, sections and a self-contained HTML file out.

- :mod:`~mallseg.report.charts`: pure functions from results and small frames to figures;
- :mod:`~mallseg.report.sections`: :class:`Section` values and the registry of section
  builders (one per result type: a new insight plugs in as one more builder);
- :mod:`~mallseg.report.facts`: what a segmentation run's sections show, read once;
- :func:`write_report`: the HTML report a marketer can e-mail, opening from disk with no
  server and no network.
"""

from mallseg.report.sections import (
    Section,
    SectionTable,
    build_sections,
    has_section_builder,
    section_builder,
)
from mallseg.report.writer import ReportResult, report_sections, write_report

__all__ = [
    "ReportResult",
    "Section",
    "SectionTable",
    "build_sections",
    "has_section_builder",
    "report_sections",
    "section_builder",
    "write_report",
]
