"""Settings for the whole test run (tests and the examples in docstrings).

mallseg pseudonymises customer ids by default. The suite's tests of ingest, features,
segments, insights and the CLI were written against ids as given and check those
mechanics, so they run with ``MALLSEG_PSEUDONYMISE=0``; the tests under ``tests/privacy``
run with the default, pseudonyms on, and check the whole pipeline that way.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _customer_ids_as_given_outside_privacy_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "privacy" in request.node.path.parts:
        monkeypatch.delenv("MALLSEG_PSEUDONYMISE", raising=False)
        return
    monkeypatch.setenv("MALLSEG_PSEUDONYMISE", "0")
