"""The cheapest time to run something, on a real Agile day and an IOG night."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kraken_core.domain.cheapest import cheapest_slots, cheapest_window
from kraken_core.domain.timeline import day_slots, half_hour_rates, local_day_bounds
from tests.helpers.domain_rates import (
    AGILE_DAY,
    AGILE_WINDY_DAY,
    IOG_OFF_PEAK,
    agile_rows,
    iog_rows,
    local,
    utc,
)

DAY = date(2026, 6, 10)  # BST: local midnight is 23:00 UTC
AGILE = half_hour_rates(agile_rows(DAY, AGILE_DAY), *local_day_bounds(DAY))
WINDY = half_hour_rates(agile_rows(DAY, AGILE_WINDY_DAY), *local_day_bounds(DAY))
FLAT = dict.fromkeys(day_slots(DAY), 24.5)
DAY_START, DAY_END = local_day_bounds(DAY)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# (case, rates, duration, earliest, latest, start, average)
WINDOW_CASES: list[
    tuple[str, dict[datetime, float], timedelta, datetime, datetime, datetime, float]
] = [
    ("one hour, whole day", AGILE, hours(1), DAY_START, DAY_END, local(DAY, 2, 30), 15.65),
    ("two hours, whole day", AGILE, hours(2), DAY_START, DAY_END, local(DAY, 2), 15.85),
    ("afternoon only", AGILE, hours(1), local(DAY, 12), local(DAY, 18), local(DAY, 12), 21.1),
    ("negative prices", WINDY, hours(1.5), DAY_START, DAY_END, local(DAY, 9), -10.25 / 3),
    ("flat day: earliest wins", FLAT, hours(3), DAY_START, DAY_END, DAY_START, 24.5),
    # 45 minutes: a full slot and half of the next, time-weighted
    (
        "partial last slot",
        AGILE,
        timedelta(minutes=45),
        DAY_START,
        DAY_END,
        local(DAY, 3),
        703.5 / 45,
    ),
    ("unaligned earliest", AGILE, hours(1), local(DAY, 2, 50), DAY_END, local(DAY, 3), 15.7),
]


@pytest.mark.parametrize(
    ("rates", "duration", "earliest", "latest", "start", "average"),
    [c[1:] for c in WINDOW_CASES],
    ids=[c[0] for c in WINDOW_CASES],
)
def test_cheapest_contiguous_window(
    rates: dict[datetime, float],
    duration: timedelta,
    earliest: datetime,
    latest: datetime,
    start: datetime,
    average: float,
) -> None:
    found = cheapest_window(rates, duration, earliest, latest)
    assert found is not None
    assert found.start == start
    assert found.end == start + duration
    assert found.average_rate == pytest.approx(average)
    assert earliest <= found.start
    assert found.end <= latest


def test_a_window_never_spans_a_slot_without_a_price() -> None:
    gap = dict(AGILE)
    del gap[local(DAY, 3, 30)]
    found = cheapest_window(gap, hours(1), DAY_START, DAY_END)
    assert found is not None
    assert local(DAY, 3, 30) not in found.slots
    assert cheapest_window({}, hours(1), DAY_START, DAY_END) is None
    assert cheapest_window(AGILE, hours(25), DAY_START, DAY_END) is None


def test_iog_night_window_is_inside_the_off_peak_block() -> None:
    rates = half_hour_rates(iog_rows(DAY, 2), DAY_START, local(DAY + timedelta(days=1), 12))
    found = cheapest_window(rates, hours(4), local(DAY, 18), local(DAY + timedelta(days=1), 8))
    assert found is not None
    assert (found.start, found.average_rate) == (local(DAY, 23, 30), IOG_OFF_PEAK)


def test_cheapest_n_slots_need_not_be_together() -> None:
    found = cheapest_slots(WINDY, 4, DAY_START, DAY_END)
    assert found is not None
    assert found.slots == (local(DAY, 2, 30), local(DAY, 3), local(DAY, 9, 30), local(DAY, 10))
    assert found.average_rate == pytest.approx((-3.4 - 4.1 - 5.25 - 3.1) / 4)
    assert found.end == local(DAY, 10, 30)


def test_cheapest_slots_on_ties_take_the_earliest() -> None:
    found = cheapest_slots(FLAT, 3, local(DAY, 7), DAY_END)
    assert found is not None
    assert found.slots == (local(DAY, 7), local(DAY, 7, 30), local(DAY, 8))
    assert cheapest_slots(FLAT, 49, DAY_START, DAY_END) is None
    with pytest.raises(ValueError, match="positive"):
        cheapest_slots(FLAT, 0, DAY_START, DAY_END)


prices = st.lists(st.floats(-20, 100).map(lambda p: round(p, 2)), min_size=48, max_size=48)


@given(prices, st.integers(1, 12))
def test_no_other_window_is_cheaper_and_slots_beat_any_window(
    values: list[float], slots: int
) -> None:
    rates = half_hour_rates(agile_rows(DAY, values), DAY_START, DAY_END)
    duration = timedelta(minutes=30 * slots)
    found = cheapest_window(rates, duration, DAY_START, DAY_END)
    assert found is not None
    starts = day_slots(DAY)[: 48 - slots + 1]
    averages = [
        sum(rates[s + timedelta(minutes=30 * i)] for i in range(slots)) / slots for s in starts
    ]
    assert found.average_rate == pytest.approx(min(averages))
    first_best = next(s for s, a in zip(starts, averages, strict=True) if a <= min(averages) + 1e-9)
    assert found.start == first_best
    loose = cheapest_slots(rates, slots, DAY_START, DAY_END)
    assert loose is not None
    assert loose.average_rate <= found.average_rate + 1e-9
    assert utc("2026-06-09T23:00:00Z") <= loose.start
