"""The request schedule on a simulated clock: what the bridge asks Kraken, and when."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.engine.live import COMBINE_WITHIN
from kraken_core.engine.refresh import RefreshRefused
from kraken_core.engine.settings import EngineSettings
from kraken_core.service import Service
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import parse_scenario
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.service_harness import running

DAY = SCENARIOS / "iog_day_plugged_18_to_04.json"
PLUGGED = (datetime(2026, 3, 10, 18, tzinfo=UTC), datetime(2026, 3, 11, 4, tzinfo=UTC))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@asynccontextmanager
async def engine_on(
    tmp_path: Path,
    *,
    faults: list[dict[str, Any]] | None = None,
    settings: EngineSettings | None = None,
) -> AsyncIterator[tuple[Simulator, Service, SimulatedClock]]:
    raw = json.loads(DAY.read_text())
    raw["faults"] = faults or []
    scenario = parse_scenario(json.dumps(raw), DAY.name)
    async with running(scenario, tmp_path, settings, keep_request_log=True) as parts:
        yield parts


def log_of(simulator: Simulator) -> list[tuple[datetime, str]]:
    assert simulator.request_log is not None
    return simulator.request_log


def max_in_window(times: list[datetime], window: timedelta) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, when in enumerate(times):
        while when - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_a_day_of_requests_per_operation(tmp_path: Path) -> None:
    async with engine_on(tmp_path) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-03-11T00:00:00Z"))
        await service.engine.run_until(clock, at("2026-03-11T12:00:00Z"))
        start = at("2026-03-10T00:00:00Z")
        day = Counter(f for t, f in log_of(simulator) if t < start + timedelta(days=1))
    # Telemetry every minute; states every minute while the car is plugged in (18:00-24:00
    # here) and every five minutes otherwise; dispatches only while plugged in.
    assert 1435 <= day["smartMeterTelemetry"] <= 1441
    assert 18 * 12 + 6 * 60 - 10 <= day["devices"] <= 18 * 12 + 6 * 60 + 20
    assert 6 * 60 - 5 <= day["flexPlannedDispatches"] <= 6 * 60 + 10
    assert day["account"] == 24
    assert day["rest:standard-unit-rates"] <= 4  # today once, tomorrow after 16:00
    assert day["obtainKrakenToken"] <= 27  # a token lives 60 min, renewed 5 min early
    assert (
        max_in_window(
            [t for t, f in log_of(simulator) if f == "flexPlannedDispatches"], timedelta(minutes=1)
        )
        <= 5
    )


async def test_no_dispatch_request_while_the_car_cannot_receive_dispatches(
    tmp_path: Path,
) -> None:
    async with engine_on(tmp_path) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-03-11T08:00:00Z"))
        dispatch_times = [t for t, f in log_of(simulator) if f == "flexPlannedDispatches"]
        state_checks = [t for t, f in log_of(simulator) if f == "devices" and t < PLUGGED[0]]
    # Only while plugged in, plus the one final refresh about a minute after unplugging.
    outside = [t for t in dispatch_times if not PLUGGED[0] <= t < PLUGGED[1]]
    assert len(outside) == 1
    assert PLUGGED[1] < outside[0] <= PLUGGED[1] + timedelta(minutes=3)
    # Unplugged, the state is checked every five minutes, not every minute (a check may
    # ride along up to 45 s early with the minute's telemetry request, plus jitter).
    gaps = [b - a for a, b in itertools.pairwise(state_checks)]
    assert min(gaps) >= timedelta(minutes=3, seconds=50)
    assert len(state_checks) <= 18 * 60 // 4  # a quarter of the every-minute checks
    # Plugged in at 18:00: the first state check after it sees it, and the schedule is
    # fetched within seconds of that.
    first_after = next(t for t in dispatch_times if t >= PLUGGED[0])
    assert first_after - PLUGGED[0] <= timedelta(minutes=5, seconds=30)


async def test_requests_stay_off_the_minute_boundary(tmp_path: Path) -> None:
    async with engine_on(tmp_path) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T20:00:00Z"))
        requests = [t for t, _ in log_of(simulator) if t > at("2026-03-10T00:01:00Z")]
    # Nothing in the first seconds of a minute, so never on :00 or :30; regular polls
    # land 5-25 s past the minute (a quick plug-in refresh may carry a poll due soon).
    assert requests
    assert all(t.second >= 5 for t in requests), sorted({t.second for t in requests})
    regular = [t for t in requests if 5 <= t.second < 26]
    assert len(regular) >= 0.95 * len(requests)


async def test_failures_back_off_one_two_three_minutes_then_recover(tmp_path: Path) -> None:
    fault = {
        "from": "2026-03-10T06:00:00Z",
        "to": "2026-03-10T06:15:00Z",
        "operation": "smartMeterTelemetry",
        "error_code": "KT-CT-1234",
    }
    async with engine_on(tmp_path, faults=[fault]) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T06:40:00Z"))
        tries = [
            t
            for t, f in log_of(simulator)
            if f == "smartMeterTelemetry" and at("2026-03-10T06:00:00Z") <= t
        ]
        job = service.engine.telemetry
        assert job.failures == 0
        assert job.last_success is not None
        assert job.last_success > at("2026-03-10T06:15:00Z")
    failing = [t for t in tries if t < at("2026-03-10T06:15:00Z")]
    gaps = [b - a for a, b in itertools.pairwise(failing)]
    # 1, 2, 3, 4 minutes, each give or take the jitter (another draw per poll), and a try
    # may ride along early with the car's state poll when due within COMBINE_WITHIN.
    low, high = EngineSettings().jitter_s
    spread = timedelta(seconds=high - low)
    for minutes, gap in zip((1, 2, 3, 4), gaps[:4], strict=True):
        backoff = timedelta(minutes=minutes)
        assert backoff - spread - COMBINE_WITHIN <= gap <= backoff + spread, (minutes, gaps)
    assert tries[-1] - tries[-2] == timedelta(minutes=1) or tries[-2] > failing[-1]


async def test_manual_refreshes_hammering_never_break_the_limits(tmp_path: Path) -> None:
    async with engine_on(tmp_path) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T18:30:00Z"))
        accepted, refused = 0, []
        end = at("2026-03-10T20:30:00Z")
        while clock.now() < end:
            try:
                service.engine.request_dispatch_refresh("dev-1", "manual")
                accepted += 1
            except RefreshRefused as exc:
                refused.append(str(exc))
            await service.engine.run_until(clock, clock.now() + timedelta(seconds=5))
        times = [t for t, f in log_of(simulator) if f == "flexPlannedDispatches"]
    assert max_in_window(times, timedelta(minutes=1)) <= 5
    assert accepted <= 2 * 20  # two hours at 20 on-demand refreshes an hour
    assert any("less than a minute ago" in message for message in refused)
    assert any("in the last hour" in message for message in refused)
    assert all("can run at" in message for message in refused)


async def test_plugging_in_at_a_5_minute_interval_fetches_quickly_and_retries(
    tmp_path: Path,
) -> None:
    settings = EngineSettings(poll_interval=timedelta(minutes=5))
    async with engine_on(tmp_path, settings=settings) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T17:59:00Z"))
        service.engine.request_dispatch_refresh("dev-1", "plug_in")
        await service.engine.run_until(clock, at("2026-03-10T18:01:00Z"))
        times = [
            t
            for t, f in log_of(simulator)
            if f == "flexPlannedDispatches" and t >= at("2026-03-10T17:59:00Z")
        ]
        view = service.backend.device("smart_energy_device.dev-1")
        assert view is not None
        car = view.state
    # The hint arrived before Kraken saw the plug: a try within seconds, then once a
    # minute until a schedule appears.
    assert times
    assert times[0] - at("2026-03-10T17:59:00Z") <= timedelta(seconds=15)
    assert car["dispatches_honoured"] is True
    assert car["next_dispatch_start"] == "2026-03-10T19:00:00Z"


async def test_an_unknown_device_refresh_is_refused_politely(tmp_path: Path) -> None:
    async with engine_on(tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T00:05:00Z"))
        service.engine.request_dispatch_refresh("dev-1", "manual")
        with pytest.raises(RefreshRefused, match="less than a minute ago"):
            service.engine.request_dispatch_refresh("dev-1", "manual")


# --- rates through the product: asked once, only what it links, quiet once known -----------


async def _rates_day(tmp_path: Path, name: str, until: str) -> tuple[Counter[str], Service]:
    scenario = parse_scenario((SCENARIOS / name).read_text(), name)
    async with running(scenario, tmp_path, keep_request_log=True) as (simulator, service, clock):
        await service.engine.run_until(clock, at(until))
        rest = Counter(f for _, f in log_of(simulator) if f.startswith("rest:"))
    return rest, service


async def test_agile_stops_asking_once_the_2300_block_is_in(tmp_path: Path) -> None:
    """The block to 23:00 tomorrow arrives at 16:00: no polling all evening for the last
    hour of tomorrow, which only comes with the next day's block."""
    rest, service = await _rates_day(
        tmp_path, "agile_2300_blocks_published_1600.json", "2026-03-11T12:00:00Z"
    )
    assert rest == Counter(
        {"rest:product": 1, "rest:standard-unit-rates": 2, "rest:standing-charges": 1}
    )
    assert service.engine.tariffs.tomorrow_known(at("2026-03-10T23:30:00Z"))


