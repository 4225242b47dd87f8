"""One SmartFlex device whose answer fails does not freeze the others: real engine,
client and store against the simulator on a simulated clock, with one device's part of
Kraken's answer failing (its ``flexPlannedDispatches``, or its ``status.currentState``
inside ``devices``, which GraphQL nulls with an error whose path names that device).

The simulator's faults fail an operation for every device, so the tests wrap its
resolver for the one device (the answer still travels over HTTP, in Kraken's shape).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kraken_core.service import Service
from kraken_core.simulator.graphql_api import executable_schema
from kraken_core.simulator.kraken_errors import kraken_error
from kraken_core.simulator.scenario import load_scenario
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.service_harness import running

TWO_CARS = SCENARIOS / "iog_two_devices_overlap.json"
CAR, VAN = "smart_energy_device.car", "smart_energy_device.van"
FAIL_FROM, FAIL_TO = "2026-03-10T18:00:00Z", "2026-03-10T19:30:00Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def failing(now: datetime) -> bool:
    return at(FAIL_FROM) <= now < at(FAIL_TO)


def wrap_resolver(
    monkeypatch: pytest.MonkeyPatch, field: str, wrap: Callable[[Any, Any, Any, Any], Any]
) -> None:
    query = executable_schema().query_type
    assert query is not None
    definition = query.fields[field]
    original = definition.resolve
    monkeypatch.setattr(
        definition, "resolve", lambda parent, info, **args: wrap(original, parent, info, args)
    )


def van_dispatches_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(original: Any, parent: Any, info: Any, args: Any) -> Any:
        if args["deviceId"] == "van" and failing(info.context.now):
            raise kraken_error("KT-CT-1234", "Simulated failure of the van's dispatches.")
        return original(parent, info, **args)

    wrap_resolver(monkeypatch, "flexPlannedDispatches", resolve)


def van_state_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def unable(_info: Any, **_args: Any) -> Any:
        raise kraken_error("KT-CT-1234", "Simulated failure of the van's state.")

    def resolve(original: Any, parent: Any, info: Any, args: Any) -> Any:
        devices = original(parent, info, **args)
        if failing(info.context.now):
            for device in devices:
                if device["id"] == "van":  # graphql-core calls a callable field value
                    device["status"] = {**device["status"], "currentState": unable}
        return devices

    wrap_resolver(monkeypatch, "devices", resolve)


def shown(service: Service, device_id: str) -> tuple[bool, str | None, dict[str, Any]]:
    view = service.backend.device(device_id)
    assert view is not None
    return view.available, view.unavailable_reason, dict(view.state)


def triggers(service: Service, device_id: str) -> list[str]:
    return [
        event.data["card"]
        for event in service.backend.events.buffered()
        if event.type == "trigger" and event.data["device_id"] == device_id
    ]


async def test_one_device_failing_dispatches_leaves_the_other_updating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    van_dispatches_fail(monkeypatch)
    async with running(load_scenario(TWO_CARS), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T18:30:00Z"))
        available, reason, car = shown(service, CAR)
        assert (available, reason) == (True, None)
        assert car["device_state"] == "SMART_CONTROL_IN_PROGRESS"
        assert car["dispatching"] is True
        available, reason, _ = shown(service, VAN)
        assert available is False
        assert reason is not None
        assert reason.startswith("No charging schedule from Octopus")
        assert "KT-CT-1234" in reason

        # The car's dispatch ends at 19:10 and Kraken drops it: the car follows.
        await service.engine.run_until(clock, at("2026-03-10T19:20:00Z"))
        available, _, car = shown(service, CAR)
        assert available is True
        assert car["dispatching"] is False
        assert car["planned_dispatches"] == []
        assert "dispatch_ended" in triggers(service, CAR)

        await service.engine.run_until(clock, at("2026-03-10T19:45:00Z"))
        available, reason, van = shown(service, VAN)
        assert (available, reason) == (True, None)
        assert van["dispatching"] is True


async def test_one_device_whose_state_fails_keeps_its_last_and_the_other_updates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    van_state_fails(monkeypatch)
    async with running(load_scenario(TWO_CARS), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T19:00:00Z"))
        available, _, car = shown(service, CAR)
        assert available is True
        assert car["device_state"] == "SMART_CONTROL_IN_PROGRESS"  # changed at 18:00
        available, reason, van = shown(service, VAN)
        assert van["device_state"] == "SMART_CONTROL_CAPABLE"  # its last known state
        assert available is False
        assert reason is not None
        assert reason.startswith("No answer about the car's state")

        await service.engine.run_until(clock, at("2026-03-10T19:40:00Z"))
        available, reason, van = shown(service, VAN)
        assert (available, reason) == (True, None)
        assert van["device_state"] == "SMART_CONTROL_IN_PROGRESS"
