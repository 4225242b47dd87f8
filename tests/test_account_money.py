"""Money on the Energy Account and the Home Mini's health, from the real engine against
the simulator on a simulated clock, with a real SQLite history.

tests/scenarios/agile_balance_owed_home_mini_silent.json: a bill posted at 12:40 takes
the balance from £15.00 credit to £23.50 owed; the Home Mini sends nothing from 12:30 to
13:20 while Octopus keeps answering with its last reading (a success, not a failure).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kraken_core.api.models import UserSettings
from kraken_core.domain.efficiency import PricedSlot, SlotEnergy
from kraken_core.domain.tariff import RateSource
from kraken_core.engine.settings import EngineSettings
from kraken_core.service import DATABASE_FILE, Service
from kraken_core.simulator.scenario import ScenarioError, load_scenario, parse_scenario
from kraken_core.store.db import Store
from kraken_core.store.history import HistoryStore, SlotPrices
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.service_harness import running

SCENARIO = SCENARIOS / "agile_balance_owed_home_mini_silent.json"
ACCOUNT = "energy_account.A-5EED0BAD"
MONTH_END_ACCOUNT = "energy_account.A-0F1EB28D"  # agile_month_turns_home_mini_silent.json


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def account(service: Service, device_id: str = ACCOUNT) -> dict[str, Any]:
    device = service.backend.device(device_id)
    assert device is not None
    assert device.available, device.unavailable_reason
    return device.state


def changes_of(service: Service, field: str) -> list[tuple[Any, str]]:
    """Each value ``field`` took on the event stream, with the state's time."""
    return [
        (event.data["state"][field], event.data["updated_at"])
        for event in service.backend.events.buffered()
        if event.type == "state"
        and event.data["device_id"] == ACCOUNT
        and field in event.data["state"]
    ]


