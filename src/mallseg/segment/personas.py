"""Segment profiles: who is in each segment and what sets it apart from everyone else.

What is computed, per segment (unassigned customers, label ``-1``, form their own row
``"Unassigned"``; the population is every customer, unassigned included):

- size and share of customers;
- for each numeric feature, the segment mean next to the population mean (both arithmetic
  means in the feature's own units), the two medians, the share of the segment's customers
  that have a value (``coverage``), the share of them on the side of the population median
  the segment leans to (``member_share``), and the effect size ``(segment mean - population
  mean) / population standard deviation`` (a standardised mean difference: 0.2 small, 0.5
  medium, 0.8 large), computed on the scale the model sees: money and counts after
  ``log1p``, so that a few big spenders do not decide it;
- for each categorical feature, the share of every level in the segment and in the
  population, their ratio (lift), and as effect size Cohen's h of the most over-represented
  level, ``2 asin(sqrt(p_segment)) - 2 asin(sqrt(p_population))``, which is on the same scale
  as the numeric one so both rank together;
- distinguishing features: all of the above ranked by absolute effect size;
- top categories, when the frame has ``spend_share_<category>`` columns: the categories whose
  mean spend share in the segment is highest relative to the population (ratio above 1, best
  three);
- peak time band, when the frame has ``share_visits_<band>`` columns for morning, midday,
  afternoon, evening: the band whose share of the segment's visits is furthest above the
  population's (ratio); when no band is 10% above the population, the band with the largest
  share. ``share_visits_weekend`` is reported as ``weekend_share``.

Feature kinds come from ``kinds``, else the feature catalog; a column neither knows is
numeric when its dtype is, categorical otherwise. Missing values are left out of every mean
and share, and counted in ``coverage``. A segment whose customers mostly lack the model's
features (mean coverage under ``min_coverage``) is marked ``enough_data = False``: its
numbers describe the few that have values, not the segment.

Examples
--------
>>> import numpy as np, pandas as pd
>>> frame = pd.DataFrame({"annual_income": [20, 22, 90, 95, 60, 58],
...                       "gender": ["female", "female", "male", "male", "male", "female"]})
>>> profiles = profile_segments(frame, np.array([0, 0, 1, 1, -1, -1]))
>>> profiles.summary[["label", "size", "mean_annual_income"]]
        label  size  mean_annual_income
0   Segment 0     2                21.0
1   Segment 1     2                92.5
2  Unassigned     2                59.0
>>> profiles.distinguishing(1)["feature"].tolist()
['gender', 'annual_income']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mallseg.features.catalog import describe_feature
from mallseg.segment.coverage import (
    NOT_ENOUGH_DATA,
    NOT_ENOUGH_DATA_LABEL,
    UNASSIGNED_LABEL,
    segment_label,
)
from mallseg.segment.profile_effects import (
    EFFECT_COLUMNS,
    LOG_KINDS,
    SPEND_SHARE_PREFIX,
    TIME_BANDS,
    categorical_effects,
    numeric_effects,
    ranked_effects,
    summary_rows,
)

__all__ = [
    "NOT_ENOUGH_DATA_LABEL",
    "SPEND_SHARE_PREFIX",
    "TIME_BANDS",
    "UNASSIGNED_LABEL",
    "SegmentProfiles",
    "profile_segments",
    "segment_label",
]

@dataclass(frozen=True)
class SegmentProfiles:
    """Profiles of every segment of one segmentation.

    Attributes
    ----------
    summary:
        One row per segment: ``segment``, ``label``, ``size``, ``share``, ``mean_<feature>``
        for numeric features, ``top_level_<feature>`` for categorical ones, ``coverage``
        and ``enough_data``,
        ``distinguishing`` (the three strongest features), ``top_categories``,
        ``peak_time_band`` and ``weekend_share`` (the last three only when the data has them).
    effects:
        Long table, one row per segment and feature: ``segment``, ``feature``, ``kind``,
        ``level`` (categoricals), ``segment_value``, ``population_value``, the medians,
        ``effect_size``, ``lift``, ``coverage``, ``member_share``, ``rank`` (1 = most
        distinguishing within the segment).
    categories:
        Long table of categorical distributions: ``segment``, ``feature``, ``level``,
        ``share``, ``population_share``, ``lift``.
    population:
        Feature -> population mean (numeric features).
    population_std:
        Feature -> population standard deviation (numeric features).
    features:
        The profiled features in order.
    n_customers:
        Customers profiled.
    kinds:
        Feature -> kind (catalog kinds: ``numeric``, ``money``, ``count``, ``share``,
        ``categorical``, ...).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> p = profile_segments(pd.DataFrame({"age": [20, 22, 60, 64]}), np.array([0, 0, 1, 1]))
    >>> p.segments, p.population["age"]
    ([0, 1], 41.5)
    """

    summary: pd.DataFrame
    effects: pd.DataFrame
    categories: pd.DataFrame
    population: dict[str, float]
    population_std: dict[str, float]
    features: tuple[str, ...]
    n_customers: int
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def segments(self) -> list[int]:
        """Segment ids in summary order (``-1`` last when present)."""
        return [int(s) for s in self.summary["segment"]]

    def distinguishing(self, segment: int, n: int | None = None) -> pd.DataFrame:
        """Effect-size rows of ``segment``, strongest first (``n`` rows at most).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> frame = pd.DataFrame({"age": [20, 21, 60, 61], "annual_income": [50, 52, 49, 51]})
        >>> top = profile_segments(frame, np.array([0, 0, 1, 1])).distinguishing(0, n=1)
        >>> top["feature"].tolist()
        ['age']
        """
        rows = self.effects[self.effects["segment"] == segment].sort_values("rank")
        rows = rows.reset_index(drop=True)
        return rows if n is None else rows.head(n)

    def row(self, segment: int) -> pd.Series:
        """Return the summary row of ``segment``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> p = profile_segments(pd.DataFrame({"age": [20, 22, 60, 64]}), np.array([0, 0, 1, 1]))
        >>> int(p.row(1)["size"])
        2
        """
        match = self.summary[self.summary["segment"] == segment]
        if match.empty:
            raise KeyError(f"segment={segment} is not in these profiles: {self.segments}")
        return match.iloc[0]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (NaN becomes ``None``).

        Examples
        --------
        >>> import json, numpy as np, pandas as pd
        >>> p = profile_segments(pd.DataFrame({"age": [20, 22, 60, 64]}), np.array([0, 0, 1, 1]))
        >>> json.loads(json.dumps(p.to_dict()))["segments"][0]["label"]
        'Segment 0'
        """
        return {
            "n_customers": self.n_customers,
            "features": list(self.features),
            "population": {k: _json_value(v) for k, v in self.population.items()},
            "population_std": {k: _json_value(v) for k, v in self.population_std.items()},
            "segments": _records(self.summary),
            "effects": _records(self.effects),
            "categories": _records(self.categories),
        }


