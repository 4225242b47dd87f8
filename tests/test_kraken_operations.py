"""Every Kraken operation of the client, against the real simulator on loopback.

Each test loads a bundled scenario (the same files the demo and the benchmarks use),
runs the simulator over HTTP and asserts what a user of the bridge would see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.errors import KrakenActionRefused
from kraken_core.kraken.models import DAYS_OF_WEEK, DayOfWeek, PreferenceSchedule
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import bundled_scenario_path, load_scenario
from tests.helpers.kraken_harness import client_against

API_KEY = "sk_live_operations_test_key"
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class Session:
    """A client, the simulator it talks to, and the simulated clock they share."""

    def __init__(self, client: KrakenClient, simulator: Simulator, clock: SimulatedClock) -> None:
        self.client = client
        self.simulator = simulator
        self.clock = clock

    @property
    def midnight(self) -> datetime:
        """The start of the scenario's first day (UTC)."""
        return self.simulator.scenario.start_utc.replace(hour=0, minute=0)

    def at(self, hour: int, minute: int = 0, *, day: int = 0) -> None:
        self.clock.set(self.midnight + timedelta(days=day, hours=hour, minutes=minute))


@asynccontextmanager
async def session(name: str, **client_options: Any) -> AsyncIterator[Session]:
    scenario = load_scenario(bundled_scenario_path(name))
    clock = SimulatedClock(scenario.start)
    simulator = Simulator(scenario, clock)
    async with client_against(simulator, api_key=API_KEY, **client_options) as client:
        yield Session(client, simulator, clock)


# --- account ------------------------------------------------------------------------------


async def test_account_has_gas_and_electricity_points_balance_and_billing_period() -> None:
    async with session("economy7_gas") as s:
        account = await s.client.account()

    assert account.balance_p == -1875
    assert account.billing_period_start == date(2026, 2, 14)
    assert [p.postcode for p in account.properties if p is not None] == ["SE1 7PB"]
    (electricity,) = account.electricity_agreements
    assert electricity.tariff is not None
    assert electricity.tariff.tariff_code == "E-2R-VAR-22-11-01-C"
    assert electricity.meter_point.direction == "IMPORT"
    (gas,) = account.gas_agreements
    assert gas.meter_point.mprn == "7412345607"
    assert gas.tariff is not None
    assert (gas.tariff.product_code, gas.tariff.tariff_code) == (
        "VAR-22-11-01",
        "G-1R-VAR-22-11-01-C",
    )
    (meter,) = gas.meter_point.meters
    assert meter.smart_gas_meter is not None
    assert meter.smart_gas_meter.device_id == "0A-1B-2C-3D-4E-5F-60-73"
    assert gas.valid_from is not None
    assert gas.valid_to is None


async def test_import_and_export_points_carry_their_home_mini_ids() -> None:
    async with session("flux_solar_battery") as s:
        account = await s.client.account()

    by_direction = {a.meter_point.direction: a for a in account.electricity_agreements}
    assert set(by_direction) == {"IMPORT", "EXPORT"}
    import_meter = by_direction["IMPORT"].meter_point.meters[0]
    export_meter = by_direction["EXPORT"].meter_point.meters[0]
    assert import_meter.smart_import_meter is not None
    assert import_meter.smart_import_meter.device_id == "0A-1B-2C-3D-4E-5F-60-71"
    assert export_meter.smart_export_meter is not None
    assert export_meter.serial_number == "23J0412345"
    tariff = by_direction["EXPORT"].tariff
    assert tariff is not None
    assert tariff.product_code == "FLUX-EXPORT-23-02-14"


# --- REST rates ---------------------------------------------------------------------------


