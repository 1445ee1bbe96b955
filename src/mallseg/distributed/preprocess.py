"""The segment preprocessing, fitted and applied as Spark columns.

The same transformation as :func:`mallseg.segment.preprocess.build_preprocessor` (read its
module documentation for the reasons), computed where the customers are:

- ``money`` and ``count``: negatives clipped to 0, ``log1p``; then, like every numeric
  kind, values held within the 0.5% and 99.5% quantiles of the present values (values of
  the data, as :class:`~mallseg.segment.clipping.QuantileClipper` takes them: Spark's
  ``percentile_disc`` is numpy's ``inverted_cdf``), standard scaling by the mean and
  population standard deviation of the held values (a constant feature keeps scale 1, as
  scikit-learn's ``StandardScaler``), and a missing value filled with their median
  (exact: Spark's ``percentile``, which averages the two middle values as numpy's median
  does);
- a missing indicator for every numeric feature with missing values at fit time, weighted
  :data:`~mallseg.segment.preprocess.MISSING_INDICATOR_WEIGHT` divided by the square root
  of the number of features missing for exactly the same customers;
- ``categorical``: the value as text (missing is ``"missing"``), one indicator per level
  seen at fit time in sorted order, each weighted
  :data:`~mallseg.segment.preprocess.CATEGORY_WEIGHT`; an unseen level is all zeros.

Fitting takes two passes over the per-customer table (first the quantiles, levels and
which features are missing together; then means, deviations and medians of the held
values); applying it is a projection. The fitted
parameters are plain numbers (:meth:`SparkPreprocessing.to_dict`), and the tests check
the output against the scikit-learn pipeline's, column for column.

Examples
--------
>>> import pandas as pd
>>> from mallseg.distributed.session import local_spark_session
>>> spark = local_spark_session()
>>> frame = spark.createDataFrame(pd.DataFrame(
...     {"customer_id": ["a", "b", "c"], "monetary_total": [0.0, 99.0, 999.0],
...      "gender": ["f", "m", None]}))
>>> pre = fit_spark_preprocessing(frame, ["monetary_total", "gender"])
>>> pre.output_names
['monetary_total', 'gender_f', 'gender_m', 'gender_missing']
>>> [round(row[0], 3) for row in pre.output_frame(frame).orderBy("customer_id")
...  .select("monetary_total").collect()]
[-1.336, 0.267, 1.069]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from pyspark.ml.functions import array_to_vector
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from mallseg.features.catalog import describe_feature
from mallseg.segment.clipping import QuantileClipper
from mallseg.segment.preprocess import (
    CATEGORY_WEIGHT,
    LOG_KINDS,
    MISSING_CATEGORY,
    MISSING_INDICATOR_WEIGHT,
    resolve_feature_kinds,
)

__all__ = ["CLIP_QUANTILES", "CategoryEncoding", "NumericScaling", "SparkPreprocessing",
           "fit_spark_preprocessing"]

CLIP_QUANTILES: tuple[float, float] = (float(QuantileClipper().get_params()["lower"]),
                                       float(QuantileClipper().get_params()["upper"]))
"""The quantiles numeric values are held within: those of the DuckDB engine's clipper."""


@dataclass(frozen=True)
class NumericScaling:
    """How one numeric feature is scaled and imputed.

    Attributes
    ----------
    feature, kind:
        The feature and its preprocessing kind (``money`` and ``count`` are logged).
    mean, scale:
        Of the present values, after ``log1p`` for logged kinds and holding.
    impute_value:
        What a missing value becomes, on the scaled axis (the scaled median).
    indicator_weight:
        Value of the missing indicator when the feature is missing; ``None`` when the
        feature had no missing value at fit time (then there is no indicator).
    lower, upper:
        The values are held within (after ``log1p`` for logged kinds); ``None``: the
        feature had no value at fit time, nothing is held.

    Examples
    --------
    >>> NumericScaling("age", "numeric", 40.0, 10.0, 0.0, None).output_names
    ['age']
    """

    feature: str
    kind: str
    mean: float
    scale: float
    impute_value: float
    indicator_weight: float | None
    lower: float | None = None
    upper: float | None = None

    @property
    def output_names(self) -> list[str]:
        """Output columns, named as scikit-learn's ``get_feature_names_out`` names them."""
        names = [self.feature]
        if self.indicator_weight is not None:
            names.append(f"missingindicator_{self.feature}")
        return names

    def columns(self) -> list[Column]:
        """The output columns as Spark expressions."""
        value = _numeric_value(sf.col(self.feature), self.kind)
        held = _held(value, self.lower, self.upper)
        scaled = sf.coalesce((held - sf.lit(self.mean)) / sf.lit(self.scale),
                            sf.lit(self.impute_value))
        out = [scaled.alias(self.feature)]
        if self.indicator_weight is not None:
            out.append(sf.when(value.isNull(), sf.lit(self.indicator_weight))
                       .otherwise(sf.lit(0.0)).alias(f"missingindicator_{self.feature}"))
        return out