async def test_the_balance_follows_octopus_and_a_posted_bill_shows_at_the_next_read(
    tmp_path: Path,
) -> None:
    async with running(load_scenario(SCENARIO), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T12:39:00Z"))
        assert account(service)["balance"] == 1500  # pence in credit
        # Posted at 12:40; the account is read hourly, so it shows at the next read.
        await service.engine.run_until(clock, at("2026-03-10T13:00:00Z"))
        assert account(service)["balance"] == -2350  # owed
        assert [value for value, _ in changes_of(service, "balance")] == [1500, -2350]
        (_, shown_at) = changes_of(service, "balance")[-1]
        assert "2026-03-10T12:45:00Z" <= shown_at < "2026-03-10T12:47:00Z"


async def test_a_silent_home_mini_is_flagged_since_its_last_reading_and_clears_itself(
    tmp_path: Path,
) -> None:
    async with running(load_scenario(SCENARIO), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T12:44:00Z"))
        state = account(service)
        assert state["last_reading_at"] == "2026-03-10T12:30:00Z"
        assert (state["telemetry_stale"], state["telemetry_stale_since"]) == (False, None)

        # 15 minutes (the default) after the last reading: flagged, the device still
        # available (Octopus answers, only with nothing new).
        await service.engine.run_until(clock, at("2026-03-10T12:47:00Z"))
        state = account(service)
        assert state["telemetry_stale"] is True
        assert state["telemetry_stale_since"] == "2026-03-10T12:30:00Z"

        await service.engine.run_until(clock, at("2026-03-10T13:25:00Z"))
        state = account(service)
        assert state["last_reading_at"] == "2026-03-10T13:20:00Z"
        assert (state["telemetry_stale"], state["telemetry_stale_since"]) == (False, None)
        # Once each way, never blinking between polls.
        flips = changes_of(service, "telemetry_stale")
        assert [value for value, _ in flips] == [False, True, False]
        assert "2026-03-10T12:45:00Z" <= flips[1][1] < "2026-03-10T12:46:30Z"
        assert "2026-03-10T13:20:00Z" <= flips[2][1] < "2026-03-10T13:22:00Z"


async def test_the_warning_threshold_is_a_setting_never_under_two_polling_intervals(
    tmp_path: Path,
) -> None:
    async with running(load_scenario(SCENARIO), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T12:50:00Z"))
        assert account(service)["telemetry_stale"] is True
        view = service.backend.update_settings(UserSettings(telemetry_stale_minutes=30))
        assert view.telemetry_stale_minutes == 30
        await service.engine.run_until(clock, at("2026-03-10T12:55:00Z"))
        assert account(service)["telemetry_stale"] is False  # 25 minutes < 30
        await service.engine.run_until(clock, at("2026-03-10T13:02:00Z"))
        state = account(service)
        assert (state["telemetry_stale"], state["telemetry_stale_since"]) == (
            True,
            "2026-03-10T12:30:00Z",
        )
    # Polling every 5 minutes, a reading is up to 5 minutes old when read: a 5-minute
    # setting would blink between polls, so the bridge waits two intervals.
    slow = EngineSettings(
        poll_interval=timedelta(minutes=5), telemetry_stale_after=timedelta(minutes=5)
    )
    assert slow.telemetry_stale_limit == timedelta(minutes=10)


@pytest.mark.parametrize("minutes", [4, 1441])
def test_a_threshold_outside_five_minutes_to_a_day_is_refused_by_name(minutes: int) -> None:
    with pytest.raises(ValueError, match="telemetry_stale_minutes"):
        UserSettings.model_validate({"telemetry_stale_minutes": minutes})


# --- yesterday, the month so far, the 12-month bill (seeded history) -----------------------


def priced(import_price: float) -> PricedSlot:
    return PricedSlot(import_price, import_price, 1, RateSource.TARIFF)


async def seed(data_dir: Path, slots: dict[str, tuple[float, float, float, float | None]]) -> None:
    """Half-hours in the history before the bridge starts, fully read: slot start →
    (import kWh, import p/kWh, export kWh, export p/kWh or None)."""
    store = await Store.open(data_dir / DATABASE_FILE)
    try:
        await HistoryStore(store).write_poll(
            samples=[],
            demand_w={},
            energy={
                at(start): SlotEnergy(imp * 1000, exp * 1000, 1800.0)
                for start, (imp, _, exp, _) in slots.items()
            },
            prices={
                at(start): SlotPrices(priced(price), export_price)
                for start, (_, price, _, export_price) in slots.items()
            },
            dispatches=[],
            seen_at=at("2026-03-10T00:00:00Z"),
            keep_readings_from=at("2026-03-01T00:00:00Z"),
        )
    finally:
        await store.close()


def late_evening(tmp_path: Path) -> Path:
    """The scenario from 23:20: the bridge fills the day from the Home Mini at its start."""
    document = json.loads(SCENARIO.read_text(encoding="utf-8"))
    document["start"] = "2026-03-10T23:20:00Z"
    path = tmp_path / "late_evening.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


async def test_yesterday_this_month_and_the_12_month_bill_from_history(tmp_path: Path) -> None:
    await seed(
        tmp_path,
        {
            "2025-02-20T10:00:00Z": (4.0, 30.0, 0.0, None),  # before the 12 months
            "2025-12-25T10:00:00Z": (1.0, 25.0, 0.0, None),  # no standing charge row: 48.6
            "2026-02-14T12:00:00Z": (2.0, 15.0, 1.0, 5.0),
            "2026-03-02T09:00:00Z": (1.0, 10.0, 0.0, None),  # this month, before yesterday
            "2026-03-09T10:00:00Z": (1.0, 20.0, 0.0, None),  # yesterday
            "2026-03-09T10:30:00Z": (0.5, 30.0, 0.0, None),
        },
    )
    scenario = load_scenario(late_evening(tmp_path))
    async with running(scenario, tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T23:50:00Z"))
        today = account(service)
        assert today["import_kwh_today"] > 16  # 900 W from midnight to 18:00 and more
        assert (today["import_kwh_yesterday"], today["import_cost_yesterday"]) == (1.5, 35.0)
        assert (today["export_kwh_yesterday"], today["export_value_yesterday"]) == (0.0, 0.0)
        assert today["import_kwh_month"] == round(2.5 + today["import_kwh_today"], 3)
        assert today["import_cost_month"] == round(45.0 + today["import_cost_today"], 2)
        assert today["export_kwh_month"] == 0.0
        # March 2025 to February 2026: 30p + 25p imported, 5p earned back, and the
        # standing charge of the two days with readings.
        assert today["bill_12m_from"] == "2025-03-01"
        assert today["bill_12m_to"] == "2026-02-28"
        assert today["bill_12m_months"] == 2
        assert today["bill_12m"] == round(30.0 + 25.0 - 5.0 + 2 * 48.6, 2)

        # After midnight today's figures become yesterday's; the month goes on.
        await service.engine.run_until(clock, at("2026-03-11T00:20:00Z"))
        after = account(service)
        assert after["import_kwh_yesterday"] == today["import_kwh_today"]
        assert after["import_cost_yesterday"] == today["import_cost_today"]
        assert after["import_kwh_month"] == today["import_kwh_month"] + after["import_kwh_today"]
        assert after["bill_12m"] == today["bill_12m"]


async def test_without_history_of_yesterday_or_the_12_months_the_figures_are_null(
    tmp_path: Path,
) -> None:
    async with running(load_scenario(SCENARIO), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T12:10:00Z"))
        state = account(service)
        assert state["import_kwh_yesterday"] is None
        assert state["import_cost_yesterday"] is None
        assert state["import_kwh_month"] == state["import_kwh_today"]
        assert state["import_cost_month"] == state["import_cost_today"]
        assert (state["bill_12m"], state["bill_12m_months"]) == (None, 0)


async def test_at_a_new_month_the_month_starts_again_and_the_last_one_joins_the_bill(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(SCENARIOS / "agile_month_turns_home_mini_silent.json")
    async with running(scenario, tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-02-28T23:59:00Z"))
        february = account(service, MONTH_END_ACCOUNT)
        assert february["bill_12m"] is None  # nothing before February in the history
        assert (february["bill_12m_from"], february["bill_12m_to"]) == ("2025-02-01", "2026-01-31")
        await service.engine.run_until(clock, at("2026-03-01T00:40:00Z"))
        march = account(service, MONTH_END_ACCOUNT)
    assert march["import_kwh_yesterday"] == february["import_kwh_today"]
    assert march["import_cost_yesterday"] == february["import_cost_today"]
    assert march["export_kwh_yesterday"] == 0.0  # the register is reported: nothing, not unknown
    assert march["import_kwh_month"] == march["import_kwh_today"]
    assert (march["bill_12m_from"], march["bill_12m_to"]) == ("2025-03-01", "2026-02-28")
    # One month with readings (one evening of it): its energy and one day's standing charge.
    assert march["bill_12m_months"] == 1
    assert march["bill_12m"] == round(february["import_cost_today"] + 48.6, 2)
    assert (march["telemetry_stale"], march["telemetry_stale_since"]) == (
        True,
        "2026-03-01T00:10:00Z",
    )


def test_a_balance_timeline_out_of_order_is_refused_with_where() -> None:
    document = json.loads(SCENARIO.read_text(encoding="utf-8"))
    document["account"]["balance_timeline"] = [
        {"at": "2026-03-10T13:00:00Z", "balance": 10},
        {"at": "2026-03-10T12:00:00Z", "balance": 20},
    ]
    with pytest.raises(
        ScenarioError,
        match=r"at \$\.account\.balance_timeline: entries must be in time order: \[1\]",
    ):
        parse_scenario(json.dumps(document), "late.json")


def test_the_balance_timeline_answers_the_last_change_before_now() -> None:
    scenario = load_scenario(SCENARIO)
    assert scenario.account.balance_at(at("2026-03-10T12:39:59Z")) == 1500
    assert scenario.account.balance_at(at("2026-03-10T12:40:00Z")) == -2350
