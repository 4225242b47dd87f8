"""The cheapest time to run something: a contiguous window, or the cheapest N slots."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from kraken_core.domain.timeline import LONDON, SLOT, local_day, slot_start, slots_between

# Averages are compared at this precision so float noise cannot break a tie.
_PRECISION = 9


@dataclass(frozen=True)
class CheapestSlots:
    """Chosen slots (UTC starts, in time order) and the time-weighted average price."""

    start: datetime  # first slot's start
    end: datetime  # end of the run (contiguous) or of the last slot
    slots: tuple[datetime, ...]
    average_rate: float


def _first_slot(earliest: datetime) -> datetime:
    first = slot_start(earliest)
    return first if first >= earliest else first + SLOT


def cheapest_window(
    rates: Mapping[datetime, float], duration: timedelta, earliest: datetime, latest: datetime
) -> CheapestSlots | None:
    """The contiguous run of ``duration`` starting on a slot boundary, inside
    [earliest, latest), with the lowest time-weighted average price; every slot it
    touches must have a rate. Ties go to the earliest start. None if nothing fits."""
    if duration <= timedelta():
        raise ValueError("duration must be positive")
    count = math.ceil(duration / SLOT)
    tail = duration - SLOT * (count - 1)  # the part of the last slot used
    best: tuple[float, datetime] | None = None
    start = _first_slot(earliest)
    while start + duration <= latest:
        slots = [start + SLOT * index for index in range(count)]
        prices = [rates.get(slot) for slot in slots]
        if all(price is not None for price in prices):
            known = [price for price in prices if price is not None]
            weights = [SLOT] * (count - 1) + [tail]
            total = sum(p * (w / SLOT) for p, w in zip(known, weights, strict=True))
            average = round(total / (duration / SLOT), _PRECISION)
            if best is None or average < best[0]:
                best = (average, start)
        start += SLOT
    if best is None:
        return None
    average, start = best
    chosen = tuple(start + SLOT * index for index in range(count))
    return CheapestSlots(start, start + duration, chosen, average)


def cheapest_slots(
    rates: Mapping[datetime, float], count: int, earliest: datetime, latest: datetime
) -> CheapestSlots | None:
    """The ``count`` cheapest slots lying wholly inside [earliest, latest), not
    necessarily together; on equal prices the earlier slot wins. None if too few."""
    if count <= 0:
        raise ValueError("count must be positive")
    known = [
        (rates[slot], slot)
        for slot in slots_between(earliest, latest)
        if slot in rates and slot + SLOT <= latest
    ]
    if len(known) < count:
        return None
    chosen = sorted(sorted(known)[:count], key=lambda pair: pair[1])
    slots = tuple(slot for _, slot in chosen)
    average = round(sum(price for price, _ in chosen) / count, _PRECISION)
    return CheapestSlots(slots[0], slots[-1] + SLOT, slots, average)


def most_expensive_window(
    rates: Mapping[datetime, float], duration: timedelta, earliest: datetime, latest: datetime
) -> CheapestSlots | None:
    """As :func:`cheapest_window`, for the highest time-weighted average price (on an
    export tariff: the best-paid stretch). Ties go to the earliest start."""
    found = cheapest_window(
        {slot: -rate for slot, rate in rates.items()}, duration, earliest, latest
    )
    if found is None:
        return None
    return CheapestSlots(found.start, found.end, found.slots, -found.average_rate)


def clock_range(now: datetime, start: time, end: time) -> tuple[datetime, datetime]:
    """The stretch from the UK clock time ``start`` to ``end`` (past midnight when ``end``
    is not later) that holds ``now``, else the next one to begin; UTC bounds."""
    if start == end:
        raise ValueError("a clock range needs two different times")
    today = local_day(now)
    for offset in (-1, 0, 1):
        day = today + timedelta(days=offset)
        begins = datetime.combine(day, start, LONDON)
        ends = datetime.combine(day + timedelta(days=1 if end <= start else 0), end, LONDON)
        if now < ends.astimezone(UTC):
            return begins.astimezone(UTC), ends.astimezone(UTC)
    raise AssertionError("tomorrow's range always ends after now")  # pragma: no cover