@dataclass(frozen=True)
class CategoryEncoding:
    """How one categorical feature is one-hot encoded.

    Examples
    --------
    >>> CategoryEncoding("gender", ("female", "male")).output_names
    ['gender_female', 'gender_male']
    """

    feature: str
    categories: tuple[str, ...]
    as_boolean: bool = False
    """The column is boolean: its levels are ``True`` and ``False``, as pandas writes them."""

    @property
    def output_names(self) -> list[str]:
        """Output columns, named as scikit-learn's ``get_feature_names_out`` names them."""
        return [f"{self.feature}_{level}" for level in self.categories]

    def columns(self) -> list[Column]:
        """The output columns as Spark expressions."""
        level = _level(sf.col(self.feature), self.as_boolean)
        return [
            sf.when(level == sf.lit(category), sf.lit(CATEGORY_WEIGHT)).otherwise(sf.lit(0.0))
            .alias(name)
            for category, name in zip(self.categories, self.output_names, strict=True)
        ]


Encoding = NumericScaling | CategoryEncoding


@dataclass(frozen=True)
class SparkPreprocessing:
    """The fitted preprocessing of a segmentation's features, as Spark columns.

    Examples
    --------
    >>> pre = SparkPreprocessing((NumericScaling("age", "numeric", 40.0, 10.0, 0.0, None),))
    >>> pre.output_names, pre.features
    (['age'], ['age'])
    """

    encodings: tuple[Encoding, ...]

    @property
    def features(self) -> list[str]:
        """The input features, in order."""
        return [encoding.feature for encoding in self.encodings]

    @property
    def output_names(self) -> list[str]:
        """The output columns, in order (the coordinates of the segment space)."""
        return [name for encoding in self.encodings for name in encoding.output_names]

    def output_frame(self, frame: DataFrame, id_column: str = "customer_id") -> DataFrame:
        """``id_column`` and every output column, one row per row of ``frame``."""
        columns = [column for encoding in self.encodings for column in encoding.columns()]
        return frame.select(sf.col(id_column), *columns)

    def vectors(
        self, frame: DataFrame, id_column: str = "customer_id", output_column: str = "features"
    ) -> DataFrame:
        """``id_column`` and the output as one MLlib vector column (what MLlib fits on)."""
        columns = [column for encoding in self.encodings for column in encoding.columns()]
        return frame.select(sf.col(id_column), array_to_vector(sf.array(*columns))
                            .alias(output_column))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready parameters, one entry per feature."""
        return {
            encoding.feature: {"type": type(encoding).__name__, **{
                k: list(v) if isinstance(v, tuple) else v for k, v in asdict(encoding).items()
            }}
            for encoding in self.encodings
        }


def fit_spark_preprocessing(
    frame: DataFrame, features: Sequence[str], kinds: Mapping[str, str] | None = None
) -> SparkPreprocessing:
    """Fit the preprocessing of ``features`` on the customers of ``frame``.

    Parameters
    ----------
    frame:
        One row per customer, with the ``features`` columns.
    features:
        Features in output order.
    kinds:
        Explicit preprocessing kinds, winning over the catalog (as
        :func:`~mallseg.segment.preprocess.resolve_feature_kinds` takes them); a feature
        neither knows is categorical when its column is text or boolean.

    Raises
    ------
    ValueError
        When ``features`` is empty or names a column ``frame`` lacks.
    """
    if len(features) == 0:
        raise ValueError("features is empty: a preprocessor needs at least one feature")
    types = {f.name: f.dataType for f in frame.schema.fields}
    missing = [name for name in features if name not in types]
    if missing:
        raise ValueError(f"the feature frame lacks the column(s) {missing}")
    fallback = {name: "categorical" if isinstance(types[name], st.StringType | st.BooleanType)
                else "numeric" for name in features if not _in_catalog(name)}
    resolved = resolve_feature_kinds(features, None, {**fallback, **dict(kinds or {})})
    numeric = [name for name in features if resolved[name] != "categorical"]
    categorical = [name for name in features if resolved[name] == "categorical"]

    statistics = _fit_statistics(frame, {name: resolved[name] for name in features}, types)
    weights = _indicator_weights(numeric, statistics)
    encodings: list[Encoding] = []
    for name in features:
        if name in categorical:
            levels = sorted(str(level) for level in statistics[f"levels_{name}"])
            encodings.append(CategoryEncoding(name, tuple(levels),
                                              isinstance(types[name], st.BooleanType)))
            continue
        count = int(statistics[f"count_{name}"])
        mean = float(statistics[f"mean_{name}"]) if count else 0.0
        deviation = float(statistics[f"std_{name}"]) if count else 0.0
        scale = 1.0 if _is_constant(deviation**2, mean, count) else deviation
        median = float(statistics[f"median_{name}"]) if count else mean
        lower, upper = (float(statistics[f"lower_{name}"]), float(statistics[f"upper_{name}"])
                        ) if count else (None, None)
        encodings.append(NumericScaling(
            name, resolved[name], mean, scale, (median - mean) / scale, weights.get(name),
            lower, upper,
        ))
    return SparkPreprocessing(tuple(encodings))


def _fit_statistics(
    frame: DataFrame, kinds: Mapping[str, str], types: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything the fit needs, in two passes over ``frame``.

    First, per numeric feature: the count and the 0.5% and 99.5% quantiles of the present
    values; per categorical feature: its levels; and the distinct patterns of missing
    numeric values (which features are missing together). Then, per numeric feature: the
    mean, deviation and median of the present values held within those quantiles.
    """
    numeric = [name for name, kind in kinds.items() if kind != "categorical"]
    # column i of ``values`` is the value the clipper sees of numeric feature i
    values = frame.select(*[_numeric_value(sf.col(name), kinds[name]).alias(f"v{i}")
                            for i, name in enumerate(numeric)],
                          *[sf.col(name) for name in kinds if name not in numeric])
    first: list[Column] = [sf.count(sf.lit(1)).alias("rows")]
    for name, kind in kinds.items():
        if kind == "categorical":
            level = _level(sf.col(name), isinstance(types[name], st.BooleanType))
            first.append(sf.collect_set(level).alias(f"levels_{name}"))
    for i, name in enumerate(numeric):
        first += [
            sf.count(f"v{i}").alias(f"count_{name}"),
            sf.expr(f"percentile_disc({CLIP_QUANTILES[0]}) WITHIN GROUP (ORDER BY v{i})")
            .alias(f"lower_{name}"),
            sf.expr(f"percentile_disc({CLIP_QUANTILES[1]}) WITHIN GROUP (ORDER BY v{i})")
            .alias(f"upper_{name}"),
        ]
    if numeric:
        first.append(sf.collect_set(sf.array(*[sf.col(f"v{i}").isNull()
                                               for i in range(len(numeric))]))
                     .alias("missing_patterns"))
    row = values.agg(*first).first()
    if row is None:
        raise ValueError("the feature frame has no row to fit the preprocessing on")
    statistics = row.asDict()
    if not numeric:
        return statistics
    second: list[Column] = []
    for i, name in enumerate(numeric):
        lower, upper = statistics[f"lower_{name}"], statistics[f"upper_{name}"]
        held = _held(sf.col(f"v{i}"), lower, upper)
        second += [
            sf.avg(held).alias(f"mean_{name}"),
            sf.stddev_pop(held).alias(f"std_{name}"),
            sf.percentile(held, sf.lit(0.5)).alias(f"median_{name}"),
        ]
    held_row = values.agg(*second).first()
    assert held_row is not None  # an aggregate without grouping has one row
    return {**statistics, **held_row.asDict()}


