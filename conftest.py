"""Settings for the whole test run (tests and the examples in docstrings).

mallseg pseudonymises customer ids by default. The suite's tests of ingest, features,
segments, insights and the CLI were written against ids as given and check those
mechanics, so they run with ``MALLSEG_PSEUDONYMISE=0``; the tests under ``tests/privacy``
run with the default, pseudonyms on, and check the whole pipeline that way.

The variable is set before each test's fixtures are set up (module- and session-scoped
ones included, which an autouse fixture would come too late for).
"""

from __future__ import annotations

import os

import pytest

_VARIABLE = "MALLSEG_PSEUDONYMISE"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Ids as given outside ``tests/privacy``, the default inside it."""
    if "privacy" in item.path.parts:
        os.environ.pop(_VARIABLE, None)
    else:
        os.environ[_VARIABLE] = "0"
