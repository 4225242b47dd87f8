"""The prices a user sees, from rate rows of real shapes (IOG blocks, Agile half-hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kraken_core.domain.dispatch import PlannedDispatch, counted_windows, smart_device_state
from kraken_core.domain.tariff import RateSource, tariff_state
from kraken_core.domain.timeline import (
    RatePeriod,
    day_slots,
    half_hour_rates,
    local_day_bounds,
    price_quadrant,
    slot_start,
)
from kraken_core.domain.windows import DispatchType, DispatchWindow

PEAK, OFF_PEAK = 24.5, 7.0


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iog_rows(first_day: date, days: int) -> list[RatePeriod]:
    """IOG as Kraken's REST answer gives it: alternating off-peak and peak blocks (GMT dates)."""
    rows = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        night = datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC) - timedelta(days=1)
        morning = night + timedelta(hours=6)
        rows.append(RatePeriod(night, morning, OFF_PEAK))
        rows.append(RatePeriod(morning, night + timedelta(days=1), PEAK))
    return rows


IOG_SLOTS = half_hour_rates(
    iog_rows(date(2026, 3, 9), 4), utc("2026-03-09T00:00:00"), utc("2026-03-13T00:00:00")
)


@pytest.mark.parametrize(
    ("day", "slots"),
    [(date(2026, 3, 29), 46), (date(2026, 3, 30), 48), (date(2026, 10, 25), 50)],
)
def test_local_days_have_46_48_or_50_slots(day: date, slots: int) -> None:
    assert len(day_slots(day)) == slots
    start, end = local_day_bounds(day)
    assert day_slots(day)[0] == start
    assert day_slots(day)[-1] + timedelta(minutes=30) == end


def test_iog_peak_slot_shows_peak_price_and_the_next_slot() -> None:
    state = tariff_state(
        IOG_SLOTS,
        utc("2026-03-10T12:10:00"),
        standing_charge=53.0,
        product_code="INTELLI-VAR-24-10-29",
        tariff_code="E-1R-INTELLI-VAR-24-10-29-C",
    )
    assert state.unit_rate == PEAK
    assert state.tariff_unit_rate == PEAK
    assert state.next_unit_rate == PEAK
    assert state.slot_start == utc("2026-03-10T12:00:00")
    assert state.slot_end == utc("2026-03-10T12:30:00")
    assert state.rate_source is RateSource.TARIFF
    assert state.price_quadrant == 3


def test_price_drops_at_23_30_into_the_off_peak_block() -> None:
    before = tariff_state(
        IOG_SLOTS,
        utc("2026-03-10T23:29:59"),
        standing_charge=None,
        product_code=None,
        tariff_code=None,
    )
    after = tariff_state(
        IOG_SLOTS,
        utc("2026-03-10T23:30:00"),
        standing_charge=None,
        product_code=None,
        tariff_code=None,
    )
    assert (before.unit_rate, before.next_unit_rate) == (PEAK, OFF_PEAK)
    assert (after.unit_rate, after.price_quadrant) == (OFF_PEAK, 0)


def test_smart_dispatch_makes_every_touched_slot_off_peak_but_boost_does_not() -> None:
    smart = DispatchWindow(
        utc("2026-03-10T19:10:00"), utc("2026-03-10T19:40:00"), DispatchType.SMART
    )
    at_1935 = tariff_state(
        IOG_SLOTS,
        utc("2026-03-10T19:35:00"),
        standing_charge=None,
        product_code=None,
        tariff_code=None,
        dispatches=[smart],
    )
    # 19:30–20:00 is touched for ten minutes: the whole slot is off-peak.
    assert (at_1935.unit_rate, at_1935.tariff_unit_rate) == (OFF_PEAK, PEAK)
    assert at_1935.rate_source is RateSource.SMART_DISPATCH
    assert at_1935.next_unit_rate == PEAK
    boost = DispatchWindow(
        utc("2026-03-10T19:00:00"), utc("2026-03-10T20:00:00"), DispatchType.BOOST
    )
    boosting = tariff_state(
        IOG_SLOTS,
        utc("2026-03-10T19:35:00"),
        standing_charge=None,
        product_code=None,
        tariff_code=None,
        dispatches=[boost],
    )
    assert (boosting.unit_rate, boosting.rate_source) == (PEAK, RateSource.BOOST)