async def test_day_and_night_rates_prefer_direct_debit() -> None:
    async with session("economy7_gas") as s:
        product, tariff = "VAR-22-11-01", "E-2R-VAR-22-11-01-C"
        start, end = START, START + timedelta(days=1)
        day = await s.client.unit_rates(product, tariff, start, end, register="day")
        night = await s.client.unit_rates(product, tariff, start, end, register="night")
        both = await s.client.unit_rates(
            product, tariff, start, end, register="night", payment_method=None
        )

    assert [(r.value_inc_vat, r.payment_method, r.valid_to) for r in day] == [
        (27.9, "DIRECT_DEBIT", None)
    ]
    assert [r.value_inc_vat for r in night] == [13.1]
    assert sorted(r.value_inc_vat for r in both) == [13.1, 13.76]


async def test_gas_unit_rate_and_standing_charge_are_open_ended() -> None:
    async with session("economy7_gas") as s:
        args = ("VAR-22-11-01", "G-1R-VAR-22-11-01-C", START, START + timedelta(days=1))
        rates = await s.client.unit_rates(*args, fuel="gas")
        standing = await s.client.standing_charges(*args, fuel="gas")
        counts = dict(s.simulator.request_counts)

    assert [(r.value_inc_vat, r.valid_to) for r in rates] == [(6.24, None)]
    assert [r.value_inc_vat for r in standing] == [31.4]
    assert counts["rest:standard-unit-rates"] == 1
    assert counts["rest:standing-charges"] == 1


async def test_every_page_of_agile_rates_is_followed() -> None:
    async with session("agile_tomorrow_published", rest_page_size=10) as s:
        s.at(17)
        rows = await s.client.unit_rates(
            "AGILE-24-10-01",
            "E-1R-AGILE-24-10-01-C",
            s.midnight,
            s.midnight + timedelta(days=2),
        )
        pages = s.simulator.request_counts["rest:standard-unit-rates"]

    starts = [row.valid_from for row in rows]
    assert len(starts) == len(set(starts)) == 96  # today and tomorrow, half-hourly
    assert starts == sorted(starts, reverse=True)
    assert pages == 10
    assert s.client.request_counts["standard-unit-rates"] == 10


async def test_tracker_publishes_tomorrow_the_afternoon_before() -> None:
    async with session("tracker_dual_fuel") as s:
        args = ("SILVER-25-04-15", "E-1R-SILVER-25-04-15-C")
        window = (START.replace(hour=0), START.replace(hour=0) + timedelta(days=2))
        s.at(16, 30)
        before = await s.client.unit_rates(*args, *window)
        s.at(17, 0)
        after = await s.client.unit_rates(*args, *window)
        gas = await s.client.unit_rates(
            "SILVER-25-04-15", "G-1R-SILVER-25-04-15-C", *window, fuel="gas"
        )

    assert [r.value_inc_vat for r in before] == [21.87]
    assert [r.value_inc_vat for r in after] == [25.06, 21.87]
    assert [r.value_inc_vat for r in gas] == [5.87, 6.04]


# --- telemetry ----------------------------------------------------------------------------


async def test_a_missed_day_and_a_half_is_backfilled_in_chunks() -> None:
    async with session("cosy_heat_pump") as s:
        s.at(0, day=2)
        readings = await s.client.backfill_telemetry(
            "0A-1B-2C-3D-4E-5F-60-71",
            start=START,
            end=START + timedelta(hours=36),
            grouping="FIVE_MINUTES",
        )
        requests = s.simulator.request_counts["smartMeterTelemetry"]

    assert len(readings) == 36 * 12
    assert readings[0].read_at == START
    assert readings[-1].read_at == START + timedelta(hours=36, minutes=-5)
    assert requests == 2  # one day, then twelve hours
    totals = [r.consumption_wh or Decimal(0) for r in readings]
    assert totals == sorted(totals)
    assert {r.consumption_delta_wh for r in readings} == {Decimal("100.000")}  # 1.2 kW, 5 min


async def test_latest_reading_of_an_exporting_home() -> None:
    async with session("outgoing_fixed_export") as s:
        s.at(13)
        (latest,) = await s.client.telemetry("0A-1B-2C-3D-4E-5F-60-71")

    assert latest.demand_w == Decimal("400.0")
    assert latest.export_wh == Decimal("2200.000")  # an hour at 2.2 kW