def profile_segments(
    frame: pd.DataFrame,
    labels: np.ndarray | Sequence[int],
    features: Sequence[str] | None = None,
    *,
    extra: Mapping[str, pd.DataFrame] | None = None,
    kinds: Mapping[str, str] | None = None,
    model_features: Sequence[str] | None = None,
    min_coverage: float = 0.5,
) -> SegmentProfiles:
    """Profile the segments ``labels`` cut ``frame`` into.

    Parameters
    ----------
    frame:
        One row per customer.
    labels:
        Segment of each row of ``frame`` (``-1`` = unassigned).
    features:
        Columns to profile. ``None`` profiles every column the feature catalog knows.
    extra:
        More per-customer tables, aligned row for row with ``frame`` (for example features
        that were not clustered on, such as spend shares); their columns are profiled too
        and used for top categories and peak time band. Keys only name the tables.
    kinds:
        Kind of features the catalog does not know (customer attributes), as in the
        feature catalog: ``money`` and ``count`` are compared on the log scale.
    model_features:
        The features the segmentation used (default: all profiled): a segment's coverage
        is the mean share of its customers with a value for them.
    min_coverage:
        Coverage under which a segment is marked as not having enough data.

    Returns
    -------
    SegmentProfiles

    Raises
    ------
    ValueError
        When lengths disagree, a feature is missing or a column name repeats.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"age": [25, 27, 60, 62]})
    >>> shares = pd.DataFrame({"spend_share_food": [0.6, 0.5, 0.1, 0.1],
    ...                        "spend_share_apparel": [0.1, 0.2, 0.6, 0.7]})
    >>> p = profile_segments(frame, np.array([0, 0, 1, 1]), extra={"spend": shares})
    >>> p.row(0)["top_categories"], p.row(1)["top_categories"]
    (('food',), ('apparel',))
    """
    labels_array = np.asarray(labels).astype(np.int64)
    if len(labels_array) != len(frame):
        raise ValueError(f"labels has {len(labels_array)} entries for {len(frame)} rows")
    if len(frame) == 0:
        raise ValueError("cannot profile an empty frame")
    table = frame.reset_index(drop=True)
    for name, other in (extra or {}).items():
        if len(other) != len(frame):
            raise ValueError(f"extra table {name!r} has {len(other)} rows, frame {len(frame)}")
        clash = sorted(set(other.columns) & set(table.columns))
        if clash:
            raise ValueError(f"extra table {name!r} repeats columns {clash}")
        table = pd.concat([table, other.reset_index(drop=True)], axis=1)

    if features is None:
        chosen = [c for c in table.columns if _in_catalog(str(c)) or str(c) in (kinds or {})]
    else:
        chosen = list(features)
        missing = [c for c in chosen if c not in table.columns]
        if missing:
            raise ValueError(f"features {missing} are not columns of the frame")
    for extra_table in (extra or {}).values():
        chosen.extend(c for c in extra_table.columns if c not in chosen)
    catalog_kinds = {c: _catalog_kind(c, table[c], kinds) for c in chosen}
    numeric = [c for c in chosen if catalog_kinds[c] != "categorical"]
    categorical = [c for c in chosen if catalog_kinds[c] == "categorical"]

    segments = sorted(int(s) for s in np.unique(labels_array))
    segments = [s for s in segments if s >= 0] + [s for s in (-1, NOT_ENOUGH_DATA)
                                                  if s in segments]
    groups = pd.Series(labels_array, name="segment")
    n = len(table)
    sizes = groups.value_counts()

    values = table[numeric].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    model_scale = pd.DataFrame({
        c: np.log1p(values[c].clip(lower=0)) if catalog_kinds[c] in LOG_KINDS else values[c]
        for c in numeric
    }, index=values.index)
    population = values.mean()
    population_std = values.std(ddof=0)
    effect_rows = numeric_effects(values, model_scale, groups, segments, sizes)
    category_rows, level_effects = categorical_effects(table, categorical, groups, segments,
                                                       sizes)
    effect_rows.extend(level_effects)
    effects = ranked_effects(pd.DataFrame(effect_rows, columns=EFFECT_COLUMNS))
    categories = pd.DataFrame(
        category_rows,
        columns=["segment", "feature", "level", "share", "population_share", "lift"],
    )
    summary = summary_rows(table, values, categories, effects, groups, segments, sizes,
                           numeric, categorical, list(model_features or chosen), min_coverage)
    return SegmentProfiles(
        summary=summary,
        effects=effects,
        categories=categories,
        population={c: float(population[c]) for c in numeric},
        population_std={c: float(population_std[c]) for c in numeric},
        features=tuple(chosen),
        n_customers=n,
        kinds=dict(catalog_kinds),
    )


def _in_catalog(name: str) -> bool:
    try:
        describe_feature(name)
    except KeyError:
        return False
    return True


def _catalog_kind(name: str, column: pd.Series, kinds: Mapping[str, str] | None) -> str:
    if kinds and name in kinds:
        return kinds[name]
    try:
        return describe_feature(name).kind
    except KeyError:
        if pd.api.types.is_bool_dtype(column.dtype) or not pd.api.types.is_numeric_dtype(
            column.dtype
        ):
            return "categorical"
        return "numeric"


def _unassigned_last(column: pd.Series) -> pd.Series:
    if column.name == "segment":
        return column.where(column != -1, np.iinfo(np.int64).max)
    return column


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): _json_value(v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]
