"""Tariff efficiency (DESIGN.md) from slots in a real SQLite history store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.domain.efficiency import (
    Period,
    PeriodTotals,
    SlotEnergy,
    efficiency,
    period_days,
    price_slot,
)
from kraken_core.domain.timeline import LONDON, RatePeriod, day_slots, half_hour_rates
from kraken_core.engine.history_queries import HistoryQueries
from kraken_core.store.db import Store
from kraken_core.store.history import HistoryStore, SlotPrices

NOW = datetime(2026, 12, 1, tzinfo=UTC)  # every recorded slot has ended


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "history.sqlite3")
    yield opened
    await opened.close()


async def record(
    store: Store,
    rates: Mapping[datetime, float],
    kwh: Callable[[datetime, float], float],
) -> None:
    """Slots of ``rates`` priced by the domain, each consuming ``kwh(slot, rate)``."""
    by_day: dict[date, dict[datetime, float]] = {}
    for slot, rate in rates.items():
        by_day.setdefault(slot.astimezone(LONDON).date(), {})[slot] = rate
    prices: dict[datetime, SlotPrices] = {}
    energy: dict[datetime, SlotEnergy] = {}
    for day_rates in by_day.values():
        for slot in day_rates:
            prices[slot] = SlotPrices(price_slot(day_rates, slot), None)
            energy[slot] = SlotEnergy(1000 * kwh(slot, day_rates[slot]), 0.0, 1800.0)
    await HistoryStore(store).write_poll(
        samples=[],
        demand_w={},
        energy=energy,
        prices=prices,
        dispatches=[],
        seen_at=NOW,
        keep_readings_from=NOW,
    )


async def stats_json(queries: HistoryQueries, period: Period, day: date) -> dict[str, Any]:
    """The statistics as GET /api/v1/stats answers them."""
    return (await queries.stats(period, day)).model_dump(mode="json", by_alias=True)


def stats_for(store: Store) -> HistoryQueries:
    return HistoryQueries(store, SimulatedClock(NOW))


def test_the_worked_example_from_its_shares_and_prices() -> None:
    result = efficiency(
        PeriodTotals(
            kwh_by_quadrant=(89.5, 0.0, 10.2, 0.3),
            cost_p=100 * 15.25,
            minimum_price=12.0,
            reference_price=24.0,
        )
    )
    assert result.score == 2.574
    assert result.score_percent == 86
    assert result.average_price_paid == 15.25
    assert result.cost_ratio_percent == 127
    assert result.saving_efficiency_percent == 73
    assert result.saving_p == 875.0  # 100 kWh at 24p instead of 15.25p


# The worked example as a day of slots: 12p and 16p (Q0), 27p (Q2), 36p (Q3) and
# unused 31.125p slots, so that the day's mean scheduled rate is exactly 24p.
WORKED_DAY = date(2026, 1, 15)
WORKED_RATES = [12.0] * 12 + [16.0] * 6 + [27.0] * 10 + [36.0] * 4 + [31.125] * 16
WORKED_KWH = {12.0: 48.3 / 12, 16.0: 41.2 / 6, 27.0: 10.2 / 10, 36.0: 0.3 / 4, 31.125: 0.0}


async def test_the_worked_example_from_a_day_of_slots(store: Store) -> None:
    rates = dict(zip(day_slots(WORKED_DAY), WORKED_RATES, strict=True))
    await record(store, rates, lambda _, rate: WORKED_KWH[rate])
    stats = await stats_json(stats_for(store), "day", WORKED_DAY)
    assert stats["slots"] == 48
    assert stats["share_percent"] == [89.5, 0.0, 10.2, 0.3]
    assert stats["score"] == 2.574
    assert stats["score_percent"] == 86
    assert stats["minimum_price"] == 12.0
    assert stats["reference_price"] == 24.0
    assert stats["average_price_paid"] == 15.25
    assert stats["cost_ratio_percent"] == 127
    assert stats["saving_efficiency_percent"] == 73
    assert stats["saving_p"] == 875.0


def cosy_rows(first: date, last: date) -> list[RatePeriod]:
    """Cosy's three rates each day: 13p (04-07, 13-16, 22-24), 40p (16-19), else 27p."""
    rows = []
    blocks = [(0, 4, 27.0), (4, 7, 13.0), (7, 13, 27.0), (13, 16, 13.0), (16, 19, 40.0)]
    blocks += [(19, 22, 27.0), (22, 24, 13.0)]
    day = first
    while day <= last:
        for start, end, rate in blocks:
            begin = datetime.combine(day, time(start), LONDON)
            finish = datetime.combine(day + timedelta(days=end // 24), time(end % 24), LONDON)
            rows.append(RatePeriod(begin.astimezone(UTC), finish.astimezone(UTC), rate))
        day += timedelta(days=1)
    return rows


async def test_a_cosy_month_has_nothing_in_the_second_quadrant(store: Store) -> None:
    first, last = date(2026, 2, 1), date(2026, 2, 28)
    start = datetime.combine(first, time(0), LONDON)
    end = datetime.combine(last + timedelta(days=1), time(0), LONDON)
    rates = half_hour_rates(cosy_rows(first, last), start, end)
    # A heat pump that runs mostly in the cheap windows, some at standard, little at peak.
    await record(store, rates, lambda _, rate: {13.0: 1.5, 27.0: 0.4, 40.0: 0.1}[rate])
    stats = await stats_json(stats_for(store), "month", date(2026, 2, 14))
    assert (stats["from"], stats["to"]) == ("2026-02-01", "2026-02-28")
    assert stats["slots"] == 28 * 48
    q0, q1, q2, q3 = stats["kwh_by_quadrant"]
    assert q1 == 0.0  # Cosy's standard rate (27p of 13-40p) is in Q2: Q1 stays empty
    assert (q0, q2, q3) == (28 * 16 * 1.5, 28 * 26 * 0.4, 28 * 6 * 0.1)
    assert stats["minimum_price"] == 13.0
    assert stats["reference_price"] == pytest.approx((16 * 13 + 26 * 27 + 6 * 40) / 48, abs=0.01)
    shares = stats["share_percent"]
    assert shares[1] == 0.0
    assert stats["score"] == pytest.approx((3 * q0 - q2 - 3 * q3) / (q0 + q2 + q3), abs=0.001)


async def test_a_month_with_a_clock_change_counts_its_real_half_hours(store: Store) -> None:
    first, last = date(2026, 3, 1), date(2026, 3, 31)
    start = datetime.combine(first, time(0), LONDON)
    end = datetime.combine(last + timedelta(days=1), time(0), LONDON)
    # Flat 20p except 00:00-04:00 local at 10p: the short day loses a cheap hour.
    rates = {
        slot: 10.0 if slot.astimezone(LONDON).hour < 4 else 20.0
        for slot in half_hour_rates([RatePeriod(start, None, 0.0)], start, end)
    }
    await record(store, rates, lambda _, __: 0.5)
    queries = stats_for(store)
    month = await stats_json(queries, "month", date(2026, 3, 1))
    assert month["slots"] == 31 * 48 - 2  # 29 March has 46 half-hours
    assert month["import_kwh"] == pytest.approx(0.5 * (31 * 48 - 2))
    short_day = await stats_json(queries, "day", date(2026, 3, 29))
    assert short_day["slots"] == 46
    # 00:00-04:00 local on the short day is 3 hours (6 cheap slots), not 4.
    assert short_day["kwh_by_quadrant"][0] == pytest.approx(6 * 0.5)
    assert short_day["share_percent"][0] == pytest.approx(100 * 6 / 46, abs=0.05)


async def test_the_twelve_month_window_moves_with_the_day(store: Store) -> None:
    first, last = date(2025, 3, 1), date(2026, 3, 31)
    start = datetime.combine(first, time(0), LONDON)
    end = datetime.combine(last + timedelta(days=1), time(0), LONDON)
    flat = half_hour_rates([RatePeriod(start, None, 25.0)], start, end)
    # Cheaper overnight (Q0) than by day (Q3); March 2025 used only peak power.
    rates = {s: 10.0 if s.astimezone(LONDON).hour < 7 else r for s, r in flat.items()}

    def kwh(slot: datetime, rate: float) -> float:
        if slot.astimezone(LONDON).date() < date(2025, 4, 1):
            return 1.0 if rate > 10 else 0.0
        return 1.0 if rate == 10.0 else 0.25

    await record(store, rates, kwh)
    queries = stats_for(store)
    year = await stats_json(queries, "12m", date(2026, 3, 31))
    assert (year["from"], year["to"]) == ("2025-04-01", "2026-03-31")
    assert year["slots"] == 17_520  # 365 days; the two clock changes cancel out
    nights = 365 * 14  # 00:00-07:00 local
    assert year["import_kwh"] == pytest.approx(nights + 0.25 * (17_520 - nights), abs=0.01)
    assert year["minimum_price"] == 10.0
    # A year earlier the window still held the peak-only March of 2025.
    earlier = await stats_json(queries, "12m", date(2026, 3, 30))
    assert earlier["from"] == "2025-03-31"
    assert earlier["score"] < year["score"]
    assert period_days("12m", date(2028, 2, 29)) == (date(2027, 3, 1), date(2028, 2, 29))
