"""Rate rows of real tariff shapes, as Kraken's REST answers give them (UTC blocks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from kraken_core.domain.timeline import LONDON, RatePeriod, day_slots

# Intelligent Octopus Go, 2026-ish: off-peak 23:30–05:30 local, peak the rest.
IOG_PEAK, IOG_OFF_PEAK = 24.5, 7.0
# Cosy Octopus: cheap 04:00–07:00, 13:00–16:00, 22:00–24:00; peak 16:00–19:00 (local).
COSY_CHEAP, COSY_STANDARD, COSY_PEAK = 13.36, 27.10, 40.52

# An Agile day (48 half-hours from local midnight): overnight wind, a solar dip, the
# 16:00–19:00 peak. The windy variant goes negative over the small hours and midday.
AGILE_DAY = [
    18.9,
    18.1,
    17.6,
    16.9,
    16.2,
    15.8,
    15.5,
    15.9,
    16.4,
    17.3,
    19.8,
    22.6,
    24.1,
    25.3,
    24.8,
    23.2,
    21.7,
    19.9,
    18.4,
    17.2,
    16.8,
    16.5,
    17.1,
    18.6,
    20.3,
    21.9,
    23.5,
    24.2,
    25.6,
    27.1,
    29.4,
    31.8,
    38.6,
    41.2,
    43.9,
    42.7,
    39.8,
    36.1,
    28.4,
    26.3,
    25.1,
    24.0,
    23.2,
    22.1,
    21.4,
    20.6,
    19.7,
    19.2,
]
AGILE_WINDY_DAY = [
    4.2,
    2.1,
    0.0,
    -1.3,
    -2.6,
    -3.4,
    -4.1,
    -2.2,
    -0.8,
    1.5,
    6.3,
    12.8,
    15.1,
    14.2,
    11.6,
    8.3,
    3.9,
    0.4,
    -1.9,
    -5.25,
    -3.1,
    -0.6,
    2.2,
    7.4,
    11.8,
    14.6,
    16.3,
    18.1,
    19.5,
    21.2,
    23.4,
    26.9,
    32.7,
    35.8,
    34.1,
    31.0,
    27.5,
    22.3,
    18.2,
    15.4,
    13.1,
    11.0,
    9.8,
    8.1,
    6.6,
    5.3,
    4.8,
    3.9,
]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A Europe/London wall-clock time as UTC."""
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def agile_rows(day: date, prices: Sequence[float]) -> list[RatePeriod]:
    """One row per half-hour of the local day; on 46/50-slot days the 48 prices are cut
    or the last repeated, as a real day-ahead auction has as many prices as slots."""
    slots = day_slots(day)
    values = list(prices[: len(slots)]) + [prices[-1]] * max(0, len(slots) - len(prices))
    return [
        RatePeriod(slot, slot + timedelta(minutes=30), value, "DIRECT_DEBIT")
        for slot, value in zip(slots, values, strict=True)
    ]


def iog_rows(first_day: date, days: int) -> list[RatePeriod]:
    """Alternating off-peak (23:30–05:30 local) and peak blocks, ``days`` nights from the
    night that ends on ``first_day``."""
    rows = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        night = local(day - timedelta(days=1), 23, 30)
        morning = local(day, 5, 30)
        rows.append(RatePeriod(night, morning, IOG_OFF_PEAK))
        rows.append(RatePeriod(morning, local(day, 23, 30), IOG_PEAK))
    return rows


def cosy_rows(day: date) -> list[RatePeriod]:
    blocks = [
        (0, 4, COSY_STANDARD),
        (4, 7, COSY_CHEAP),
        (7, 13, COSY_STANDARD),
        (13, 16, COSY_CHEAP),
        (16, 19, COSY_PEAK),
        (19, 22, COSY_STANDARD),
        (22, 24, COSY_CHEAP),
    ]
    end_of_day = local(day + timedelta(days=1), 0)
    return [
        RatePeriod(local(day, a), local(day, b) if b < 24 else end_of_day, rate)
        for a, b, rate in blocks
    ]


def tracker_rows(first_day: date, prices: Sequence[float]) -> list[RatePeriod]:
    """Tracker: one price per local day, midnight to midnight."""
    rows = []
    for offset, price in enumerate(prices):
        day = first_day + timedelta(days=offset)
        rows.append(RatePeriod(local(day, 0), local(day + timedelta(days=1), 0), price))
    return rows
