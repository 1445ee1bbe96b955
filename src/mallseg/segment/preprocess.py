"""Turn a lens's customer features into the numeric space segments live in.

Each feature gets its own small pipeline, chosen by its catalog kind:

- ``money`` and ``count``: negative values clipped to 0, ``log1p`` (these are right-skewed:
  a few big spenders would otherwise define every segment), standard scaling, median
  imputation;
- ``numeric``, ``rate``, ``share`` and ``flag`` (a 0/1 attribute): standard scaling, median
  imputation;
- every numeric kind is first held within its 0.5% and 99.5% quantiles
  (:mod:`~mallseg.segment.clipping`), so that a few extreme customers do not take a
  segment of their own;
- ``categorical``: missing values become the category ``"missing"``, one-hot encoding with
  unseen categories ignored (all zeros), every indicator multiplied by
  :data:`CATEGORY_WEIGHT`.

Why the categorical weight is ``1 / sqrt(2)``: two customers in different categories differ
in two indicators, so their squared distance is ``2 * w**2 = 1``, the same as two customers
one standard deviation apart on one numeric feature. Averaged over the population a
categorical column then adds ``1 - sum(p_c**2) <= 1`` to the expected squared distance between
two customers, while a standardised numeric column adds 2: a categorical column never
outweighs a numeric one, however many categories it has.

Missing numeric values are a fact about the customer, not noise: when a numeric feature has
missing values at fit time, its pipeline also outputs a missing indicator (scikit-learn's
``SimpleImputer(add_indicator=True)``), so "missing versus present" counts like one standard
deviation (:data:`MISSING_INDICATOR_WEIGHT`), the same unit as a category change. Features
that are missing for exactly the same customers (every spend share of a customer without
purchases) state one fact, not many: each of the ``m`` indicators of such a group is
weighted ``1 / sqrt(m)``, so together they still count like one standard deviation. The
value itself is filled with the median (of the present values), so the indicator, not a
made-up typical value, carries the fact. Scaling comes before imputation: mean and
standard deviation are those of the present values, not shrunk by a block of filled-in
medians. A feature without missing values at fit time gets no indicator (a value missing
later is filled with the median).

The kind of a feature comes from, in order: the kinds the caller gives, the feature catalog,
the data type (object, string, category and bool columns are categorical, everything else
numeric).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"monetary_total": [0.0, 99.0, 999.0], "gender": ["f", "m", None]})
>>> pre = build_preprocessor(["monetary_total", "gender"], frame).fit(frame)
>>> list(pre.get_feature_names_out())
['monetary_total', 'gender_f', 'gender_m', 'gender_missing']
>>> pre.transform(frame).round(3)[:, 0].tolist()
[-1.336, 0.267, 1.069]
>>> ages = pd.DataFrame({"age": [20.0, None, 40.0, 60.0]})
>>> with_gap = build_preprocessor(["age"]).fit(ages)
>>> list(with_gap.get_feature_names_out())
['age', 'missingindicator_age']
>>> with_gap.transform(ages).round(3).tolist()  # the median of 20, 40, 60 is the mean here
[[-1.225, 0.0], [0.0, 1.0], [0.0, 0.0], [1.225, 0.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from mallseg.features.catalog import describe_feature
from mallseg.segment.clipping import QuantileClipper
from mallseg.segment.missing_values import (
    MISSING_INDICATOR_WEIGHT,
    has_indicator,
    indicator_weight,
    missing_indicator_features,
    missing_indicator_weights,
    weight_missing_indicator,
)

__all__ = [
    "CATEGORY_WEIGHT",
    "FEATURE_KINDS",
    "LOG_KINDS",
    "MISSING_CATEGORY",
    "MISSING_INDICATOR_WEIGHT",
    "build_preprocessor",
    "category_strings",
    "describe_preprocessing",
    "float_matrix",
    "indicator_weight",
    "log1p_nonnegative",
    "missing_indicator_features",
    "missing_indicator_weights",
    "output_slices",
    "resolve_feature_kinds",
    "weight_categories",
    "weight_missing_indicator",
]

CATEGORY_WEIGHT: float = float(1.0 / np.sqrt(2.0))
"""Multiplier of every one-hot indicator (see the module docstring for why)."""

MISSING_CATEGORY = "missing"
"""Category that a missing categorical value is encoded as."""

LOG_KINDS: frozenset[str] = frozenset({"money", "count"})
"""Kinds that are log-transformed before scaling."""

FEATURE_KINDS: frozenset[str] = frozenset(
    {"numeric", "money", "count", "rate", "share", "flag", "categorical"}
)
"""Every preprocessing kind: the catalog's kinds plus ``flag`` (a 0/1 attribute, scaled
like a share)."""


def float_matrix(values: Any) -> np.ndarray:
    """Return ``values`` as a float64 matrix, pandas missing values as NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> float_matrix(pd.DataFrame({"a": pd.array([1, None], dtype="Int64")})).tolist()
    [[1.0], [nan]]
    """
    if isinstance(values, pd.DataFrame | pd.Series):
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def log1p_nonnegative(values: Any) -> np.ndarray:
    """Return ``log1p`` of ``values`` after clipping negatives to 0 (NaN stays NaN).

    Negative money (a customer whose returns exceed purchases) carries no spending signal
    worth a segment of its own, so it counts as zero.

    Examples
    --------
    >>> log1p_nonnegative([[-5.0], [0.0], [float("nan")]]).tolist()
    [[0.0], [0.0], [nan]]
    """
    matrix = float_matrix(values)
    return np.log1p(np.clip(matrix, 0.0, None))


def category_strings(values: Any) -> np.ndarray:
    """Return ``values`` as an object matrix of strings, missing values as ``"missing"``.

    Casting to text makes booleans, numbers coded as categories and pandas string or
    category dtypes encode the same way at fit and at predict time.

    Examples
    --------
    >>> import pandas as pd
    >>> category_strings(pd.DataFrame({"g": ["f", None, True]})).ravel().tolist()
    ['f', 'missing', 'True']
    """
    frame = pd.DataFrame(values).astype(object)
    filled = frame.where(frame.notna(), MISSING_CATEGORY)
    return np.asarray(filled.astype(str).to_numpy(dtype=object), dtype=object)


def weight_categories(values: Any) -> np.ndarray:
    """Multiply one-hot indicators by :data:`CATEGORY_WEIGHT`.

    Examples
    --------
    >>> weight_categories([[1.0, 0.0]]).round(4).tolist()
    [[0.7071, 0.0]]
    """
    return float_matrix(values) * CATEGORY_WEIGHT


def resolve_feature_kinds(
    features: Sequence[str],
    frame: pd.DataFrame | None = None,
    kinds: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the preprocessing kind of every feature.

    Explicit ``kinds`` win, then the feature catalog, then the column's data type in
    ``frame`` (object, string, category, bool -> categorical), then ``"numeric"``.
    Explicit kinds for columns not in ``features`` are ignored.

    Raises
    ------
    ValueError
        When an explicit kind is not one of :data:`FEATURE_KINDS`.

    Examples
    --------
    >>> import pandas as pd
    >>> resolve_feature_kinds(["age", "gender", "tier"], pd.DataFrame({"tier": ["a"]}))
    {'age': 'numeric', 'gender': 'categorical', 'tier': 'categorical'}
    >>> resolve_feature_kinds(["mnt_wines", "vip"], kinds={"mnt_wines": "money", "vip": "flag"})
    {'mnt_wines': 'money', 'vip': 'flag'}
    """
    explicit = dict(kinds or {})
    resolved: dict[str, str] = {}
    for name in features:
        if name in explicit:
            kind = explicit[name]
            if kind not in FEATURE_KINDS:
                raise ValueError(
                    f"kinds[{name!r}]={kind!r} is not a feature kind: expected one of "
                    f"{', '.join(sorted(FEATURE_KINDS))}"
                )
        else:
            try:
                kind = describe_feature(name).kind
            except KeyError:
                kind = _kind_from_dtype(frame[name]) if frame is not None and name in frame else (
                    "numeric"
                )
        resolved[name] = kind
    return resolved