# --- smart devices ------------------------------------------------------------------------


async def test_unplugged_car_with_spurious_dispatches_and_preferences() -> None:
    async with session("iog_unplugged_spurious_dispatch") as s:
        (car,) = await s.client.devices()
        planned = await s.client.planned_dispatches(car.id)

    assert (car.make, car.model, car.device_type) == ("Kia", "EV6", "ELECTRIC_VEHICLES")
    assert car.status.current == "LIVE"
    assert car.status.current_state == "SMART_CONTROL_NOT_AVAILABLE"
    assert [(d.start.hour, d.end.hour, d.type) for d in planned] == [
        (18, 19, "SMART"),
        (1, 3, "SMART"),
    ]
    assert car.preferences is not None
    assert car.preferences.schedules is not None
    assert {(p.day_of_week, p.ready_by, p.max_value) for p in car.preferences.schedules} == {
        (day, time(7, 30), 80.0) for day in DAYS_OF_WEEK
    }


async def test_completed_dispatches_newest_first() -> None:
    async with session("iog_boost_evening") as s:
        done = await s.client.completed_dispatches()

    assert [(d.start.isoformat(), d.delta_kwh) for d in done] == [
        ("2026-03-09T23:30:00+00:00", Decimal("-21.0")),
        ("2026-03-09T18:00:00+00:00", Decimal("-5.4")),
    ]
    assert done[1].meta is not None
    assert (done[1].meta.source, done[1].meta.location) == ("bump-charge", "AT_HOME")


async def test_boost_then_cancel() -> None:
    async with session("iog_boost_evening") as s:
        s.at(17, 40)
        (charger,) = await s.client.devices()
        boosted = await s.client.boost(charger.id)
        planned = await s.client.planned_dispatches(charger.id)
        cancelled = await s.client.cancel_boost(charger.id)
        after = await s.client.planned_dispatches(charger.id)

    assert boosted.status.current_state == "BOOSTING"
    assert (boosted.make, boosted.model) == ("Ohme", "Home Pro")
    assert [d.type for d in planned] == ["BOOST", "SMART"]
    assert planned[0].start == START.replace(hour=17, minute=40)
    assert cancelled.status.current_state == "SMART_CONTROL_CAPABLE"
    assert [d.type for d in after] == ["SMART"]


@pytest.mark.parametrize(
    ("scenario", "hour", "reason", "words"),
    [
        (
            "iog_unplugged_spurious_dispatch",
            13,
            "BC_DEVICE_DISCONNECTED",
            "the car is not plugged in",
        ),
        ("iog_boost_evening", 18, "BC_BOOST_CHARGE_IN_PROGRESS", "a boost charge is already"),
        ("iog_boost_evening", 3, "BC_DEVICE_FULLY_CHARGED", "already fully charged"),
    ],
    ids=["unplugged", "already-boosting", "fully-charged"],
)
async def test_a_refused_boost_says_why_and_is_not_retried(
    scenario: str, hour: int, reason: str, words: str
) -> None:
    async with session(scenario) as s:
        s.at(hour, day=1 if hour < 12 else 0)
        (device,) = await s.client.devices()
        with pytest.raises(KrakenActionRefused) as refused:
            await s.client.boost(device.id)
        attempts = s.simulator.request_counts["updateBoostCharge"]

    assert refused.value.reasons == (reason,)
    assert str(refused.value).startswith("Octopus refused the boost: ")
    assert words in str(refused.value)
    assert attempts == 1