async def test_economy7_asks_day_and_night_rates_and_never_standard(tmp_path: Path) -> None:
    rest, service = await _rates_day(
        tmp_path, "economy7_smart_meter_summer.json", "2026-07-15T20:00:00Z"
    )
    assert rest["rest:standard-unit-rates"] == 0
    assert rest["rest:product"] == 1
    assert 1 <= rest["rest:day-unit-rates"] <= 2  # open-ended rows: today, then tomorrow
    assert rest["rest:night-unit-rates"] == rest["rest:day-unit-rates"]
    assert service.engine.tariffs.last_error is None


async def test_a_linked_endpoint_with_no_rate_for_now_is_an_error_asked_hourly(
    tmp_path: Path,
) -> None:
    """Octopus answering an empty list where a price should be is said, not re-polled
    every few minutes."""
    raw = json.loads((SCENARIOS / "economy7_older_meter_winter.json").read_text())
    raw["night_unit_rates"] = {code: [] for code in raw["night_unit_rates"]}
    scenario = parse_scenario(json.dumps(raw), "economy7_no_night_rates.json")
    async with running(scenario, tmp_path, keep_request_log=True) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-01-15T03:00:00Z"))
        nights = [t for t, f in log_of(simulator) if f == "rest:night-unit-rates"]
        device = service.backend.device("import_tariff.1900000000702")
    assert device is not None
    assert not device.available  # 03:00 is a night slot: no price
    assert device.unavailable_reason is not None
    assert (
        "Octopus answered night-unit-rates for E-2R-VAR-22-11-01-A with no rates from now on"
        in device.unavailable_reason
    )
    assert 7 <= len(nights) <= 9  # 20:00 to 03:00: once an hour, not every few minutes
