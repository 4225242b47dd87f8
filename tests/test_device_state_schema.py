"""The device-state contract: docs/device-state.schema.json is what the models say now,
and what the bridge really sends is what that schema says. The Homey app's state maps are
checked against the same file (tests/node/state_maps.test.js)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from kraken_core.api.models import DEVICE_KINDS, device_state_schema
from kraken_core.cli import main, scenario_service
from kraken_core.clock import SimulatedClock
from kraken_core.simulator.scenario import load_scenario
from tests.helpers.bridge_process import REPO, SCENARIOS

SCHEMA_FILE = REPO / "docs" / "device-state.schema.json"
REGENERATE = ".venv/bin/kraken-bridge schema > docs/device-state.schema.json"

# Every kind: the tariffs, the Home Mini, and a car planned a dispatch at 19:00 and a night charge.
EVENING = SCENARIOS / "iog_evening_smart_dispatch.json"
# Peak before the dispatch, inside it, the off-peak block, and the next day inside the night charge.
MOMENTS = (
    "2026-03-10T18:05:00Z",
    "2026-03-10T19:15:00Z",
    "2026-03-10T23:40:00Z",
    "2026-03-11T00:30:00Z",
)
#: What the IOG evening cannot show: a four-rate EV tariff's car rates, gas (Tracker
#: gas's next day is known after 16:00; the gas meter's readings every half-hour), a
#: meter that reports export (a register of 0 is a missing reading, so the evening's
#: meter, which exports nothing, shows none), figures of earlier days, and Octoplus
#: (before, during and after a saving session; during a power-up).
OTHER_EVENINGS = (
    (SCENARIOS / "home_mini_export_null_then_lifetime.json", ("2026-03-10T15:25:00Z",)),
    (SCENARIOS / "iog_four_rate_product_charging_1400.json", ("2026-03-10T14:10:00Z",)),
    (
        SCENARIOS / "tracker_dual_fuel_gas_readings.json",
        ("2026-03-10T12:10:00Z", "2026-03-10T16:10:00Z"),
    ),
    # Money on the account: yesterday and the 12-month bill need a day (and a month) of
    # history behind them; the Home Mini falls silent at 00:10.
    (SCENARIOS / "agile_month_turns_home_mini_silent.json", ("2026-03-01T00:40:00Z",)),
    (
        SCENARIOS / "octoplus_saving_session_evening.json",
        ("2026-03-10T17:35:00Z", "2026-03-10T18:10:00Z"),
    ),
)


def test_the_committed_schema_is_what_the_models_produce(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema"]) == 0
    produced = capsys.readouterr().out
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.is_file() else ""
    assert committed == produced, (
        f"{SCHEMA_FILE.relative_to(REPO)} differs from the device-state models "
        f"(kraken_core/api/models.py); regenerate it with `{REGENERATE}` and commit it, "
        "then check the Homey app's state maps with `npm test`"
    )


# --- what the bridge really sends fits the schema -------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A device's state as it went on the wire: whole (GET /devices/{id}) or changed fields."""

    where: str  # the moment, or the event id
    device_id: str
    kind: str
    state: dict[str, Any]


@dataclass
class Evening:
    whole: list[Sent] = field(default_factory=list)
    events: list[Sent] = field(default_factory=list)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


async def _play() -> Evening:
    evening = Evening()
    for path, moments in ((EVENING, MOMENTS), *OTHER_EVENINGS):
        await _play_one(path, moments, evening)
    return evening


async def _play_one(path: Path, moments: tuple[str, ...], evening: Evening) -> None:
    scenario = load_scenario(path)
    clock = SimulatedClock(scenario.start)
    async with scenario_service(scenario, clock) as (_, service):
        for moment in moments:
            await service.engine.run_until(clock, at(moment))
            for summary in service.backend.devices():
                view = service.backend.device(summary.id)
                assert view is not None
                evening.whole.append(Sent(moment, view.id, view.kind, view.state))
        kinds = {view.id: view.kind for view in service.backend.devices()}
        for event in service.backend.events.buffered():
            if event.type == "state":
                device_id = event.data["device_id"]
                sent = Sent(f"event {event.id}", device_id, kinds[device_id], event.data["state"])
                evening.events.append(sent)


