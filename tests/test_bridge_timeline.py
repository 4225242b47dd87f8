"""``GET /api/v1/timeline``'s content, in process on a simulated clock: a day's slots are
priced exactly as the import tariff device shows each slot when it is current, and the
dispatch bands say what counts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from kraken_core.cli import scenario_service
from kraken_core.clock import SimulatedClock
from kraken_core.service import Service
from kraken_core.simulator.scenario import load_scenario
from tests.helpers.bridge_process import SCENARIOS

IMPORT = "import_tariff.1900000000001"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def device_now(service: Service) -> tuple[Any, ...]:
    device = service.backend.device(IMPORT)
    assert device is not None
    state = device.state
    return state["unit_rate"], state["price_quadrant"], state["rate_source"]


def timeline(service: Service, day: date) -> dict[str, Any]:
    """The day as GET /api/v1/timeline answers it."""
    return service.backend.timeline(day).model_dump(mode="json", by_alias=True)


def slot_of(body: dict[str, Any], start: str) -> tuple[Any, ...]:
    slot = next(s for s in body["slots"] if s["start"] == start)
    return slot["unit_rate"], slot["price_quadrant"], slot["rate_source"]


async def test_smart_dispatch_past_the_allowance_is_a_band_that_does_not_count() -> None:
    scenario = load_scenario(SCENARIOS / "iog_allowance_crossed_mid_slot.json")
    clock = SimulatedClock(scenario.start)
    async with scenario_service(scenario, clock) as (_, service):
        await service.engine.run_until(clock, at("2026-03-10T19:20:00Z"))
        body = timeline(service, date(2026, 3, 10))
        assert body["current_slot"] == "2026-03-10T19:00:00Z"
        bands = [(b["start"][11:16], b["end"][11:16], b["counted"]) for b in body["dispatches"]]
        assert bands == [
            ("12:30", "17:50", True),
            ("18:30", "19:10", True),
            ("19:10", "20:00", False),
        ]
        assert "allowance" in body["dispatches"][2]["reason"]
        # Each slot as the device shows it once it is current (the plan does not change).
        for start in ("2026-03-10T19:00:00Z", "2026-03-10T19:30:00Z", "2026-03-10T20:00:00Z"):
            await service.engine.run_until(clock, max(clock.now(), at(start)))
            assert device_now(service) == slot_of(body, start), start
        assert slot_of(body, "2026-03-10T19:00:00Z") == (7.0, 0, "smart_dispatch")
        assert slot_of(body, "2026-03-10T19:30:00Z") == (24.5, 3, "tariff")


@pytest.mark.parametrize(
    ("name", "day", "count", "missing", "twice"),
    [
        ("dst_spring_forward_agile", date(2026, 3, 29), 46, "01:00", None),
        ("dst_autumn_back_agile", date(2026, 10, 25), 50, None, "01:30"),
    ],
)
async def test_a_clock_change_day_has_its_own_number_of_slots(
    name: str, day: date, count: int, missing: str | None, twice: str | None
) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.json")
    clock = SimulatedClock(scenario.start)
    async with scenario_service(scenario, clock) as (_, service):
        await service.engine.run_until(clock, scenario.start)
        body = timeline(service, day)
        labels = [slot["label"] for slot in body["slots"]]
        assert len(labels) == count
        assert body["prices_published"]
        if missing:
            assert missing not in labels
        if twice:
            assert labels.count(twice) == 2
        current = slot_of(body, body["current_slot"])
        assert current == device_now(service)
