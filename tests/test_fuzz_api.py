"""Schemathesis fuzzes the bridge's OpenAPI on a real server, steered into the corners a
hostile or careless client reaches: dates at year 1 and 9999, offsets of ±14:00, Unicode
digits, numbers too large for any clock, real device ids and real actions with such
bodies. No request may cause a 5xx, a traceback in the bridge's log, or work without end
(an answer later than HANG_S: a far year's span walked slot by slot, say). How many took
longer than a second is reported in the run's summary, not asserted: speed is the
benches' to judge, and a loaded CI machine stalls now and then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok

from kraken_core.engine.actions import SMART_ACTIONS, TARIFF_ACTIONS
from tests.conftest import SUMMARY_LINES
from tests.helpers.bridge_process import SCENARIOS, running_bridge

SCENARIO = str(SCENARIOS / "iog_evening_smart_dispatch.json")
STREAMING = {"/api/v1/events"}  # never ends by design; covered by the event-stream tests
EXAMPLES_PER_OPERATION = 800
SLOW_S = 1.0
HANG_S = 15.0  # far beyond any answer on a loaded machine: work that does not end
#: Query parameters and body fields that hold a date, a time or a date-time.
TIME_FIELDS = {"from", "to", "date", "ready_by"}

YEARS = st.sampled_from([1, 2, 1969, 1970, 2026, 2027, 2038, 9998, 9999])
OFFSETS = st.sampled_from(["", "Z", "+00:00", "+14:00", "-14:00", "+05:30", "-00:01", "+99:99"])
ODD_TEXT = st.sampled_from(
    [
        "²",  # a Unicode superscript digit: int() and isdigit() disagree about it
        "1³",
        "٢٠٢٦-٠٣-١٠",  # Arabic-Indic digits
        "9" * 5000,
        "-" + "9" * 40,
        "05:00+05:00",
        "24:00",
        "23:59:60",
        "2026-02-30",
        "2026-03-10T25:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "",
        " ",
        "NaN",
        "1e400",
    ]
)


@st.composite
def edge_times(draw: st.DrawFn) -> object:
    """A date, time or date-time at an edge, or something that only looks like one."""
    kind = draw(st.sampled_from(["datetime", "date", "time", "odd", "number"]))
    if kind == "odd":
        return draw(ODD_TEXT)
    if kind == "number":
        return draw(st.one_of(st.integers(-(10**30), 10**30), st.just(18000)))
    year, month = draw(YEARS), draw(st.integers(1, 12))
    day, hour = draw(st.integers(1, 28)), draw(st.integers(0, 23))
    if kind == "date":
        return f"{year:04d}-{month:02d}-{day:02d}"
    if kind == "time":
        minute = draw(st.sampled_from([0, 30, 7]))
        return f"{hour:02d}:{minute:02d}{draw(OFFSETS)}"
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:00:00{draw(OFFSETS)}"


@st.composite
def edge_spans(draw: st.DrawFn) -> tuple[str, str]:
    """A short span (one day) at an edge of the calendar, both ends with one offset: a
    span too long is refused before any date arithmetic, a short one is not."""
    year, offset = draw(st.sampled_from([1, 2, 9998, 9999])), draw(OFFSETS)
    month, day = draw(st.sampled_from([(1, 1), (6, 15), (12, 30)]))
    start = f"{year:04d}-{month:02d}-{day:02d}"
    end = f"{year:04d}-{month:02d}-{day + 1:02d}"
    if draw(st.booleans()):
        return start, end
    return f"{start}T00:00:00{offset}", f"{end}T00:00:00{offset}"


def steer(case: Any, data: st.DataObject, device_ids: list[str]) -> None:
    """Aim a generated case at real devices and actions, with edge times where a time goes."""
    path = case.path_parameters or {}
    if "device_id" in path and data.draw(st.booleans()):
        path["device_id"] = data.draw(st.sampled_from(device_ids))
    if "action" in path and data.draw(st.booleans()):
        path["action"] = data.draw(st.sampled_from([*SMART_ACTIONS, *TARIFF_ACTIONS]))
    for holder in (case.query, case.body):
        if not isinstance(holder, dict):
            continue
        for name in TIME_FIELDS:
            if data.draw(st.integers(0, 2)) == 0:
                holder[name] = data.draw(edge_times())
        if data.draw(st.integers(0, 2)) == 0:
            holder["from"], holder["to"] = data.draw(edge_spans())


def test_generated_requests_never_cause_a_server_error(tmp_path: Path) -> None:
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge:
        devices = httpx.get(f"{bridge.url}/api/v1/devices", headers=bridge.headers, timeout=10)
        device_ids = [device["id"] for device in devices.json()]
        schema = schemathesis.openapi.from_url(f"{bridge.url}/openapi.json", headers=bridge.headers)
        sent = 0
        server_errors: list[str] = []
        slow: list[str] = []
        hung: list[str] = []
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
            @given(case=operation.as_strategy(), data=st.data())
            def call(case: Any, data: st.DataObject) -> None:
                nonlocal sent
                steer(case, data, device_ids)
                response = case.call(base_url=bridge.url, headers=bridge.headers)
                sent += 1
                where = f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}"
                if response.status_code >= 500:
                    server_errors.append(f"{where}: {response.text[:300]}")
                if response.elapsed > SLOW_S:  # schemathesis's Response: seconds, a float
                    slow.append(f"{where}: {response.elapsed:.1f} s")
                if response.elapsed > HANG_S:
                    hung.append(f"{where}: {response.elapsed:.1f} s")

            call()
        tracebacks = [line for line in bridge.output if "Traceback" in line]
        SUMMARY_LINES.append(
            f"fuzz: {sent} requests over {len(fuzzed)} operations, {len(server_errors)} server "
            f"errors, {len(tracebacks)} tracebacks, {len(slow)} slower than {SLOW_S:.0f} s "
            "(edge years 1-9999 and one-day spans there, offsets ±14:00, Unicode digits, huge "
            "numbers in times, real device ids and actions)"
        )
        assert "/api/v1/devices/{device_id}/actions/{action}" in fuzzed
        assert sent >= 8000
        assert server_errors == []
        assert tracebacks == [], "\n".join(bridge.output[-80:])
        assert hung == []
