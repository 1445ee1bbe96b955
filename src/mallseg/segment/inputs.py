"""Checks of a Segmenter's parameters and of the customer table it is given.

Each failure names the parameter or feature, the value found and what is expected.

Examples
--------
>>> check_count("n_segments", 0, 1, allow_none=False)
Traceback (most recent call last):
...
mallseg.segment.inputs.InvalidParameterError: n_segments=0 is invalid: expected an integer >= 1 (n_segments == 0, must be >= 1.)
"""  # noqa: E501

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.utils import check_scalar

from mallseg.segment.preprocess import FEATURE_KINDS

__all__ = [
    "InvalidParameterError",
    "check_count",
    "check_feature_kinds",
    "check_feature_values",
    "check_random_state",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter with a wrong value or type.

    The message names the parameter, its value and what is expected. Like scikit-learn's
    own, it is both a ``ValueError`` and a ``TypeError``.

    Examples
    --------
    >>> issubclass(InvalidParameterError, ValueError), issubclass(InvalidParameterError, TypeError)
    (True, True)
    """


def check_count(name: str, value: object, minimum: int, allow_none: bool) -> None:
    """Raise unless ``value`` is an integer >= ``minimum`` (or None when allowed).

    scikit-learn's ``check_scalar`` does the check; booleans are refused as well.

    Examples
    --------
    >>> check_count("fit_sample_size", None, 2, allow_none=True)
    >>> check_count("n_segments", True, 1, allow_none=False)
    Traceback (most recent call last):
    ...
    mallseg.segment.inputs.InvalidParameterError: n_segments=True is invalid: expected an integer >= 1
    """  # noqa: E501
    if value is None and allow_none:
        return
    expected = f"an integer >= {minimum}" + (" or None" if allow_none else "")
    if isinstance(value, bool):
        raise InvalidParameterError(f"{name}={value!r} is invalid: expected {expected}")
    try:
        check_scalar(value, name, numbers.Integral, min_val=minimum)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(
            f"{name}={value!r} is invalid: expected {expected} ({error})"
        ) from error


def check_random_state(value: object) -> None:
    """Raise unless ``value`` is an integer seed or None.

    Examples
    --------
    >>> check_random_state(7)
    >>> check_random_state("seed")
    Traceback (most recent call last):
    ...
    mallseg.segment.inputs.InvalidParameterError: random_state='seed' is invalid: expected an int or None
    """  # noqa: E501
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise InvalidParameterError(f"random_state={value!r} is invalid: expected an int or None")


def check_feature_kinds(kinds: object) -> dict[str, str]:
    """Return the caller's feature kinds as a dict, after checking every kind is known.

    Examples
    --------
    >>> check_feature_kinds({"mnt_wines": "money"})
    {'mnt_wines': 'money'}
    >>> check_feature_kinds({"age": "years"})
    Traceback (most recent call last):
    ...
    mallseg.segment.inputs.InvalidParameterError: feature_kinds has unknown kind(s) {'age': 'years'}: expected one of categorical, count, flag, money, numeric, rate, share
    """  # noqa: E501
    if kinds is None:
        return {}
    if not isinstance(kinds, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in kinds.items()
    ):
        raise InvalidParameterError(
            f"feature_kinds={kinds!r} is invalid: expected a mapping of feature name to kind, "
            "or None"
        )
    unknown = {k: v for k, v in kinds.items() if v not in FEATURE_KINDS}
    if unknown:
        raise InvalidParameterError(
            f"feature_kinds has unknown kind(s) {unknown}: expected one of "
            f"{', '.join(sorted(FEATURE_KINDS))}"
        )
    return dict(kinds)


def check_feature_values(
    frame: pd.DataFrame, features: Sequence[str], kinds: Mapping[str, str]
) -> None:
    """Raise when a feature column cannot be used as its kind says.

    Dates, text in a numeric feature, infinite values, a feature without any value and a
    flag holding something else than 0 and 1 are refused, naming the feature (and row).

    Examples
    --------
    >>> import pandas as pd
    >>> check_feature_values(pd.DataFrame({"vip": [0, 1, 3]}), ["vip"], {"vip": "flag"})
    Traceback (most recent call last):
    ...
    ValueError: feature 'vip' is a flag (0/1) but holds 3.0: give 0/1 or True/False, or another kind in feature_kinds
    """  # noqa: E501
    for name in features:
        dtype = frame[name].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            raise ValueError(
                f"feature {name!r} holds dates ({dtype}): turn it into a number such as "
                "days since an event"
            )
        if kinds[name] == "categorical":
            continue
        numeric = pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        if not numeric:
            raise ValueError(
                f"feature {name!r} is {kinds[name]} but its column has dtype {dtype}: "
                "convert it to numbers"
            )
        values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        present = values[~np.isnan(values)]
        if np.isinf(present).any():
            row = int(np.flatnonzero(np.isinf(values))[0])
            raise ValueError(
                f"feature {name!r} holds an infinite value (row {row}): give a finite "
                "number, or leave the value empty if it is unknown"
            )
        if len(present) == 0:
            raise ValueError(
                f"feature {name!r} has no value in any of the {len(values)} rows: "
                "leave it out of the features"
            )
        if kinds[name] == "flag" and not np.isin(present, (0.0, 1.0)).all():
            odd = float(present[~np.isin(present, (0.0, 1.0))][0])
            raise ValueError(
                f"feature {name!r} is a flag (0/1) but holds {odd!r}: give 0/1 or "
                "True/False, or another kind in feature_kinds"
            )
