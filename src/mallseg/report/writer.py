"""Write the self-contained HTML report of a segmentation run: :func:`write_report`.

The report is written for a marketer (what the segments are, how sure we are, what to do
for each) with a short method section for the data scientist. It carries aggregates only:
no customer id, no customer-level row beyond the anonymous points of the customers' map.
Insight results passed in ``insights`` add their sections through the section builders
registered for their types; by default the loyalty and layout kept with the run and its
latest drift check are shown, and the campaigns are measured against their holdouts when
the workspace has exposures.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> from mallseg.app.segment import SegmentRequest, segment_customers
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     _ = segment_customers(ws, SegmentRequest(lens="classic", k=5, n_resamples=2))
>>> result = write_report(folder / "ws")
>>> result.path.name, len(result.sections), result.bytes > 1_000_000
('report-run-0001.html', 9, True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# importing this module registers the segmentation's section builders
import mallseg.report.segment_sections  # noqa: F401
from mallseg.report.campaign_sections import measure_campaigns
from mallseg.report.facts import gather_segmentation_facts
from mallseg.report.html import render_report
from mallseg.report.layout_sections import stored_layout
from mallseg.report.loyalty_sections import stored_loyalty
from mallseg.report.makeup_sections import MAKEUP_INSIGHT, makeup_section
from mallseg.report.monitoring_sections import stored_monitoring
from mallseg.report.sections import Section, build_sections, has_section_builder
from mallseg.workspace import Workspace

__all__ = ["REPORTS_FOLDER", "ReportResult", "report_sections", "write_report"]

log = logging.getLogger(__name__)

REPORTS_FOLDER = "reports"
"""Folder of the workspace where reports go by default."""


@dataclass(frozen=True)
class ReportResult:
    """A written report.

    Attributes
    ----------
    path:
        The HTML file.
    sections:
        Keys of its sections, in order.
    bytes:
        Size of the file.
    run_id:
        The segmentation run it reports on.

    Examples
    --------
    >>> ReportResult(Path("r.html"), ("overview",), 10, "0001").to_dict()["path"]
    'r.html'
    """

    path: Path
    sections: tuple[str, ...]
    bytes: int
    run_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"path": str(self.path), "sections": list(self.sections), "bytes": self.bytes,
                "run_id": self.run_id}


def report_sections(
    workspace: Workspace, run_id: str | None = None, insights: Sequence[object] | None = None
) -> tuple[str, list[Section]]:
    """The run id and the report's sections: the segmentation's, then each insight's.

    ``insights=None`` adds what the workspace kept for the run and what its data supports:
    the loyalty and layout results (``mallseg loyalty``, ``mallseg layout``), the campaigns
    against their holdouts (when there are exposures) and the run's latest drift check
    (``mallseg monitor``).

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When there is no such segmentation run.
    LookupError
        When the run kept no feature snapshot or assignments.
    TypeError
        When an insight has no registered section builder.
    """
    for insight in insights or ():  # before any work: a report without them would mislead
        if not has_section_builder(insight):
            raise TypeError(f"the report cannot show a {type(insight).__name__}: no section "
                            "builder is registered for it")
    facts = gather_segmentation_facts(workspace, run_id)
    sections = build_sections(facts)
    method = [s for s in sections if s.key == "method"]
    sections = [s for s in sections if s.key != "method"]
    makeup = workspace.insight(facts.view.run_id, MAKEUP_INSIGHT)
    if makeup is not None:  # the segments' make-up belongs with the segments
        sections.append(makeup_section(makeup))
    if insights is None:
        run = facts.view.run_id
        found = (stored_loyalty(workspace, run), measure_campaigns(workspace, run),
                 stored_layout(workspace, run), stored_monitoring(workspace, run))
        insights = [i for i in found if i is not None]
    for insight in insights:
        sections.extend(build_sections(insight))
    return facts.view.run_id, sections + method


def write_report(
    workspace: Workspace | str | Path, run_id: str | None = None, out: str | Path | None = None,
    *, insights: Sequence[object] | None = None,
) -> ReportResult:
    """Write the report of segmentation run ``run_id`` (default: the latest).

    Parameters
    ----------
    workspace:
        An open workspace, or its folder (then opened read-only).
    run_id:
        The segmentation run; ``None`` for the latest.
    out:
        The HTML file; default ``<workspace>/reports/report-run-<id>.html``.
    insights:
        Insight results to add as sections (each needs a registered section builder);
        ``None``: the loyalty and layout kept with the run (``mallseg loyalty``,
        ``mallseg layout``), the campaigns measured against their holdouts and the run's
        latest drift check (``mallseg monitor``), when the workspace has them.

    Raises
    ------
    mallseg.workspace.WorkspaceError
        When there is no workspace at that folder.
    mallseg.workspace.RunNotFoundError
        When there is no such run (the message names near matches).
    LookupError
        When the run kept no feature snapshot or assignments.
    OSError
        When the file cannot be written.
    """
    if not isinstance(workspace, Workspace):
        with Workspace.open(workspace, read_only=True, create=False) as opened:
            return write_report(opened, run_id, out, insights=insights)
    chosen_run, sections = report_sections(workspace, run_id, insights)
    path = Path(out) if out is not None else \
        workspace.folder / REPORTS_FOLDER / f"report-run-{chosen_run}.html"
    record = workspace.get_run(chosen_run, "segment")
    reference = record.reference_time.date().isoformat() if record.reference_time else "today"
    page = render_report(
        sections, title=f"Customer segments of {workspace.folder.name}",
        subtitle=f"Segmentation run {chosen_run}, customers as of {reference}",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    data = page.encode("utf-8")
    path.write_bytes(data)
    log.info("report of run %s written to %s (%d bytes)", chosen_run, path, len(data))
    return ReportResult(path, tuple(s.key for s in sections), len(data), chosen_run)
