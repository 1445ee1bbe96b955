"""Requests generated from the OpenAPI spec, valid and invalid: never a 5xx."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = int(os.environ.get("MALLSEG_FUZZ_API_EXAMPLES", "10"))
"""Generated requests per operation and mode (valid, then invalid); bench/bench_fuzz.py
runs many more."""


def _generated_requests(operation: Any, mode: GenerationMode, auth: dict[str, str],
                        cases: Counter[str], statuses: Counter[int]) -> Callable[[], None]:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(headers=auth)
        cases[operation.label] += 1
        statuses[response.status_code] += 1
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} {case.body!r} -> "
            f"{response.status_code}: {response.text[:300]}")

    return run


def test_no_generated_request_makes_the_service_fail(service: Any) -> None:
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    auth = {"Authorization": f"Bearer {service.admin_key}"}
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _generated_requests(operation, mode, auth, cases, statuses)()
            except Unsatisfiable:
                # nothing to make invalid (GET /health takes no input)
                assert mode is GenerationMode.NEGATIVE and cases[operation.label] > 0
    print(f"\nschemathesis: {sum(cases.values())} generated requests over {len(cases)} "
          f"operations; statuses {dict(sorted(statuses.items()))}")
    assert set(cases) == {operation.label for operation in operations}
    assert len(cases) == 24
    assert statuses[422] > 0 and sum(n for s, n in statuses.items() if s < 300) > 0
