"""Leave sensitive attributes (gender, age) out of a segmentation's features.

A workspace with ``sensitive_features off`` (see :mod:`mallseg.data.consent_settings`)
segments without gender and age whatever the lens; the features are still computed (the
segments' make-up by them is shown against the population).

Examples
--------
>>> drop_sensitive(["age", "gender", "annual_income"], lens="demographic")
['annual_income']
>>> drop_sensitive(["age", "gender"], lens="custom")
Traceback (most recent call last):
...
ValueError: lens custom keeps only sensitive features (age, gender), which this workspace \
leaves out (sensitive_features off): choose another lens, or run `mallseg settings set \
sensitive_features on`
"""

from __future__ import annotations

from collections.abc import Sequence

from mallseg.data.consent_settings import SENSITIVE_FEATURES

__all__ = ["drop_sensitive"]


def drop_sensitive(features: Sequence[str], *, lens: str = "custom") -> list[str]:
    """``features`` without gender, age and birth year (order kept).

    Raises
    ------
    ValueError
        When nothing else is left (the message says what to do).
    """
    kept = [f for f in features if f not in SENSITIVE_FEATURES]
    if not kept:
        raise ValueError(
            f"lens {lens} keeps only sensitive features ({', '.join(features)}), which this "
            "workspace leaves out (sensitive_features off): choose another lens, or run "
            "`mallseg settings set sensitive_features on`")
    return kept