@pytest.fixture(scope="module")
def evening() -> Evening:
    """The evening played once through the real service on a simulated clock."""
    return asyncio.run(_play())


def validator(kind: str, *, partial: bool = False) -> Draft202012Validator:
    """A validator for ``kind``'s state; ``partial`` for a state event's changed fields."""
    schema = device_state_schema()["kinds"][kind]
    if partial:
        schema = {key: value for key, value in schema.items() if key != "required"}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(sent: list[Sent], *, partial: bool = False) -> list[str]:
    validators: dict[str, Draft202012Validator] = {
        kind: validator(kind, partial=partial) for kind in DEVICE_KINDS
    }
    return [
        f"{s.where} {s.device_id}: {'/'.join(map(str, error.absolute_path)) or 'state'}: "
        f"{error.message}"
        for s in sent
        for error in validators[s.kind].iter_errors(s.state)
    ]


def test_every_whole_state_fits_its_kinds_schema(evening: Evening) -> None:
    assert evening.whole
    assert problems(evening.whole) == []


def test_every_state_event_fits_its_kinds_schema(evening: Evening) -> None:
    assert evening.events
    assert problems(evening.events, partial=True) == []


def test_a_whole_state_sends_every_field_its_schema_names(evening: Evening) -> None:
    """Fields the schema calls optional (those with a default) are sent all the same."""
    kinds = device_state_schema()["kinds"]
    for sent in evening.whole:
        assert set(sent.state) == set(kinds[sent.kind]["properties"]), sent.device_id


def test_the_evening_gives_every_field_of_every_kind_a_value(evening: Evening) -> None:
    """So the checks above saw each field's non-null type, not only null."""
    kinds = device_state_schema()["kinds"]
    assert {sent.kind for sent in evening.whole} == set(DEVICE_KINDS)
    never = {
        f"{kind}.{name}"
        for kind, schema in kinds.items()
        for name in schema["properties"]
        if all(s.state.get(name) in (None, []) for s in evening.events if s.kind == kind)
    }
    assert never == set(), "add a moment or a scenario where these fields have a value"


# --- the check can fail ---------------------------------------------------------------------


def _set(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda state: state.__setitem__(name, value)


def _without(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda state: state.__delitem__(name)


def _first_dispatch(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda state: state["planned_dispatches"][0].__setitem__(name, value)


@pytest.mark.parametrize(
    ("kind", "change", "complaint"),
    [
        ("import_tariff", _set("unit_rate", "7.0"), "'7.0' is not of type 'number'"),
        ("import_tariff", _set("price_quadrant", 4), "4 is greater than the maximum of 3"),
        ("import_tariff", _set("rate_source", "cheap"), "is not one of"),
        ("import_tariff", _set("tomorrow_prices_published", None), "is not of type 'boolean'"),
        ("import_tariff", _set("cheapest", True), "Additional properties are not allowed"),
        ("export_tariff", _set("allowance_used_minutes", 0), "Additional properties"),
        ("import_tariff", _without("slot_end"), "'slot_end' is a required property"),
        ("energy_account", _set("billing_period_start", "2026-13-01"), "is not a 'date'"),
        ("energy_account", _set("tariff_efficiency_today", 12.5), "is not of type 'integer'"),
        ("smart_energy_device", _first_dispatch("type", "NIGHT"), "is not one of"),
        ("smart_energy_device", _set("planned_dispatch_count", None), "is not of type 'integer'"),
    ],
)
def test_the_schema_rejects_a_state_the_bridge_must_not_send(
    evening: Evening, kind: str, change: Callable[[dict[str, Any]], None], complaint: str
) -> None:
    sent = next(s for s in evening.whole if s.kind == kind and s.where == MOMENTS[1])
    state = copy.deepcopy(sent.state)
    assert list(validator(kind).iter_errors(state)) == []
    change(state)
    messages = [message for error in validator(kind).iter_errors(state) for message in said(error)]
    assert any(complaint in message for message in messages), messages


def said(error: ValidationError) -> list[str]:
    """An error's message and those of the branches it tried (anyOf: null or a value)."""
    return [error.message] + [message for branch in error.context or () for message in said(branch)]
