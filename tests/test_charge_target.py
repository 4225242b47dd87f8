"""Issue 15: the car's charge target, ready-by time and smart control read back on the
Smart Energy Device, changed through the bridge's actions, shown at once after a change,
and Kraken's refusals in its own words. The domain's rules first, then the real service
against the simulator on a simulated clock (tests/scenarios/iog_evening_smart_dispatch:
a Tuesday; the car is ready by 07:30 at 80 % on weekdays and 09:00 at 90 % at weekends)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest

from kraken_core.api.models import ActionError
from kraken_core.domain.charge_target import (
    WeekdayTarget,
    changed_week,
    charge_target_now,
    smart_control_enabled,
)
from kraken_core.service import Service
from kraken_core.simulator.scenario import parse_scenario
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.service_harness import running

EVENING = SCENARIOS / "iog_evening_smart_dispatch.json"
CAR = "smart_energy_device.dev-1"
WEEKDAY, WEEKEND = (time(7, 30), 80.0), (time(9, 0), 90.0)
WEEK = tuple(WeekdayTarget(day, *(WEEKEND if day >= 5 else WEEKDAY)) for day in range(7))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# --- the rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "target", "ready_by"),
    [
        ("2026-03-10T05:00:00Z", 80, "07:30"),  # Tuesday before its ready-by: Tuesday's
        ("2026-03-10T22:00:00Z", 80, "07:30"),  # Tuesday evening: Wednesday's
        ("2026-03-13T08:00:00Z", 90, "09:00"),  # Friday after 07:30: Saturday's
        ("2026-03-14T08:59:00Z", 90, "09:00"),  # Saturday before 09:00: Saturday's
        ("2026-03-15T10:00:00Z", 80, "07:30"),  # Sunday after 09:00: Monday's
    ],
)
def test_the_device_shows_the_next_ready_by_to_come_in_uk_time(
    now: str, target: int, ready_by: str
) -> None:
    shown = charge_target_now(WEEK, at(now))
    assert shown is not None
    assert (shown.target_percent, shown.ready_by, shown.same_every_day) == (
        target,
        ready_by,
        False,
    )


def test_in_summer_the_ready_by_is_london_time_not_utc() -> None:
    # Wednesday 1 July 06:45 UTC is 07:45 BST: Wednesday's 07:30 has passed, Thursday's is next.
    week = [*WEEK[:3], WeekdayTarget(3, time(7, 30), 60.0), *WEEK[4:]]
    shown = charge_target_now(week, at("2026-07-01T06:45:00Z"))
    assert shown is not None
    assert (shown.target_percent, shown.ready_by) == (60, "07:30")


def test_the_same_week_every_day_says_so_and_a_heat_pump_has_no_percent() -> None:
    same = changed_week(WEEK, target=85.0, ready_by=time(6, 0))
    shown = charge_target_now(same, at("2026-03-10T12:00:00Z"))
    assert shown is not None
    assert (shown.target_percent, shown.ready_by, shown.same_every_day) == (85, "06:00", True)
    celsius = charge_target_now(same, at("2026-03-10T12:00:00Z"), percent=False)
    assert celsius is not None
    assert (celsius.target_percent, celsius.ready_by) == (None, "06:00")
    assert charge_target_now((), at("2026-03-10T12:00:00Z")) is None
    noon = charge_target_now(
        [WeekdayTarget(d, time(12, 0), 80.0) for d in range(7)], at("2026-03-10T12:30:00Z")
    )
    assert noon is not None
    assert (noon.target_percent, noon.ready_by) == (80, None)  # not a time Kraken takes


def test_changing_one_of_the_two_keeps_each_days_other_value() -> None:
    target_only = changed_week(WEEK, target=95.0)
    assert [(d.ready_by, d.target) for d in target_only] == [(WEEKDAY[0], 95.0)] * 5 + [
        (WEEKEND[0], 95.0)
    ] * 2
    ready_only = changed_week(WEEK, ready_by=time(8, 0))
    assert [(d.ready_by, d.target) for d in ready_only] == [(time(8, 0), 80.0)] * 5 + [
        (time(8, 0), 90.0)
    ] * 2
    with pytest.raises(ValueError, match="give both target_percent and ready_by"):
        changed_week(WEEK[:5], target=95.0)
    with pytest.raises(ValueError, match="give target_percent too"):
        changed_week([WeekdayTarget(d, time(7, 0), None) for d in range(7)], ready_by=time(8, 0))
    assert len(changed_week((), target=50.0, ready_by=time(4, 0))) == 7


def test_smart_control_is_on_unless_kraken_says_suspended() -> None:
    assert smart_control_enabled(False, "SMART_CONTROL_OFF") is True  # isSuspended decides
    assert smart_control_enabled(True, "SMART_CONTROL_CAPABLE") is False
    assert smart_control_enabled(None, "SMART_CONTROL_OFF") is False
    assert smart_control_enabled(None, "SMART_CONTROL_NOT_AVAILABLE") is True
    assert smart_control_enabled(None, None) is None


# --- the service against the simulator -----------------------------------------------------


def state_of(service: Service) -> dict[str, Any]:
    device = service.backend.device(CAR)
    assert device is not None
    return device.state


def state_events(service: Service) -> list[dict[str, Any]]:
    return [
        e.data["state"]
        for e in service.backend.events.buffered()
        if e.type == "state" and e.data["device_id"] == CAR
    ]


async def act(service: Service, action: str, body: dict[str, Any] | None = None) -> str:
    result = await service.backend.perform(CAR, action, body or {})
    assert result.status == 200, result
    message = result.body["message"]
    assert isinstance(message, str)
    return message


async def test_the_charge_target_is_read_back_and_a_change_shows_at_once(tmp_path: Path) -> None:
    async with running(parse_scenario(EVENING.read_text()), tmp_path) as (sim, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T18:05:00Z"))
        before = state_of(service)
        assert (before["charge_target_percent"], before["ready_by"]) == (80, "07:30")
        assert before["charge_target_same_every_day"] is False
        assert before["smart_control_enabled"] is True
        reads = sim.request_counts["devices"]

        said = await act(service, "set_charge_target", {"target_percent": 90})
        # No poll has run since: the state is Kraken's answer to the change itself.
        assert state_of(service)["charge_target_percent"] == 90
        assert state_events(service)[-1] == {"charge_target_percent": 90}
        assert said == "Charge target set: 90 % every day, each day's ready-by time kept."
        served = sim.preferences["dev-1"].schedules
        weekdays = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")
        assert {(s.dayOfWeek, s.time[:5], s.max) for s in served} == {
            *((day, "07:30", 90.0) for day in weekdays),
            ("SATURDAY", "09:00", 90.0),
            ("SUNDAY", "09:00", 90.0),
        }

        said = await act(service, "set_charge_target", {"ready_by": "08:00"})
        assert said == "Ready-by time set: 08:00 every day, each day's target kept."
        after = state_of(service)
        assert (after["charge_target_percent"], after["ready_by"]) == (90, "08:00")
        assert after["charge_target_same_every_day"] is True
        # …and the devices are read again within the next few seconds, to confirm.
        await service.engine.run_until(clock, at("2026-03-10T18:05:20Z"))
        assert sim.request_counts["devices"] > reads
        assert state_of(service)["ready_by"] == "08:00"


async def test_suspending_shows_at_once_and_holds_until_resumed(tmp_path: Path) -> None:
    async with running(parse_scenario(EVENING.read_text()), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T18:05:00Z"))
        assert await act(service, "suspend_smart_control") == "Smart charging suspended."
        suspended = state_of(service)
        assert (suspended["smart_control_enabled"], suspended["device_state"]) == (
            False,
            "SMART_CONTROL_OFF",
        )
        assert suspended["dispatches_honoured"] is False
        # 19:00: the car would start its smart charge; suspended, Kraken's plan does not count.
        await service.engine.run_until(clock, at("2026-03-10T19:05:00Z"))
        assert state_of(service)["device_state"] == "SMART_CONTROL_OFF"
        assert state_of(service)["dispatching"] is False
        assert await act(service, "resume_smart_control") == "Smart charging resumed."
        resumed = state_of(service)
        # The car's own state again, not a guess.
        assert (resumed["smart_control_enabled"], resumed["device_state"]) == (
            True,
            "SMART_CONTROL_IN_PROGRESS",
        )


def _with(changes: dict[str, Any]) -> str:
    raw = json.loads(EVENING.read_text())
    raw.update(changes)
    return json.dumps(raw)


async def test_kraken_refusing_a_change_is_its_own_sentence_and_changes_nothing(
    tmp_path: Path,
) -> None:
    faults = [
        {
            "from": "2026-03-10T17:50:00Z",
            "to": "2026-03-11T00:00:00Z",
            "operation": operation,
            "error_code": code,
        }
        for operation, code in (
            ("setDevicePreferences", "KT-CT-4374"),
            ("updateDeviceSmartControl", "KT-CT-4358"),
        )
    ]
    scenario = parse_scenario(_with({"faults": faults}))
    async with running(scenario, tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T18:05:00Z"))
        with pytest.raises(ActionError) as target:
            await service.backend.perform(CAR, "set_charge_target", {"target_percent": 90})
        with pytest.raises(ActionError) as control:
            await service.backend.perform(CAR, "suspend_smart_control", {})
        assert (target.value.status, target.value.message) == (
            409,
            "Octopus refused the charge target: An error occurred while trying to set your "
            "device preferences.",
        )
        assert (control.value.status, control.value.message) == (
            409,
            "Octopus refused the change to smart charging: Unable to suspend device control.",
        )
        assert state_of(service)["charge_target_percent"] == 80
        assert state_of(service)["smart_control_enabled"] is True
        # Refused changes give their place back in the bridge's own budget.
        used = {s.operation: s.used for s in service.engine.client.budget.status()}
        assert used["setDevicePreferences"] == used["updateDeviceSmartControl"] == 0


async def test_a_body_that_says_nothing_or_a_car_without_a_target_is_told_what_to_give(
    tmp_path: Path,
) -> None:
    raw = json.loads(EVENING.read_text())
    del raw["devices"][0]["preferences"]
    async with running(parse_scenario(json.dumps(raw)), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T18:05:00Z"))
        assert state_of(service)["charge_target_percent"] is None
        assert state_of(service)["ready_by"] is None
        with pytest.raises(ActionError) as nothing:
            await service.backend.perform(CAR, "set_charge_target", {})
        with pytest.raises(ActionError) as half:
            await service.backend.perform(CAR, "set_charge_target", {"target_percent": 70})
        with pytest.raises(ActionError) as null:
            await service.backend.perform(CAR, "set_charge_target", {"ready_by": None})
        whole = await act(service, "set_charge_target", {"target_percent": 70, "ready_by": "06:30"})
        assert (state_of(service)["charge_target_percent"], state_of(service)["ready_by"]) == (
            70,
            "06:30",
        )
    assert nothing.value.status == half.value.status == null.value.status == 422
    assert "give target_percent (10-100), ready_by (HH:MM) or both" in nothing.value.message
    assert "give both target_percent and ready_by" in half.value.message
    assert "ready_by: give a value, or leave ready_by out" in null.value.message
    assert whole == "Charge target set: 70 % by 06:30 every day."


async def test_the_simulator_refuses_smart_control_of_a_retired_car(tmp_path: Path) -> None:
    raw = json.loads(EVENING.read_text())
    raw["devices"][0]["timeline"][1:] = [
        {"at": "2026-03-10T18:02:00Z", "currentState": "RETIRED", "flexPlannedDispatches": []}
    ]
    async with running(parse_scenario(json.dumps(raw)), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T18:10:00Z"))
        with pytest.raises(ActionError) as resume:
            await service.backend.perform(CAR, "resume_smart_control", {})
    assert resume.value.message == (
        "Octopus refused the change to smart charging: Unable to resume device control."
    )
