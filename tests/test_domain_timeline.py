"""Rate rows of every shape become half-hour slots; quadrants; tomorrow's prices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kraken_core.domain.product import (
    FOUR_RATE_EV_NIGHT,
    OLDER_METER_NIGHT,
    SMART_METER_NIGHT,
)
from kraken_core.domain.tariff import tariff_state, tomorrow_prices_published
from kraken_core.domain.timeline import (
    LONDON,
    RatePeriod,
    day_night_rates,
    day_rates,
    day_slots,
    half_hour_rates,
    local_day_bounds,
    price_quadrant,
)
from tests.helpers.domain_rates import (
    AGILE_DAY,
    AGILE_WINDY_DAY,
    COSY_CHEAP,
    COSY_PEAK,
    COSY_STANDARD,
    IOG_OFF_PEAK,
    IOG_PEAK,
    agile_rows,
    cosy_rows,
    iog_rows,
    local,
    tracker_rows,
    utc,
)

SPRING = date(2026, 3, 29)  # clocks go forward: 46 slots
AUTUMN = date(2026, 10, 25)  # clocks go back: 50 slots
ORDINARY = date(2026, 6, 10)


def slots_of(rows: list[RatePeriod], day: date) -> dict[datetime, float]:
    return half_hour_rates(rows, *local_day_bounds(day))


def fixed_rows(_: date) -> list[RatePeriod]:
    return [RatePeriod(utc("2025-10-01T00:00:00Z"), None, 24.86)]


# (shape, day, rows builder, slots the day has, distinct rates, rate at local 18:00)
SHAPES: list[tuple[str, date, Callable[[date], list[RatePeriod]], int, int, float]] = [
    ("agile ordinary", ORDINARY, lambda d: agile_rows(d, AGILE_DAY), 48, 47, AGILE_DAY[36]),
    ("agile spring forward", SPRING, lambda d: agile_rows(d, AGILE_DAY), 46, 45, AGILE_DAY[34]),
    ("agile autumn back", AUTUMN, lambda d: agile_rows(d, AGILE_DAY), 50, 47, AGILE_DAY[38]),
    ("iog spring forward", SPRING, lambda d: iog_rows(d, 2), 46, 2, IOG_PEAK),
    ("iog autumn back", AUTUMN, lambda d: iog_rows(d, 2), 50, 2, IOG_PEAK),
    ("cosy three rates", ORDINARY, cosy_rows, 48, 3, COSY_PEAK),
    ("cosy spring forward", SPRING, cosy_rows, 46, 3, COSY_PEAK),
    ("tracker daily", AUTUMN, lambda d: tracker_rows(d, [21.35]), 50, 1, 21.35),
    ("fixed open-ended", SPRING, fixed_rows, 46, 1, 24.86),
]


@pytest.mark.parametrize(
    ("day", "rows", "slots", "distinct", "at_six"),
    [case[1:] for case in SHAPES],
    ids=[case[0] for case in SHAPES],
)
def test_every_shape_becomes_one_rate_per_slot_of_the_local_day(
    day: date,
    rows: Callable[[date], list[RatePeriod]],
    slots: int,
    distinct: int,
    at_six: float,
) -> None:
    rates = slots_of(rows(day), day)
    assert list(rates) == day_slots(day)
    assert len(rates) == slots
    assert len(set(rates.values())) == distinct
    assert rates[local(day, 18)] == at_six


@pytest.mark.parametrize(
    ("day", "off_peak_starts", "off_peak_ends"),
    [
        (date(2026, 1, 15), "2026-01-14T23:30:00Z", "2026-01-15T05:30:00Z"),  # GMT
        (date(2026, 7, 15), "2026-07-14T22:30:00Z", "2026-07-15T04:30:00Z"),  # BST
        (SPRING, "2026-03-28T23:30:00Z", "2026-03-29T04:30:00Z"),  # 5 hours that night
        (AUTUMN, "2026-10-24T22:30:00Z", "2026-10-25T05:30:00Z"),  # 7 hours that night
    ],
)
def test_iog_off_peak_is_23_30_to_05_30_local_whatever_the_offset(
    day: date, off_peak_starts: str, off_peak_ends: str
) -> None:
    rates = half_hour_rates(
        iog_rows(day, 1), utc(off_peak_starts) - timedelta(hours=1), local(day, 12)
    )
    cheap = [slot for slot, rate in rates.items() if rate == IOG_OFF_PEAK]
    assert cheap[0] == utc(off_peak_starts)
    assert cheap[-1] + timedelta(minutes=30) == utc(off_peak_ends)


def test_cosy_has_no_slot_in_the_second_quadrant() -> None:
    rates = slots_of(cosy_rows(ORDINARY), ORDINARY)
    quadrants = {rate: price_quadrant(rate, rates.values()) for rate in rates.values()}
    assert quadrants == {COSY_CHEAP: 0, COSY_STANDARD: 2, COSY_PEAK: 3}


def test_negative_agile_prices_sit_in_the_lowest_band() -> None:
    rates = slots_of(agile_rows(ORDINARY, AGILE_WINDY_DAY), ORDINARY)
    day = list(rates.values())
    assert min(day) == -5.25
    assert price_quadrant(-5.25, day) == 0
    assert price_quadrant(35.8, day) == 3
    # band width (35.8 + 5.25) / 4 = 10.2625: 5.0 is still band 0, 5.3 is band 1
    assert (price_quadrant(5.0, day), price_quadrant(5.3, day)) == (0, 1)


@pytest.mark.parametrize(
    ("price", "day", "quadrant"),
    [
        (20.0, [20.0] * 48, 0),  # flat day
        (-3.0, [-3.0, -3.0], 0),  # flat negative day
        (10.0, [10.0, 20.0], 0),
        (20.0, [10.0, 20.0], 3),
        (14.99, [10.0, 30.0], 0),
        (15.0, [10.0, 30.0], 1),
        (25.0, [10.0, 30.0], 3),
        (24.99, [10.0, 30.0], 2),
    ],
)
def test_quadrant_bands_are_equal_width(price: float, day: list[float], quadrant: int) -> None:
    assert price_quadrant(price, day) == quadrant


def _nights(rates: dict[datetime, float], night: float) -> list[str]:
    """The UK-time starts of the night-rate slots."""
    return [f"{s.astimezone(LONDON):%H:%M}" for s, rate in rates.items() if rate == night]


def test_economy7_on_a_smart_meter_keeps_gmt_night_hours_in_summer() -> None:
    day_rows = [RatePeriod(utc("2026-01-01T00:00:00Z"), None, 28.1)]
    night_rows = [RatePeriod(utc("2026-01-01T00:00:00Z"), None, 11.9)]
    start, end = local_day_bounds(date(2026, 7, 1))  # BST: local midnight is 23:00 UTC
    rates = day_night_rates(day_rows, night_rows, start, end, SMART_METER_NIGHT)
    assert len(rates) == 48
    nights = _nights(rates, 11.9)  # 00:30-07:30 GMT is 01:30-08:30 BST
    assert (nights[0], nights[-1], len(nights)) == ("01:30", "08:00", 14)


def test_economy7_on_an_older_meter_follows_the_uk_clock() -> None:
    day_rows = [RatePeriod(utc("2026-01-01T00:00:00Z"), None, 28.1)]
    night_rows = [RatePeriod(utc("2026-01-01T00:00:00Z"), None, 11.9)]
    for day in (date(2026, 1, 15), date(2026, 7, 1)):
        rates = day_night_rates(day_rows, night_rows, *local_day_bounds(day), OLDER_METER_NIGHT)
        nights = _nights(rates, 11.9)
        assert (nights[0], nights[-1], len(nights)) == ("00:00", "06:30", 14)


def test_four_rate_home_night_wraps_midnight_in_uk_time() -> None:
    day_rows = [RatePeriod(utc("2026-01-01T00:00:00Z"), None, 30.0)]
    night_rows = [RatePeriod(utc("2026-01-01T00:00:00Z"), None, 7.0)]
    rates = day_night_rates(
        day_rows, night_rows, *local_day_bounds(date(2026, 7, 1)), FOUR_RATE_EV_NIGHT
    )
    nights = _nights(rates, 7.0)  # 00:00-05:30 and 23:30-24:00 BST
    assert (nights[0], nights[-2], nights[-1], len(nights)) == ("00:00", "05:00", "23:30", 12)


@pytest.mark.parametrize(
    ("now", "tomorrow", "slots"),
    [
        ("2026-03-28T16:05:00Z", SPRING, 46),
        ("2026-10-24T15:05:00Z", AUTUMN, 50),  # 16:05 BST
    ],
)
def test_tomorrow_published_needs_every_slot_of_a_short_or_long_day(
    now: str, tomorrow: date, slots: int
) -> None:
    today = tomorrow - timedelta(days=1)
    rows = agile_rows(today, AGILE_DAY)
    start, end = local_day_bounds(today)[0], local_day_bounds(tomorrow)[1]
    assert not tomorrow_prices_published(half_hour_rates(rows, start, end), utc(now))
    later = rows + agile_rows(tomorrow, AGILE_DAY)
    rates = half_hour_rates(later, start, end)
    assert len(day_rates(rates, tomorrow) or []) == slots
    assert tomorrow_prices_published(rates, utc(now))
    # The last hour (23:00-24:00 UK time) is not needed: it comes with the next block.
    without_last_hour = dict(rates)
    for slot in day_slots(tomorrow)[-2:]:
        del without_last_hour[slot]
    assert tomorrow_prices_published(without_last_hour, utc(now))
    missing_2230 = dict(rates)
    del missing_2230[day_slots(tomorrow)[-3]]
    assert not tomorrow_prices_published(missing_2230, utc(now))


def test_the_extra_hour_of_autumn_has_its_own_two_prices() -> None:
    rates = slots_of(agile_rows(AUTUMN, AGILE_DAY), AUTUMN)
    # 01:00–02:00 local happens twice: 00:00Z and 01:00Z, four distinct slots
    assert [rates[utc(f"2026-10-25T0{h}:{m}:00Z")] for h in (0, 1) for m in ("00", "30")] == [
        AGILE_DAY[2],
        AGILE_DAY[3],
        AGILE_DAY[4],
        AGILE_DAY[5],
    ]
    state = tariff_state(
        rates,
        utc("2026-10-25T01:10:00Z"),
        standing_charge=None,
        product_code=None,
        tariff_code=None,
    )
    assert (state.unit_rate, state.next_unit_rate) == (AGILE_DAY[4], AGILE_DAY[5])


day_prices = st.lists(
    st.floats(-30, 120, allow_nan=False).map(lambda p: round(p, 2)), min_size=46, max_size=50
)


@given(day_prices)
def test_quadrants_of_a_day_are_0_to_3_and_monotonic_in_price(prices: list[float]) -> None:
    rates = slots_of(agile_rows(ORDINARY, prices), ORDINARY)
    pairs = sorted((rate, price_quadrant(rate, rates.values())) for rate in rates.values())
    quadrants = [q for _, q in pairs]
    assert all(0 <= q <= 3 for q in quadrants)
    assert quadrants == sorted(quadrants)
    assert quadrants[0] == 0
    if max(rates.values()) > min(rates.values()):
        assert quadrants[-1] == 3
