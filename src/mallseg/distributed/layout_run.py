"""The layout insight on Spark as one use case: ``mallseg layout --engine spark``.

:func:`layout_on_spark` breaks a mall down by a segmentation's segments on Spark
(:func:`~mallseg.distributed.layout.layout_with_spark`), from either

- a workspace run (any run, DuckDB's or Spark's): the workspace's canonical tables are
  exported to Parquet (``exports/spark-inputs``, as for ``segment --engine spark``) and the
  run's assignments by DuckDB to a scratch Parquet file, removed afterwards; the result is
  kept with the run, where ``mallseg report`` and the service read it, as
  :func:`mallseg.app.insights.layout_for_run` keeps DuckDB's; or
- a folder of canonical tables and, optionally, a segmentation's ``assignments/``
  (``customer_id`` and ``segment_name``; without it everyone is one segment).

The minimum group size holds as in :func:`~mallseg.app.insights.layout_for_run`: the
fewest customers behind an affinity cell and the fewest units behind a store pair are at
least the workspace's ``min_group_size`` (a folder: the default,
:data:`~mallseg.core.group_size.DEFAULT_MIN_GROUP_SIZE`), and heat maps of smaller groups
lose their counts (:func:`~mallseg.app.small_groups.layout_shown`).

Examples
--------
>>> import tempfile, pandas as pd
>>> folder = tempfile.mkdtemp()
>>> pd.DataFrame({"customer_id": ["c1"]}).to_parquet(f"{folder}/customers.parquet")
>>> layout_on_spark(SparkLayoutRequest(inputs=folder)).result.message[:22]
'No purchases or visits'
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from mallseg.app.insights import LayoutInsight
from mallseg.app.small_groups import layout_shown
from mallseg.core.group_size import DEFAULT_RULE, GroupSizeRule
from mallseg.core.sql_text import quote_literal
from mallseg.data.consent_settings import group_size_rule
from mallseg.distributed.export import export_canonical_tables
from mallseg.distributed.layout import layout_with_spark
from mallseg.distributed.run import EXPORT_FOLDER, spark_master_name
from mallseg.distributed.session import open_spark_session
from mallseg.insights.layout import LayoutResult
from mallseg.insights.layout.analysis import LayoutSettings
from mallseg.workspace import Workspace

__all__ = ["SparkLayoutOutcome", "SparkLayoutRequest", "layout_on_spark"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SparkLayoutRequest:
    """Which segments to break the mall down by on Spark, and how.

    Attributes
    ----------
    inputs:
        Folder of canonical tables (any path Spark reads); ``None``: the workspace's.
    segments:
        With ``inputs``: Parquet of ``customer_id`` and ``segment_name`` (a
        segmentation's ``assignments/``); ``None``: everyone in one segment.
    run_id:
        Without ``inputs``: the workspace run whose segments are used (default: the
        latest).
    min_customers:
        Fewest customers behind a number shown (as ``mallseg layout`` takes it).
    remote, master:
        A Spark Connect URL, or the master of a local session (default ``local[2]``).
    """

    inputs: str | None = None
    segments: str | None = None
    run_id: str | None = None
    min_customers: int = 30
    remote: str | None = None
    master: str | None = None


@dataclass(frozen=True)
class SparkLayoutOutcome:
    """The layout computed on Spark, what it was computed from, and where it ran."""

    result: LayoutResult = field(repr=False)
    run_id: str | None
    """The workspace run it belongs to (and is kept with); ``None`` for a folder."""
    inputs: str
    segments: str | None
    master: str


def layout_on_spark(
    request: SparkLayoutRequest, workspace: Workspace | None = None, *,
    actor: str | None = None,
) -> SparkLayoutOutcome:
    """Compute the layout insight on Spark; with a workspace run, keep it with the run.

    Raises
    ------
    ValueError
        When neither inputs nor a workspace is given, segments are given without inputs,
        or the inputs or segments cannot be used (the message says which);
        :class:`~mallseg.workspace.RunNotFoundError` for an unknown run;
        :class:`~mallseg.distributed.session.SparkUnavailableError` when a local session
        is needed and Java is missing.
    """
    if request.inputs is not None:
        spark = open_spark_session(remote=request.remote, master=request.master)
        result = layout_with_spark(spark, request.inputs, request.segments,
                                   settings=_settings(request, DEFAULT_RULE))
        return SparkLayoutOutcome(layout_shown(result, DEFAULT_RULE), None, request.inputs,
                                  request.segments, request.remote or spark_master_name(spark))
    if request.segments is not None:
        raise ValueError("--segments names the segments of a folder of tables: give the "
                         "folder with --inputs, or use --run for a workspace run")
    if workspace is None:
        raise ValueError("nothing to analyse: give the folder of canonical tables (--inputs) "
                         "or a workspace")
    record = workspace.get_run(request.run_id, "segment")
    rule = group_size_rule(workspace.connection)
    inputs = workspace.exports_folder / EXPORT_FOLDER
    export_canonical_tables(workspace, inputs)
    segments = workspace.exports_folder / f"spark-segments-{uuid.uuid4().hex[:12]}.parquet"
    workspace.connection.execute(
        "COPY (SELECT customer_id, segment_name FROM segment_assignments WHERE run_id = "
        f"{quote_literal(record.run_id)}) TO {quote_literal(str(segments))} (FORMAT PARQUET)")
    try:
        spark = open_spark_session(remote=request.remote, master=request.master)
        result = layout_shown(layout_with_spark(spark, str(inputs), str(segments),
                                                settings=_settings(request, rule)), rule)
    finally:
        segments.unlink(missing_ok=True)
    if result.message is None:
        insight = LayoutInsight(record.run_id, result)
        workspace.save_insight(record.run_id, "layout", insight.to_dict(), actor=actor)
    logger.info("layout of run %s computed on Spark", record.run_id)
    return SparkLayoutOutcome(result, record.run_id, str(inputs), None,
                              request.remote or spark_master_name(spark))



def _settings(request: SparkLayoutRequest, rule: GroupSizeRule) -> LayoutSettings:
    return LayoutSettings(min_customers=rule.at_least(request.min_customers),
                          min_together=rule.at_least(LayoutSettings().min_together))