def _indicator_weights(numeric: list[str], statistics: Mapping[str, Any]) -> dict[str, float]:
    """Weights of the missing indicators: features missing for the same customers share one.

    Two features are missing for the same customers when every pattern of missing values
    seen (one per distinct combination over the numeric features) agrees on them.
    """
    rows = int(statistics["rows"])
    gapped = [name for name in numeric if int(statistics[f"count_{name}"]) < rows]
    if not gapped:
        return {}
    patterns = [list(pattern) for pattern in statistics["missing_patterns"]]
    position = {name: i for i, name in enumerate(numeric)}
    signature = {name: tuple(bool(p[position[name]]) for p in patterns) for name in gapped}
    group_sizes: dict[tuple[bool, ...], int] = {}
    for mask in signature.values():
        group_sizes[mask] = group_sizes.get(mask, 0) + 1
    return {name: MISSING_INDICATOR_WEIGHT / float(np.sqrt(group_sizes[signature[name]]))
            for name in gapped}


def _numeric_value(column: Column, kind: str) -> Column:
    """The value the scaler sees: NULL when missing (NULL or NaN), log1p(max(x, 0)) if logged."""
    value = column.cast("double")
    missing = value.isNull() | sf.isnan(value)
    present = sf.when(missing, sf.lit(None).cast("double")).otherwise(value)
    if kind in LOG_KINDS:
        return sf.log1p(sf.when(present < 0, sf.lit(0.0)).otherwise(present))
    return present


def _held(value: Column, lower: float | None, upper: float | None) -> Column:
    """``value`` held within ``[lower, upper]``; NULL stays NULL, no bounds hold nothing."""
    if lower is None or upper is None:
        return value
    # Spark's least and greatest skip NULLs: a missing value must not become a bound
    bounded = sf.least(sf.greatest(value, sf.lit(float(lower))), sf.lit(float(upper)))
    return sf.when(value.isNull(), sf.lit(None).cast("double")).otherwise(bounded)


def _level(column: Column, as_boolean: bool) -> Column:
    if as_boolean:
        text = sf.when(column, sf.lit("True")).when(~column, sf.lit("False"))
    else:
        text = column.cast("string")
    return sf.coalesce(text, sf.lit(MISSING_CATEGORY))


def _is_constant(variance: float, mean: float, count: int) -> bool:
    """scikit-learn's test for a constant feature (its scale is then 1, not 0)."""
    eps = float(np.finfo(np.float64).eps)
    return count == 0 or variance <= count * eps * variance + (count * mean * eps) ** 2


def _in_catalog(name: str) -> bool:
    try:
        describe_feature(name)
    except KeyError:
        return False
    return True