def test_unplugged_car_dispatches_do_not_count() -> None:
    planned = [
        PlannedDispatch(
            utc("2026-03-10T19:00:00"), utc("2026-03-10T20:00:00"), DispatchType.SMART, 7.5
        )
    ]
    assert counted_windows("SMART_CONTROL_NOT_AVAILABLE", planned) == []
    shown = smart_device_state("SMART_CONTROL_NOT_AVAILABLE", planned, utc("2026-03-10T19:30:00"))
    assert not shown.dispatches_honoured
    assert not shown.dispatching
    assert shown.planned_dispatches == ()
    plugged = smart_device_state("SMART_CONTROL_CAPABLE", planned, utc("2026-03-10T19:30:00"))
    assert plugged.dispatching
    assert plugged.next_dispatch_end == utc("2026-03-10T20:00:00")
    assert (plugged.planned_dispatch_count, plugged.planned_energy_kwh) == (1, 7.5)
    assert plugged.current_dispatch_end == utc("2026-03-10T20:00:00")
    assert (shown.planned_dispatch_count, shown.current_dispatch_end) == (0, None)


def test_tomorrow_published_once_its_slots_to_2300_uk_time_are_known() -> None:
    """Agile's day-ahead block runs 23:00 -> 23:00: the last hour comes the day after."""
    today = half_hour_rates(
        [RatePeriod(utc("2026-03-10T00:00:00"), utc("2026-03-11T00:00:00"), 20.0)],
        utc("2026-03-10T00:00:00"),
        utc("2026-03-12T00:00:00"),
    )
    now = utc("2026-03-10T16:05:00")
    kwargs = {"standing_charge": None, "product_code": None, "tariff_code": None}
    assert not tariff_state(today, now, **kwargs).tomorrow_prices_published  # type: ignore[arg-type]
    tomorrow = day_slots(date(2026, 3, 11))  # GMT: 23:00 UK time is 23:00Z
    block = dict(today) | {slot: 15.0 for slot in tomorrow if slot < utc("2026-03-11T23:00:00")}
    assert tariff_state(block, now, **kwargs).tomorrow_prices_published  # type: ignore[arg-type]
    short = dict(block)
    del short[utc("2026-03-11T22:30:00")]
    assert not tariff_state(short, now, **kwargs).tomorrow_prices_published  # type: ignore[arg-type]


def test_quadrant_uses_equal_width_bands_not_ranks() -> None:
    cosy = [12.0] * 10 + [25.0] * 30 + [38.0] * 8  # no slot between 18.5 and 25
    assert {price_quadrant(p, cosy) for p in cosy} == {0, 2, 3}
    assert price_quadrant(20.0, [20.0, 20.0]) == 0
    assert price_quadrant(-2.0, [-2.0, 10.0, 30.0]) == 0


@given(
    st.lists(st.floats(-50, 150, allow_nan=False), min_size=1, max_size=50),
    st.data(),
)
def test_quadrant_is_within_0_3_and_monotonic_in_price(
    prices: list[float], data: st.DataObject
) -> None:
    a = data.draw(st.sampled_from(prices))
    b = data.draw(st.sampled_from(prices))
    qa, qb = price_quadrant(a, prices), price_quadrant(b, prices)
    assert 0 <= qa <= 3
    if a <= b:
        assert qa <= qb


def test_slot_start_floors_to_the_half_hour() -> None:
    assert slot_start(utc("2026-03-10T12:59:59")) == utc("2026-03-10T12:30:00")
    assert slot_start(utc("2026-03-10T12:00:00")) == utc("2026-03-10T12:00:00")