def _kind_from_dtype(column: pd.Series) -> str:
    dtype = column.dtype
    if (
        pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    ):
        return "categorical"
    return "numeric"


def _feature_pipeline(kind: str, indicator_weight: float = MISSING_INDICATOR_WEIGHT) -> Pipeline:
    if kind == "categorical":
        return Pipeline(
            [
                ("as_text", FunctionTransformer(category_strings, feature_names_out="one-to-one")),
                (
                    "one_hot",
                    OneHotEncoder(
                        handle_unknown="ignore", sparse_output=False, dtype=np.float64
                    ),
                ),
                ("weight", FunctionTransformer(weight_categories, feature_names_out="one-to-one")),
            ]
        )
    steps: list[tuple[str, Any]] = [
        ("as_float", FunctionTransformer(float_matrix, feature_names_out="one-to-one"))
    ]
    if kind in LOG_KINDS:
        steps.append(
            ("log1p", FunctionTransformer(log1p_nonnegative, feature_names_out="one-to-one"))
        )
    # outliers are held at the bulk's edge, so that a handful of extreme customers do not
    # take a segment of their own
    steps.append(("clip", QuantileClipper()))
    # scaling first: StandardScaler ignores missing values when fitting, so the scale is
    # that of the present values; the median of scaled values is the scaled median
    steps.append(("scale", StandardScaler()))
    steps.append(
        (
            "impute",
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        )
    )
    steps.append(
        (
            "weight_indicator",
            FunctionTransformer(
                weight_missing_indicator,
                kw_args={"weight": float(indicator_weight)},
                feature_names_out="one-to-one",
            ),
        )
    )
    return Pipeline(steps)


