"""Each segment's make-up by gender and age band against the population.

Whether or not gender and age are segmentation features (``mallseg settings set
sensitive_features off`` keeps them out), a segment can stand in for one of them: a
segment of heavy cinema-goers that is 85% under 25 targets an age group. So every run
keeps, per segment, the share of its customers in each gender and age band next to the
share among all the run's customers, and says in words where a segment's share of a group
exceeds the population's by at least :data:`PROXY_POINTS` percentage points (for segments of
at least :data:`MIN_SEGMENT` customers, where such a share means something), with the
numbers.

Age is the customers table's ``age`` or, failing that, the age at the run's reference
time from ``birth_year``; customers without a value are counted as ``unknown``.

Examples
--------
>>> import duckdb, pandas as pd
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customers AS SELECT 'c' || i AS customer_id, "
...     "CASE WHEN i < 60 THEN 'female' ELSE 'male' END AS gender, 20 + i % 50 AS age "
...     "FROM range(100) t(i)")
>>> segments = pd.DataFrame({"customer_id": [f"c{i}" for i in range(100)],
...                          "segment": ["A" if i < 50 else "B" for i in range(100)]})
>>> result = segment_makeup(con, segments)
>>> print(result.flags[0])
A: 100% female against 60% of all customers (+40 points; 50 customers): the segment may \
stand in for gender.
>>> [r for r in result.rows if r["segment"] == "B" and r["group"] == "male"][0]
{'segment': 'B', 'attribute': 'gender', 'group': 'male', 'customers': 40, 'segment_size': 50, \
'share': 0.8, 'population_share': 0.4, 'difference_points': 40.0}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from mallseg.core.group_size import GroupSizeRule
from mallseg.data.consent_settings import group_size_rule
from mallseg.workspace import Workspace

__all__ = ["AGE_BANDS", "MIN_SEGMENT", "PROXY_POINTS", "MakeupResult", "makeup_for_run",
           "save_makeup", "segment_makeup"]

INSIGHT = "sensitive_makeup"
"""The kind under which a run keeps its make-up (``insight_results``; the report reads it as
:data:`mallseg.report.makeup_sections.MAKEUP_INSIGHT`)."""

PROXY_POINTS = 20.0
"""Difference in percentage points of a group's share that flags a segment as a proxy."""
MIN_SEGMENT = 30
"""Fewest customers a segment needs for its make-up to be flagged."""
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("under 25", 0, 25), ("25-34", 25, 35), ("35-44", 35, 45), ("45-54", 45, 55),
    ("55-64", 55, 65), ("65+", 65, 200))
"""Age bands as (label, lowest age, first age above)."""


@dataclass(frozen=True)
class MakeupResult:
    """Per segment and group: customers, their share, the population's share."""

    rows: tuple[dict[str, Any], ...]
    flags: tuple[str, ...]
    population: int

    def table(self) -> pd.DataFrame:
        """One row per segment x attribute x group."""
        return pd.DataFrame(list(self.rows), columns=[
            "segment", "attribute", "group", "customers", "segment_size", "share",
            "population_share", "difference_points"])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"rows": [dict(r) for r in self.rows], "flags": list(self.flags),
                "population": self.population, "proxy_points": PROXY_POINTS,
                "min_segment": MIN_SEGMENT}


def _age_band_sql(reference: datetime | None) -> str:
    year = f"{reference.year}" if reference is not None else "year(current_date)"
    age = f"coalesce(CAST(c.age AS DOUBLE), {year} - c.birth_year)"
    cases = " ".join(f"WHEN {age} >= {low} AND {age} < {high} THEN '{label}'"
                     for label, low, high in AGE_BANDS)
    return f"CASE {cases} ELSE 'unknown' END"


def _columns(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'customers' "
        "AND table_schema = current_schema()").fetchall()
    return {str(r[0]) for r in rows}