async def test_suspending_smart_control_blocks_boosts_until_resumed() -> None:
    async with session("iog_boost_evening") as s:
        s.at(17, 45)
        (charger,) = await s.client.devices()
        suspended = await s.client.set_smart_control(charger.id, enabled=False)
        with pytest.raises(KrakenActionRefused, match="suspended"):
            await s.client.boost(charger.id)
        resumed = await s.client.set_smart_control(charger.id, enabled=True)
        boosted = await s.client.boost(charger.id)

    assert (suspended.status.is_suspended, suspended.status.current_state) == (
        True,
        "SMART_CONTROL_OFF",
    )
    assert (resumed.status.is_suspended, resumed.status.current_state) == (
        False,
        "SMART_CONTROL_CAPABLE",
    )
    assert boosted.status.current_state == "BOOSTING"


def ninety_percent(day: DayOfWeek, ready_by: time) -> PreferenceSchedule:
    return PreferenceSchedule(day_of_week=day, ready_by=ready_by, max_value=90.0, min_value=None)


async def test_charge_target_is_set_for_the_whole_week_and_read_back() -> None:
    week = [ninety_percent(day, time(6, 30)) for day in DAYS_OF_WEEK]
    async with session("iog_unplugged_spurious_dispatch") as s:
        (car,) = await s.client.devices()
        answered = await s.client.set_device_preferences(car.id, week)
        read_back = await s.client.device(car.id)
        with pytest.raises(ValueError, match="04:00 to 11:00 in 30-minute steps"):
            await s.client.set_device_preferences(
                car.id, [ninety_percent(day, time(12, 0)) for day in DAYS_OF_WEEK]
            )
        with pytest.raises(ValueError, match="each of the seven days"):
            await s.client.set_device_preferences(car.id, week[:5])
        with pytest.raises(ValueError, match=r"without a time zone, not 06:30\+00:00"):
            await s.client.set_device_preferences(
                car.id, [ninety_percent(day, time(6, 30, tzinfo=UTC)) for day in DAYS_OF_WEEK]
            )
        no_target = [day.model_copy(update={"max_value": None}) for day in week]
        with pytest.raises(ValueError, match="MONDAY: give a target"):
            await s.client.set_device_preferences(car.id, no_target)
        sent = s.simulator.request_counts["setDevicePreferences"]

    for device in (answered, read_back):
        assert device.preferences is not None
        assert device.preferences.schedules is not None
        assert {(p.day_of_week, p.ready_by, p.max_value) for p in device.preferences.schedules} == {
            (day, time(6, 30), 90.0) for day in DAYS_OF_WEEK
        }
    assert sent == 1  # the invalid weeks never left the bridge


# --- Octoplus: saving sessions (backend host), points and the wheel (main host) ------------


async def test_saving_sessions_come_from_the_backend_host_octoplus_from_the_main_one() -> None:
    async with session("flux_solar_battery") as s:
        sessions = await s.client.saving_sessions()
        octoplus = await s.client.octoplus(with_gas=False)
        counts = dict(s.simulator.request_counts)

    assert [(e.code, e.start.hour, e.reward_per_kwh_octopoints) for e in sessions.events] == [
        ("EVENT_2026_03_10", 17, 1600),
        ("EVENT_2026_03_11", 18, 1800),
    ]
    assert [(e.event_type, e.dev_event, e.target_regions) for e in sessions.events] == [
        ("TURN_DOWN", False, None),
        ("TURN_DOWN", False, None),
    ]
    assert sessions.account is not None
    assert [j.event_id for j in sessions.account.joined_events] == [2101]
    assert octoplus.enrolled is True
    assert octoplus.points == 0
    assert (octoplus.electricity_spins, octoplus.gas_spins) == (0, None)
    assert counts["savingSessions"] == counts["octoplusAccountInfo"] == 1
    assert counts["loyaltyPointLedgers"] == counts["wheelOfFortuneSpinsAllowed"] == 1


async def test_an_account_without_saving_sessions_gets_an_empty_list() -> None:
    async with session("go_overnight_ev") as s:
        sessions = await s.client.saving_sessions()
        octoplus = await s.client.octoplus(with_gas=True)

    assert sessions.events == []
    assert octoplus.enrolled is False
    assert (octoplus.points, octoplus.electricity_spins, octoplus.gas_spins) == (0, 0, 0)
