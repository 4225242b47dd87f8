"""Schemathesis fuzzes the bridge's OpenAPI on a real server: no request may cause a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from tests.helpers.bridge_process import SCENARIOS, running_bridge

SCENARIO = str(SCENARIOS / "iog_evening_smart_dispatch.json")
STREAMING = {"/api/v1/events"}  # never ends by design; covered by the event-stream tests
EXAMPLES_PER_OPERATION = 1000


def test_generated_requests_never_cause_a_server_error(tmp_path: Path) -> None:
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge:
        schema = schemathesis.openapi.from_url(f"{bridge.url}/openapi.json", headers=bridge.headers)
        sent = 0
        server_errors: list[str] = []
        fuzzed = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), f"the bridge's OpenAPI does not load: {result}"
            operation = result.ok()
            if operation.path in STREAMING:
                continue
            fuzzed.append(operation.path)

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def call(case: Any) -> None:
                nonlocal sent
                response = case.call(base_url=bridge.url, headers=bridge.headers)
                sent += 1
                if response.status_code >= 500:
                    server_errors.append(f"{case.method} {case.formatted_path}: {response.text}")

            call()
        assert "/api/v1/devices/{device_id}" in fuzzed
        print(f"fuzzed {fuzzed}: {sent} requests, {len(server_errors)} server errors")
        assert sent >= 1000
        assert server_errors == []
