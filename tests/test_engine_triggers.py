"""Trigger events from the real engine against the simulator: dispatch events from
successive successful polls (none from a failed one), tomorrow's prices, a new product,
and the allowance settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from kraken_core.engine.settings import EngineSettings
from kraken_core.service import Service
from kraken_core.simulator.scenario import load_scenario
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.service_harness import running

EVENING = SCENARIOS / "iog_evening_smart_dispatch.json"
CAR = "smart_energy_device.dev-1"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def triggers(service: Service) -> list[dict[str, Any]]:
    return [e.data for e in service.backend.events.buffered() if e.type == "trigger"]


def cards(service: Service, device_id: str) -> list[str]:
    return [t["card"] for t in triggers(service) if t["device_id"] == device_id]


def state_of(service: Service, device_id: str) -> dict[str, Any]:
    device = service.backend.device(device_id)
    assert device is not None, f"no device {device_id}"
    return device.state


async def test_a_dispatch_is_planned_starts_ends_and_completes(tmp_path: Path) -> None:
    async with running(load_scenario(EVENING), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T20:10:00Z"))
        assert cards(service, CAR) == [
            "dispatch_changed",  # 19:00-20:00 planned
            "dispatch_changed",  # the night charge planned
            "dispatch_started",
            "dispatch_ended",
            "dispatch_completed",
        ]
        started = next(t for t in triggers(service) if t["card"] == "dispatch_started")
        assert started["tokens"] == {
            "start": "2026-03-10T19:00:00Z",
            "end": "2026-03-10T20:00:00Z",
            "type": "SMART",
            "duration_minutes": 60.0,
        }
        # the trigger comes after the state it describes
        events = service.backend.events.buffered()
        dispatching = next(
            e.id for e in events if e.type == "state" and e.data["state"].get("dispatching") is True
        )
        assert dispatching < next(
            e.id for e in events if e.type == "trigger" and e.data["card"] == "dispatch_started"
        )


async def test_failed_polls_make_no_event_and_the_next_success_makes_it_once(
    tmp_path: Path,
) -> None:
    document = json.loads(EVENING.read_text(encoding="utf-8"))
    document["faults"] = [
        {
            "from": "2026-03-10T18:58:00Z",
            "to": "2026-03-10T19:06:00Z",
            "operation": "devices",
            "http_status": 503,
        },
    ]
    path = tmp_path / "evening_with_outage.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    async with running(load_scenario(path), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T19:05:00Z"))
        assert "dispatch_started" not in cards(service, CAR)
        assert service.engine.devices.failures > 0
        # the price follows the clock and the plan already known
        tariff = state_of(service, "import_tariff.1900000000001")
        assert tariff["rate_source"] == "smart_dispatch"
        await service.engine.run_until(clock, at("2026-03-10T19:30:00Z"))
        assert cards(service, CAR).count("dispatch_started") == 1


async def test_tomorrow_prices_published_fires_once_when_they_appear(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "agile_negative_prices.json")
    async with running(scenario, tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-04-12T14:55:00Z"))
        assert triggers(service) == []
        await service.engine.run_until(clock, at("2026-04-12T15:30:00Z"))
        (published,) = triggers(service)
        assert published["card"] == "tomorrow_prices_published"
        assert published["device_id"] == "import_tariff.1900000000001"
        assert published["tokens"]["day"] == "2026-04-13"
        assert published["tokens"]["max_unit_rate"] == 43.9


async def test_a_new_product_on_the_account_is_a_trigger(tmp_path: Path) -> None:
    scenario = load_scenario(EVENING)
    async with running(scenario, tmp_path) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T18:00:00Z"))
        meters = list(scenario.account.electricity)
        meters[0] = meters[0].model_copy(
            update={"product_code": "AGILE-24-10-01", "tariff_code": "E-1R-AGILE-24-10-01-C"}
        )
        account = scenario.account.model_copy(update={"electricity": meters})
        simulator.scenario = scenario.model_copy(update={"account": account})
        # The account is read hourly: the change shows within the hour.
        await service.engine.run_until(clock, at("2026-03-10T19:00:00Z"))
        changes = [t for t in triggers(service) if t["card"] == "tariff_product_changed"]
        assert changes == [
            {
                "device_id": "import_tariff.1900000000001",
                "card": "tariff_product_changed",
                "tokens": {
                    "previous_product_code": "INTELLI-VAR-24-10-29",
                    "previous_tariff_code": "E-1R-INTELLI-VAR-24-10-29-C",
                    "product_code": "AGILE-24-10-01",
                    "tariff_code": "E-1R-AGILE-24-10-01-C",
                },
            }
        ]


async def test_allowance_settings_limit_and_day_start(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "iog_allowance_crossed_mid_slot.json")
    no_cap = EngineSettings(allowance_limit_minutes=0, allowance_day_start=time(18, 0))
    async with running(scenario, tmp_path, no_cap) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T19:40:00Z"))
        tariff = state_of(service, "import_tariff.1900000000001")
        # no cap: still off-peak; the allowance day began at 18:00, 70 minutes since
        assert (tariff["unit_rate"], tariff["rate_source"]) == (7.0, "smart_dispatch")
        assert tariff["allowance_used_minutes"] == 70
        assert tariff["allowance_left_minutes"] is None
        assert tariff["allowance_reached"] is False
        assert tariff["allowance_resets_at"] == "2026-03-11T18:00:00Z"
