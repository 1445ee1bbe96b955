"""The numbers inside a segment profile: effects per feature, summary rows, top categories.

:func:`~mallseg.segment.personas.profile_segments` calls these; see its module for what
each number means.

Examples
--------
>>> import pandas as pd
>>> values = pd.DataFrame({"age": [20.0, 22.0, 60.0, 62.0]})
>>> groups = pd.Series([0, 0, 1, 1])
>>> rows = numeric_effects(values, values, groups, [0, 1], groups.value_counts())
>>> [round(r["effect_size"], 2) for r in rows]
[-1.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mallseg.segment.coverage import segment_label

__all__ = [
    "EFFECT_COLUMNS",
    "LOG_KINDS",
    "SPEND_SHARE_PREFIX",
    "TIME_BANDS",
    "categorical_effects",
    "numeric_effects",
    "peak_bands",
    "ranked_effects",
    "summary_rows",
    "top_categories",
]

SPEND_SHARE_PREFIX = "spend_share_"
TIME_BANDS: tuple[str, ...] = ("morning", "midday", "afternoon", "evening")
_VISIT_SHARE_PREFIX = "share_visits_"
_TOP_CATEGORIES = 3
_PEAK_RATIO = 1.1


LOG_KINDS = frozenset({"money", "count"})
"""Kinds compared on the log scale (as the model sees them)."""

EFFECT_COLUMNS = [
    "segment", "feature", "kind", "level", "segment_value", "population_value",
    "segment_median", "population_median", "effect_size", "lift", "coverage",
    "member_share",
]


def numeric_effects(
    values: pd.DataFrame, model_scale: pd.DataFrame, groups: pd.Series, segments: list[int],
    sizes: pd.Series,
) -> list[dict[str, Any]]:
    """One effect row per segment and numeric feature.

    ``model_scale`` holds the values as the model sees them, for the effect size.
    """
    rows: list[dict[str, Any]] = []
    means = values.groupby(groups).mean()
    medians = values.groupby(groups).median()
    present = values.notna().groupby(groups).sum()
    scale_means = model_scale.groupby(groups).mean()
    for feature in values.columns:
        pop_mean = float(values[feature].mean())
        pop_median = float(values[feature].median())
        scale_std = float(model_scale[feature].std(ddof=0))
        scale_mean = float(model_scale[feature].mean())
        column = values[feature]
        for seg in segments:
            seg_mean = _number(means.at[seg, feature])
            effect = (_number(scale_means.at[seg, feature]) - scale_mean) / scale_std \
                if scale_std > 0 else 0.0
            effect = 0.0 if not np.isfinite(effect) else effect
            members = column[(groups == seg).to_numpy()].dropna()
            if len(members) and effect != 0.0:
                side = members > pop_median if effect > 0 else members < pop_median
                member_share = float(side.mean())
            else:
                member_share = np.nan
            rows.append({
                "segment": seg, "feature": feature, "kind": "numeric", "level": None,
                "segment_value": seg_mean, "population_value": pop_mean,
                "segment_median": _number(medians.at[seg, feature]),
                "population_median": pop_median, "effect_size": effect,
                "lift": seg_mean / pop_mean if pop_mean else np.nan,
                "coverage": _number(present.at[seg, feature]) / max(int(sizes.get(seg, 0)), 1),
                "member_share": member_share,
            })
    return rows


def categorical_effects(
    table: pd.DataFrame, categorical: list[str], groups: pd.Series, segments: list[int],
    sizes: pd.Series,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Level shares per segment, and each segment's most over-represented level.

    Returns the share rows and one effect row per segment and categorical feature.
    """
    category_rows: list[dict[str, Any]] = []
    effect_rows: list[dict[str, Any]] = []
    for feature in categorical:
        column = table[feature].astype("string")
        pop_share = column.value_counts(normalize=True)
        counts = pd.crosstab(groups, column)
        for seg in segments:
            seg_counts = counts.loc[seg] if seg in counts.index else pd.Series(dtype=float)
            with_value = _number(seg_counts.sum())
            coverage = with_value / max(int(sizes.get(seg, 0)), 1)
            best: dict[str, Any] | None = None
            for level in pop_share.index:
                p_seg = float(seg_counts.get(level, 0.0)) / with_value if with_value else 0.0
                p_pop = float(pop_share[level])
                lift = p_seg / p_pop if p_pop > 0 else np.nan
                category_rows.append({
                    "segment": seg, "feature": feature, "level": str(level),
                    "share": p_seg, "population_share": p_pop, "lift": lift,
                })
                if not with_value:
                    continue
                h = 2 * np.arcsin(np.sqrt(p_seg)) - 2 * np.arcsin(np.sqrt(p_pop))
                if best is None or h > best["effect_size"]:
                    best = {
                        "segment": seg, "feature": feature, "kind": "categorical",
                        "level": str(level), "segment_value": p_seg,
                        "population_value": p_pop, "segment_median": np.nan,
                        "population_median": np.nan, "effect_size": float(h), "lift": lift,
                        "coverage": coverage, "member_share": p_seg,
                    }
            if best is None:
                best = {
                    "segment": seg, "feature": feature, "kind": "categorical", "level": None,
                    "segment_value": np.nan, "population_value": np.nan,
                    "segment_median": np.nan, "population_median": np.nan,
                    "effect_size": 0.0, "lift": np.nan, "coverage": coverage,
                    "member_share": np.nan,
                }
            effect_rows.append(best)
    return category_rows, effect_rows


