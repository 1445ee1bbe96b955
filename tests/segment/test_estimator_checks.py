"""scikit-learn's own estimator checks, run over the Segmenter.

The checks feed numpy arrays, so the Segmenter is checked with ``features=None`` (every
column is a feature, named ``x0``, ``x1``, ...). Missing values are data here (a numeric
feature with gaps gets a missing indicator), so the Segmenter declares ``allow_nan`` and
the checks test that infinite values, not NaN, are refused. No check is expected to fail.
One check is not run: ``check_array_api_input`` tests array-API namespaces (CuPy, torch),
which the Segmenter does not take (its input is a customer table); scikit-learn itself
skips it unless ``SCIPY_ARRAY_API`` is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import estimator_checks_generator
from threadpoolctl import threadpool_limits

from mallseg.segment.segmenter import Segmenter

NOT_RUN = {"check_array_api_input": "array-API namespaces are not a Segmenter input"}


def check_name(check: Callable[..., object]) -> str:
    return str(check.func.__name__ if isinstance(check, partial) else check.__name__)


CHECKS = [
    (estimator, check)
    for estimator, check in estimator_checks_generator(
        Segmenter(features=None, n_segments=3), legacy=True, mark="skip"
    )
    if check_name(check) not in NOT_RUN
]


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    # dozens of fits on tiny arrays: threads would only wait for each other
    with threadpool_limits(limits=1):
        yield


@pytest.mark.parametrize(
    ("estimator", "check"), CHECKS, ids=[check_name(check) for _, check in CHECKS]
)
def test_segmenter_passes_the_scikit_learn_estimator_checks(
    estimator: BaseEstimator, check: Callable[[BaseEstimator], None]
) -> None:
    check(estimator)


def test_every_check_but_the_array_api_one_is_run() -> None:
    names = {check_name(check) for _, check in CHECKS}
    assert len(names) >= 40
    assert {"check_clustering", "check_fit_idempotent", "check_dtype_object",
            "check_n_features_in_after_fitting"} <= names
    assert not names & set(NOT_RUN)
