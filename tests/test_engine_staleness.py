"""A data kind that keeps failing past its staleness limit makes the devices that need it
unavailable, with a reason a person understands; they come back by themselves once
Kraken answers again. Real engine, real simulator, simulated clock."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kraken_core.cli import scenario_service
from kraken_core.clock import SimulatedClock
from kraken_core.engine.live import TelemetryPoller
from kraken_core.engine.pollers import Pacing
from kraken_core.engine.settings import EngineSettings
from kraken_core.kraken.errors import KrakenUpstreamError
from kraken_core.service import Service
from kraken_core.simulator.scenario import load_scenario
from tests.helpers.bridge_process import SCENARIOS

EVENING = SCENARIOS / "iog_evening_smart_dispatch.json"
CAR = "smart_energy_device.dev-1"
ACCOUNT = "energy_account.A-1234ABCD"
TARIFF = "import_tariff.1900000000001"
FAULT_FROM, FAULT_TO = "2026-03-10T18:10:00Z", "2026-03-10T18:50:00Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def with_fault(tmp_path: Path, operation: str) -> Path:
    document = json.loads(EVENING.read_text(encoding="utf-8"))
    document["faults"] = [
        {"from": FAULT_FROM, "to": FAULT_TO, "operation": operation, "error_code": "KT-CT-1234"}
    ]
    path = tmp_path / f"evening_without_{operation}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def availability(service: Service, device_id: str) -> list[tuple[bool, str | None]]:
    """The device's availability events, in order."""
    return [
        (event.data["available"], event.data["reason"])
        for event in service.backend.events.buffered()
        if event.type == "availability" and event.data["device_id"] == device_id
    ]


def shown(service: Service, device_id: str) -> tuple[bool, str | None]:
    view = service.backend.device(device_id)
    assert view is not None
    return view.available, view.unavailable_reason


@pytest.mark.parametrize(
    ("operation", "device_id", "words", "kind"),
    [
        ("devices", CAR, "No answer about the car's state from Octopus", "devices"),
        ("smartMeterTelemetry", ACCOUNT, "No live meter readings from Octopus", "telemetry"),
    ],
)
async def test_a_kind_failing_past_its_limit_takes_its_devices_offline_until_it_answers(
    tmp_path: Path, operation: str, device_id: str, words: str, kind: str
) -> None:
    scenario = load_scenario(with_fault(tmp_path, operation))
    clock = SimulatedClock(scenario.start)
    async with scenario_service(scenario, clock) as (_, service):
        # Failing, but not yet for 15 minutes: still shown, the last answer kept.
        await service.engine.run_until(clock, at("2026-03-10T18:20:00Z"))
        assert shown(service, device_id) == (True, None)
        assert service.backend.health().stale == {}

        await service.engine.run_until(clock, at("2026-03-10T18:30:00Z"))
        available, reason = shown(service, device_id)
        assert available is False
        assert reason is not None
        assert reason.startswith(f"{words} since 18:09 (UK time)"), reason
        assert "KT-CT-1234" in reason
        assert "comes back by itself" in reason
        assert set(service.backend.health().stale) == {kind}
        # Devices that do not need the failing kind stay as they were.
        assert shown(service, TARIFF) == (True, None)

        # The fault ends at 18:50; the backoff (capped at 10 minutes) finds out by 19:00.
        await service.engine.run_until(clock, at("2026-03-10T19:01:00Z"))
        assert shown(service, device_id) == (True, None)
        assert service.backend.health().stale == {}
        events = availability(service, device_id)
        assert events[-2:] == [(False, reason), (True, None)]


async def test_dispatch_schedule_failures_make_the_car_unavailable_too(tmp_path: Path) -> None:
    scenario = load_scenario(with_fault(tmp_path, "flexPlannedDispatches"))
    clock = SimulatedClock(scenario.start)
    async with scenario_service(scenario, clock) as (_, service):
        await service.engine.run_until(clock, at("2026-03-10T18:40:00Z"))
        available, reason = shown(service, CAR)
        assert available is False
        assert reason is not None
        assert reason.startswith("No charging schedule from Octopus")
        await service.engine.run_until(clock, at("2026-03-10T19:01:00Z"))
        assert shown(service, CAR) == (True, None)


def test_the_reason_names_the_day_when_the_last_answer_was_not_today() -> None:
    poller = TelemetryPoller(Pacing(EngineSettings(), random.Random(1)), at("2026-03-10T23:50:00Z"))  # noqa: S311
    poller.record(at("2026-03-10T23:50:00Z"), None)
    poller.record(
        at("2026-03-10T23:51:00Z"),
        KrakenUpstreamError("Kraken failed (HTTP 502); it will try again.", operation="x"),
    )
    assert poller.stale_reason(at("2026-03-11T00:05:00Z")) is None
    reason = poller.stale_reason(at("2026-03-11T00:06:00Z"))
    assert reason is not None
    assert reason.startswith("No live meter readings from Octopus since 10 Mar 23:50 (UK time)")
    assert "(HTTP 502); it will try again. The bridge keeps trying" in reason
    poller.record(at("2026-03-11T00:07:00Z"), None)
    assert poller.stale_reason(at("2026-03-11T00:07:00Z")) is None