def ranked_effects(effects: pd.DataFrame) -> pd.DataFrame:
    """Effects with a label and a rank within each segment (1 = strongest)."""
    effects["label"] = effects["segment"].map(_label)
    order = effects.assign(strength=effects["effect_size"].abs()).sort_values(
        ["segment", "strength", "feature"], ascending=[True, False, True], kind="stable"
    )
    effects["rank"] = order.groupby("segment").cumcount().reindex(effects.index) + 1
    effects = effects.sort_values(["segment", "rank"], key=_unassigned_last, kind="stable")
    columns = ["segment", "label", *EFFECT_COLUMNS[1:], "rank"]
    return effects[columns].reset_index(drop=True)


def summary_rows(
    table: pd.DataFrame, values: pd.DataFrame, categories: pd.DataFrame, effects: pd.DataFrame,
    groups: pd.Series, segments: list[int], sizes: pd.Series, numeric: list[str],
    categorical: list[str], model_features: list[str], min_coverage: float,
) -> pd.DataFrame:
    """One summary row per segment (size, means, coverage, top categories, peak band)."""
    means = values.groupby(groups).mean()
    counted = [f for f in model_features if f in table.columns]
    present = table[counted].notna().groupby(groups).mean() if counted else None
    rows: list[dict[str, Any]] = []
    n = len(table)
    for seg in segments:
        size = int(sizes.get(seg, 0))
        row: dict[str, Any] = {
            "segment": seg, "label": _label(seg), "size": size, "share": size / n,
        }
        for feature in numeric:
            row[f"mean_{feature}"] = _number(means.at[seg, feature])
        for feature in categorical:
            levels = categories[(categories["segment"] == seg) & (categories["feature"] == feature)]
            levels = levels[levels["share"] > 0]
            row[f"top_level_{feature}"] = (
                str(levels.sort_values("share", ascending=False, kind="stable").iloc[0]["level"])
                if not levels.empty else None
            )
        coverage = _number(present.loc[seg].mean()) if present is not None else 1.0
        row["coverage"] = coverage
        row["enough_data"] = bool(coverage >= min_coverage)
        top = effects[effects["segment"] == seg].head(3)
        row["distinguishing"] = tuple(top["feature"])
        rows.append(row)
    summary = pd.DataFrame(rows)
    share_columns = [
        c for c in table.columns if str(c).startswith(SPEND_SHARE_PREFIX)
        and pd.api.types.is_numeric_dtype(table[c])
    ]
    if share_columns:
        summary["top_categories"] = top_categories(table[share_columns], groups, segments)
    band_columns = [f"{_VISIT_SHARE_PREFIX}{band}" for band in TIME_BANDS]
    present_bands = [c for c in band_columns if c in table.columns]
    if present_bands:
        summary["peak_time_band"] = peak_bands(table[present_bands], groups, segments)
    weekend = f"{_VISIT_SHARE_PREFIX}weekend"
    if weekend in table.columns:
        weekend_means = pd.to_numeric(table[weekend], errors="coerce").groupby(groups).mean()
        summary["weekend_share"] = [float(weekend_means.get(s, np.nan)) for s in segments]
    return summary


def top_categories(
    shares: pd.DataFrame, groups: pd.Series, segments: list[int]
) -> list[tuple[str, ...]]:
    """Per segment, the categories most over-represented in its spend (at most three)."""
    values = shares.apply(pd.to_numeric, errors="coerce")
    population = values.mean()
    ratios = values.groupby(groups).mean() / population.replace(0.0, np.nan)
    result: list[tuple[str, ...]] = []
    for seg in segments:
        ranked = ratios.loc[seg].dropna()
        ranked = ranked[ranked > 1.0].sort_values(ascending=False, kind="stable")
        result.append(
            tuple(str(c)[len(SPEND_SHARE_PREFIX):] for c in ranked.index[:_TOP_CATEGORIES])
        )
    return result


def peak_bands(visits: pd.DataFrame, groups: pd.Series, segments: list[int]) -> list[str]:
    """Per segment, the time band of its visits furthest above everyone's."""
    values = visits.apply(pd.to_numeric, errors="coerce")
    seg_means = values.groupby(groups).mean()
    ratios = seg_means / values.mean().replace(0.0, np.nan)
    result: list[str] = []
    for seg in segments:
        ratio = ratios.loc[seg].fillna(0.0)
        column = ratio.idxmax() if ratio.max() >= _PEAK_RATIO else seg_means.loc[seg].idxmax()
        result.append(str(column)[len(_VISIT_SHARE_PREFIX):])
    return result




def _label(segment: int) -> str:
    return segment_label(segment)


def _unassigned_last(column: pd.Series) -> pd.Series:
    if column.name == "segment":
        last = np.iinfo(np.int64).max
        return column.where(column >= 0, last + column)  # -1 then -2, after every segment
    return column


def _number(value: Any) -> float:
    """A pandas scalar as a float (NaN stays NaN)."""
    return float(value)