def segment_makeup(
    connection: duckdb.DuckDBPyConnection, segments: pd.DataFrame,
    reference_time: datetime | None = None, rule: GroupSizeRule | None = None,
) -> MakeupResult:
    """Make-up by gender and age band of ``segments`` (``customer_id``, ``segment``).

    The population is every customer in ``segments``. Under ``rule`` (default: groups of
    fewer than 10 customers), a cell of fewer customers shows no count or share (``None``),
    a population share behind fewer customers neither, and a flag on such a cell names
    the segment and the attribute without the figures.
    """
    rule = rule or GroupSizeRule()
    present = _columns(connection)
    gender = "coalesce(CAST(c.gender AS VARCHAR), 'unknown')" if "gender" in present \
        else "'unknown'"
    age = "'unknown'"
    if "age" in present or "birth_year" in present:
        c_age = "c.age" if "age" in present else "NULL"
        c_birth = "c.birth_year" if "birth_year" in present else "NULL"
        age = _age_band_sql(reference_time).replace("c.age", c_age).replace(
            "c.birth_year", c_birth)
    frame = segments[["customer_id", "segment"]].astype(str)
    connection.register("_makeup_segments", frame)
    try:
        joined = (f"SELECT s.segment, {gender} AS gender, {age} AS age_band "
                  "FROM _makeup_segments s LEFT JOIN customers c "
                  "ON CAST(c.customer_id AS VARCHAR) = s.customer_id")
        counts = connection.execute(f"""
            WITH j AS ({joined}),
            long AS (SELECT segment, 'gender' AS attribute, gender AS grp FROM j
                     UNION ALL SELECT segment, 'age band', age_band FROM j)
            SELECT segment, attribute, grp, count(*) AS n FROM long
            GROUP BY ALL ORDER BY segment, attribute, grp""").df()
    finally:
        connection.unregister("_makeup_segments")
    population = len(frame)
    sizes = frame.groupby("segment").size()
    overall_counts = counts.groupby(["attribute", "grp"])["n"].sum()
    overall = overall_counts / max(population, 1)
    rows: list[dict[str, Any]] = []
    flags: list[str] = []
    for seg, size in sizes.items():
        for attribute in ("gender", "age band"):
            mine = counts[(counts["segment"] == seg) & (counts["attribute"] == attribute)]
            have = dict(zip(mine["grp"], mine["n"], strict=True))
            for grp in sorted(overall[attribute].index):
                n = int(have.get(grp, 0))
                share, pop = n / size, float(overall[attribute][grp])
                points = round(100 * (share - pop), 1)
                shown = rule.allows(n) and rule.allows(int(overall_counts[attribute][grp]))
                rows.append({"segment": str(seg), "attribute": attribute, "group": str(grp),
                             "customers": n if shown else None, "segment_size": int(size),
                             "share": round(share, 4) if shown else None,
                             "population_share": round(pop, 4) if shown else None,
                             "difference_points": points if shown else None})
                if grp == "unknown" or size < MIN_SEGMENT or points < PROXY_POINTS:
                    continue
                if shown:
                    flags.append(f"{seg}: {share:.0%} {grp} against {pop:.0%} of all "
                                 f"customers ({points:+.0f} points; {int(size):,} customers): "
                                 f"the segment may stand in for {attribute}.")
                else:
                    flags.append(f"{seg}: {grp} is over-represented by at least "
                                 f"{PROXY_POINTS:.0f} points against all customers (figures "
                                 f"not shown: {rule.describe()}): the segment may stand in "
                                 f"for {attribute}.")
    return MakeupResult(tuple(rows), tuple(flags), population)


def _run_segments(workspace: Workspace, run_id: str) -> pd.DataFrame:
    return workspace.connection.execute(
        "SELECT customer_id, segment_name AS segment FROM segment_assignments "
        "WHERE run_id = ? ORDER BY customer_id", [run_id]).df()


def save_makeup(workspace: Workspace, run_id: str, reference_time: datetime | None, *,
                actor: str | None = None) -> MakeupResult:
    """Compute run ``run_id``'s make-up from its stored assignments and keep it with the run."""
    result = segment_makeup(workspace.connection, _run_segments(workspace, run_id),
                            reference_time, group_size_rule(workspace.connection))
    workspace.save_insight(run_id, INSIGHT, result.to_dict(), actor=actor)
    return result


def makeup_for_run(workspace: Workspace, run_id: str | None = None) -> tuple[str, MakeupResult]:
    """The make-up kept with run ``run_id`` (default: the latest), computed when missing.

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When the run does not exist.
    """
    record = workspace.get_run(run_id, "segment")
    kept = workspace.insight(record.run_id, INSIGHT)
    if kept is None:
        return record.run_id, segment_makeup(
            workspace.connection, _run_segments(workspace, record.run_id),
            record.reference_time, group_size_rule(workspace.connection))
    return record.run_id, MakeupResult(tuple(kept["rows"]), tuple(kept["flags"]),
                                       int(kept["population"]))
