"""The half-hour timeline: rate rows of any shape become slots keyed by their UTC start.

Pure functions, no I/O and no clock: every "now" is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
SLOT = timedelta(minutes=30)


@dataclass(frozen=True)
class RatePeriod:
    """A block of one price: an Agile half-hour, an IOG peak block, a fixed open-ended rate."""

    valid_from: datetime
    valid_to: datetime | None
    value_inc_vat: float
    payment_method: str | None = None


def slot_start(when: datetime) -> datetime:
    """Start (UTC) of the half-hour slot containing ``when``.

    UK offsets are whole hours, so local half-hours are UTC half-hours.
    """
    when = when.astimezone(UTC)
    return when.replace(minute=30 if when.minute >= 30 else 0, second=0, microsecond=0)


def local_day(when: datetime) -> date:
    """The Europe/London calendar day ``when`` falls on."""
    return when.astimezone(LONDON).date()


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """UTC start and end of a London calendar day (23, 24 or 25 hours long)."""
    start = datetime.combine(day, time(0), LONDON).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), LONDON).astimezone(UTC)
    return start, end


def slots_between(start: datetime, end: datetime) -> Iterator[datetime]:
    current = slot_start(start)
    if current < start:
        current += SLOT
    while current < end:
        yield current
        current += SLOT


def day_slots(day: date) -> list[datetime]:
    """The 46, 48 or 50 slot starts of a London calendar day."""
    return list(slots_between(*local_day_bounds(day)))


def half_hour_rates(
    periods: Iterable[RatePeriod], start: datetime, end: datetime
) -> dict[datetime, float]:
    """Rate of every slot in [start, end) that some period covers.

    Where periods overlap, the one that began latest wins (it is the more specific). The
    rows are one per period already: the Kraken client keeps the direct-debit row.
    """
    rows = sorted(periods, key=lambda row: row.valid_from)
    rates: dict[datetime, float] = {}
    for row in rows:
        row_end = end if row.valid_to is None else min(row.valid_to, end)
        for slot in slots_between(max(row.valid_from, start), row_end):
            rates[slot] = row.value_inc_vat
    return dict(sorted(rates.items()))


def day_rates(rates: Mapping[datetime, float], day: date) -> list[float] | None:
    """Every slot rate of ``day``, or None while any slot of it is unknown."""
    values = [rates.get(slot) for slot in day_slots(day)]
    if any(value is None for value in values):
        return None
    return [value for value in values if value is not None]


def price_quadrant(price: float, scheduled: Iterable[float]) -> int:
    """Equal-width band (0–3) of ``price`` between the day's lowest and highest rate."""
    values = list(scheduled)
    low, high = min(values), max(values)
    if high <= low:
        return 0
    return max(0, min(3, int(4 * (price - low) // (high - low))))


@dataclass(frozen=True)
class NightWindow:
    """The hours a two-register meter bills at its night rate, on ``zone``'s clock
    (UTC for a smart meter's Economy 7, which keeps GMT all year; London otherwise)."""

    start: time
    end: time
    zone: tzinfo

    def covers(self, slot: datetime) -> bool:
        clock = slot.astimezone(self.zone).time()
        if self.start <= self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


def day_night_rates(
    day_periods: Iterable[RatePeriod],
    night_periods: Iterable[RatePeriod],
    start: datetime,
    end: datetime,
    night: NightWindow,
) -> dict[datetime, float]:
    """Two-register tariffs (Economy 7, four-rate EV): Kraken serves day and night rates
    as two lists of price periods, and which half-hours are night is the meter's
    (``night``), not in the data."""
    day = half_hour_rates(day_periods, start, end)
    nights = half_hour_rates(night_periods, start, end)
    rates: dict[datetime, float] = {}
    for slot in slots_between(start, end):
        rate = (nights if night.covers(slot) else day).get(slot)
        if rate is not None:
            rates[slot] = rate
    return rates
