"""Why a customer is in their segment: confidence, runner-up and the features that decide.

A feature's contribution is how much it pulls the customer toward the assigned segment
rather than the runner-up: the squared-distance contribution of its preprocessed columns to
the runner-up centre minus that to the assigned centre. One-hot columns, and the missing
indicator of a feature with a missing value, are summed back to the original feature.
Positive values pull toward the assigned segment; for nearest-centre models the
contributions add up to ``d(runner_up)^2 - d(segment)^2 >= 0``. For Gaussian mixtures and
HDBSCAN, whose assignment weighs covariances or density, the same Euclidean decomposition
against the segment centres is an approximation.

The values shown next to a contribution are on one scale: the customer's own value (None
when missing), the arithmetic mean of the segment's members and the arithmetic mean of all
customers (for categorical features: the most frequent level), both stored when the
segmenter was fitted. The confidence and the runner-up come from
:meth:`~mallseg.segment.segmenter.Segmenter.predict_proba`: the same numbers as
:meth:`~mallseg.segment.segmenter.Segmenter.confidence` and ``assign_one``.

Examples
--------
>>> import pandas as pd
>>> from mallseg.segment.segmenter import Segmenter
>>> customers = pd.DataFrame({"annual_income": [15, 18, 16, 120, 125, 118],
...                           "spending_score": [80, 75, 78, 10, 12, 15]})
>>> segmenter = Segmenter(features="classic", n_segments=2).fit(customers)
>>> explanation = explain_customer(segmenter, {"annual_income": 17, "spending_score": 77})
>>> explanation.segment == int(segmenter.labels_[0]), explanation.runner_up is not None
(True, True)
>>> [f.feature for f in explanation.features]
['annual_income', 'spending_score']
>>> income = explanation.features[0]
>>> income.segment_value, round(income.population_value, 2)  # means of 15, 18, 16 and of all
(16.333333333333332, 68.67)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from mallseg.segment.preprocess import output_slices
from mallseg.segment.segmenter import Segmenter

__all__ = ["CustomerExplanation", "FeatureContribution", "explain_customer"]


@dataclass(frozen=True)
class FeatureContribution:
    """One original feature's part in placing a customer.

    Attributes
    ----------
    feature:
        Feature name.
    customer_value:
        The customer's value, None when missing (a missing value is not replaced by the
        median here: its missing indicator's pull is part of ``contribution``).
    segment_value:
        Arithmetic mean over the segment's training members who have a value (numeric),
        or their most frequent level (categorical); None when no member has a value.
    population_value:
        The same statistic over all training customers.
    contribution:
        Pull toward the assigned segment versus the runner-up (see module docstring).

    Examples
    --------
    >>> FeatureContribution("age", 30.0, 32.5, 40.1, 1.2).contribution
    1.2
    """

    feature: str
    customer_value: float | str | None
    segment_value: float | str | None
    population_value: float | str | None
    contribution: float


@dataclass(frozen=True)
class CustomerExplanation:
    """Why a customer is in their segment.

    Attributes
    ----------
    segment:
        Assigned segment (``-1`` = unassigned; contributions then refer to the most
        probable segment).
    confidence:
        Probability that the customer belongs to the assigned segment (0 when unassigned):
        among customers shown 0.8, about eight in ten belong where they are placed.
    runner_up:
        The most probable other segment, None when there is only one segment.
    margin:
        Probability of the assigned (or, when unassigned, the most probable) segment minus
        that of the runner-up, in [-1, 1]: near 0 on a boundary, near 1 deep inside a
        segment, negative when the runner-up is the more probable segment (a customer the
        algorithm places on the other side of a boundary the probabilities draw).
    features:
        Contributions per original feature, strongest pull toward the segment first.
    segment_size:
        Training customers in the segment the values refer to (what ``segment_value`` is
        computed over).

    Examples
    --------
    >>> CustomerExplanation(2, 0.9, 0, 0.85, ()).to_dict()["runner_up"]
    0
    """

    segment: int
    confidence: float
    runner_up: int | None
    margin: float
    features: tuple[FeatureContribution, ...]
    segment_size: int = 0

    def top_features(self, n: int = 3) -> tuple[FeatureContribution, ...]:
        """Return the ``n`` features that pull hardest toward the segment.

        Examples
        --------
        >>> explanation = CustomerExplanation(0, 1.0, 1, 1.0, (
        ...     FeatureContribution("a", 1.0, 1.0, 0.0, 2.0),
        ...     FeatureContribution("b", 1.0, 1.0, 0.0, 1.0)))
        >>> [f.feature for f in explanation.top_features(1)]
        ['a']
        """
        return self.features[:n]

    def to_dict(self) -> dict[str, Any]:
        """Return the explanation as JSON-ready built-in types.

        Examples
        --------
        >>> CustomerExplanation(1, 0.5, 0, 0.1, ()).to_dict()["margin"]
        0.1
        """
        return asdict(self)


def explain_customer(
    segmenter: Segmenter, row: pd.DataFrame | Mapping[Any, object]
) -> CustomerExplanation:
    """Explain the segment of one customer.

    Parameters
    ----------
    segmenter:
        A fitted :class:`~mallseg.segment.segmenter.Segmenter`.
    row:
        The customer: a one-row DataFrame or a mapping of feature name to value.

    Raises
    ------
    ValueError
        When ``row`` is a DataFrame with other than one row.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"age": [20, 21, 22, 60, 61, 62]})
    >>> segmenter = Segmenter(features=["age"], n_segments=2).fit(customers)
    >>> explanation = explain_customer(segmenter, {"age": 21})
    >>> round(explanation.confidence, 3), explanation.features[0].segment_value
    (1.0, 21.0)
    >>> explanation.segment_size, explanation.features[0].population_value
    (3, 41.0)
    """
    check_is_fitted(segmenter, "model_")
    frame = row if isinstance(row, pd.DataFrame) else pd.DataFrame([dict(row)])
    if len(frame) != 1:
        raise ValueError(f"row has {len(frame)} rows: explain one customer at a time")
    point = segmenter.transform(frame)[0]
    if segmenter.n_segments_ == 0:
        return CustomerExplanation(-1, 0.0, None, 0.0, ())
    segment = int(segmenter.predict(frame)[0])
    proba = segmenter.predict_proba(frame)[0]
    reference = segment if segment >= 0 else int(np.argmax(proba))
    others = [int(k) for k in np.argsort(-proba, kind="stable") if k != reference]
    runner_up = others[0] if others else None
    confidence = float(proba[segment]) if segment >= 0 else 0.0
    margin = (
        float(proba[reference] - proba[runner_up]) if runner_up is not None
        else float(proba[reference])
    )
    centre = segmenter.centers_[reference]
    pull = np.zeros_like(point)
    if runner_up is not None:
        pull = (point - segmenter.centers_[runner_up]) ** 2 - (point - centre) ** 2
    segment_profile = segmenter.segment_profile_[reference]
    contributions = [
        FeatureContribution(
            feature=name,
            customer_value=_customer_value(frame[name].iloc[0]),
            segment_value=segment_profile[name],
            population_value=segmenter.population_profile_[name],
            contribution=float(pull[columns].sum()),
        )
        for name, columns in output_slices(segmenter.preprocessor_).items()
    ]
    contributions.sort(key=lambda c: c.contribution, reverse=True)
    return CustomerExplanation(
        segment=segment,
        confidence=confidence,
        runner_up=runner_up,
        margin=margin,
        features=tuple(contributions),
        segment_size=int(segmenter.segment_sizes_[reference]),
    )


def _customer_value(value: object) -> float | str | None:
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):  # type: ignore[call-overload]
        return None
    if isinstance(value, str):
        return value
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