def build_preprocessor(
    features: Sequence[str],
    frame: pd.DataFrame | None = None,
    kinds: Mapping[str, str] | None = None,
) -> ColumnTransformer:
    """Return an unfitted transformer from the ``features`` columns to a dense float64 matrix.

    Parameters
    ----------
    features:
        Columns to use, in the order their outputs appear. Other columns are dropped.
    frame:
        The data the preprocessor will be fitted on: it gives the kind of features the
        catalog does not know, and which features are missing together (their indicators
        share one unit of weight). Without it every indicator weighs
        :data:`MISSING_INDICATOR_WEIGHT`.
    kinds:
        Explicit kind per feature, overriding the catalog.

    Returns
    -------
    ColumnTransformer
        One transformer per feature, named after it (so ``output_indices_[name]`` gives the
        output columns of a feature once fitted); outputs named by
        ``get_feature_names_out``: the feature name, or ``feature_category`` for one-hot
        columns.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [20, 40, None], "frequency": [1, 10, 100]})
    >>> pre = build_preprocessor(["age", "frequency"]).fit(frame)
    >>> pre.transform(frame)[:, 0].tolist()  # missing age: the median (30), scaled
    [-1.0, 1.0, 0.0]
    >>> list(pre.get_feature_names_out())
    ['age', 'missingindicator_age', 'frequency']
    >>> pre.transform(frame).dtype
    dtype('float64')
    """
    if len(features) == 0:
        raise ValueError("features is empty: a preprocessor needs at least one feature")
    resolved = resolve_feature_kinds(features, frame, kinds)
    numeric = [name for name in features if resolved[name] != "categorical"]
    weights = (
        missing_indicator_weights(frame, numeric) if frame is not None
        else dict.fromkeys(numeric, MISSING_INDICATOR_WEIGHT)
    )
    return ColumnTransformer(
        [
            (
                name,
                _feature_pipeline(resolved[name])
                if resolved[name] == "categorical"
                else _feature_pipeline(resolved[name], weights[name]),
                [name],
            )
            for name in features
        ],
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )


def output_slices(preprocessor: ColumnTransformer) -> dict[str, slice]:
    """Return, for each original feature, the slice of output columns it produced.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [20, 40], "gender": ["f", "m"]})
    >>> output_slices(build_preprocessor(["age", "gender"]).fit(frame))
    {'age': slice(0, 1, None), 'gender': slice(1, 3, None)}
    """
    return {
        name: indices
        for name, indices in preprocessor.output_indices_.items()
        if name != "remainder" and indices.stop > indices.start
    }


def describe_preprocessing(
    preprocessor: ColumnTransformer, kinds: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Return a JSON-ready account of what the fitted ``preprocessor`` does to each feature.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"basket_mean": [9.0, 99.0], "gender": ["f", "m"]})
    >>> kinds = resolve_feature_kinds(["basket_mean", "gender"])
    >>> info = describe_preprocessing(build_preprocessor(list(kinds)).fit(frame), kinds)
    >>> info["basket_mean"]["steps"], info["gender"]["categories"]
    (['log1p of values clipped at 0', 'held within the 0.5%-99.5% quantiles', 'standard scaling', 'median imputation'], ['f', 'm'])
    >>> gap = pd.DataFrame({"age": [20.0, None, 40.0]})
    >>> described = describe_preprocessing(build_preprocessor(["age"]).fit(gap), {"age": "numeric"})
    >>> described["age"]["steps"][-1], described["age"]["missing_indicator"]
    ('median imputation plus a missing indicator (weight 1: missing vs present counts like one standard deviation)', True)
    """  # noqa: E501
    described: dict[str, dict[str, Any]] = {}
    for name, pipeline, _columns in preprocessor.transformers_:
        if name == "remainder":
            continue
        kind = kinds[name]
        steps = pipeline.named_steps
        entry: dict[str, Any] = {"kind": kind}
        if kind == "categorical":
            entry["steps"] = [
                f"missing -> {MISSING_CATEGORY!r}",
                "one-hot encoding (unseen categories -> all zeros)",
                f"indicators weighted by {CATEGORY_WEIGHT:.6f}",
            ]
            entry["categories"] = [str(c) for c in steps["one_hot"].categories_[0]]
        else:
            with_indicator = has_indicator(steps["impute"])
            weight = indicator_weight(pipeline)
            imputation = (
                f"median imputation plus a missing indicator (weight {weight:.4g}: missing vs "
                "present counts like one standard deviation"
                + (", shared with the features missing together with it)" if weight < 1.0
                   else ")")
                if with_indicator
                else "median imputation"
            )
            entry["steps"] = (
                ["log1p of values clipped at 0"] if kind in LOG_KINDS else []
            ) + ["held within the 0.5%-99.5% quantiles", "standard scaling", imputation]
            entry["clip"] = [float(steps["clip"].lower_bounds_[0]),
                             float(steps["clip"].upper_bounds_[0])]
            mean = float(steps["scale"].mean_[0])
            scale = float(steps["scale"].scale_[0])
            # the median in the units before scaling (log units for money and counts)
            entry["impute_value"] = float(steps["impute"].statistics_[0]) * scale + mean
            entry["mean"] = mean
            entry["scale"] = scale
            entry["missing_indicator"] = with_indicator
            if with_indicator:
                entry["missing_indicator_weight"] = weight
        described[name] = entry
    return described
