"""What an import or export tariff device shows now: effective and scheduled price."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from kraken_core.domain.timeline import (
    LONDON,
    SLOT,
    day_slots,
    local_day,
    local_day_bounds,
    price_quadrant,
    slot_start,
)
from kraken_core.domain.windows import DispatchType, DispatchWindow


class RateSource(StrEnum):
    TARIFF = "tariff"
    SMART_DISPATCH = "smart_dispatch"
    BOOST = "boost"


@dataclass(frozen=True)
class SlotPrice:
    tariff_rate: float
    effective_rate: float
    source: RateSource


@dataclass(frozen=True)
class TariffState:
    unit_rate: float | None
    tariff_unit_rate: float | None
    next_unit_rate: float | None
    slot_start: datetime
    slot_end: datetime
    rate_source: RateSource
    price_quadrant: int | None
    next_price_quadrant: int | None
    tomorrow_prices_published: bool
    standing_charge: float | None
    product_code: str | None
    tariff_code: str | None
    four_rate_ev: bool = False


def _touches(window: DispatchWindow, slot: datetime) -> bool:
    return window.start < slot + SLOT and window.end > slot


def _day_scheduled(rates: Mapping[datetime, float], slot: datetime) -> list[float]:
    start, end = local_day_bounds(local_day(slot))
    return [rate for when, rate in rates.items() if start <= when < end]


def off_peak_rate(rates: Mapping[datetime, float], slot: datetime) -> float:
    """The tariff's cheapest scheduled rate on the slot's local day (IOG's off-peak)."""
    return min(_day_scheduled(rates, slot))


def slot_price(
    rates: Mapping[datetime, float],
    slot: datetime,
    dispatches: Sequence[DispatchWindow] = (),
    *,
    four_rate_ev: bool = False,
) -> SlotPrice | None:
    """Price of one slot for the whole home.

    A SMART dispatch touching the slot makes it the day's off-peak rate, except on
    four-rate EV tariffs where only the car's own use is discounted (see ``ev_unit_rate``);
    a BOOST is billed at the scheduled rate; TEST dispatches change nothing.
    ``dispatches`` are billable windows: SMART already cut at the allowance.
    """
    tariff_rate = rates.get(slot)
    if tariff_rate is None:
        return None
    touching = {window.type for window in dispatches if _touches(window, slot)}
    if DispatchType.SMART in touching and not four_rate_ev:
        return SlotPrice(tariff_rate, off_peak_rate(rates, slot), RateSource.SMART_DISPATCH)
    if DispatchType.BOOST in touching:
        return SlotPrice(tariff_rate, tariff_rate, RateSource.BOOST)
    return SlotPrice(tariff_rate, tariff_rate, RateSource.TARIFF)


def ev_unit_rate(
    rates: Mapping[datetime, float],
    now: datetime,
    device_dispatches: Sequence[DispatchWindow],
    *,
    home_rate: float | None,
    four_rate_ev: bool,
    ev_off_peak_rate: float | None = None,
    ev_peak_rate: float | None = None,
) -> float | None:
    """What a smart device's own charging costs now (p/kWh).

    On ordinary tariffs the car pays what the home pays (``home_rate``). On a four-rate
    EV tariff the car's own charging is billed on its own rates: a billable SMART
    dispatch of this device touching the slot gives it the EV off-peak rate
    (``ev_off_peak_rate`` when known, else the day's off-peak rate), any other time the
    EV peak rate (``ev_peak_rate``, Kraken's ``evDevicePeakRate``, else the home's).
    """
    slot = slot_start(now)
    if not four_rate_ev or slot not in rates:
        return home_rate
    if any(w.type == DispatchType.SMART and _touches(w, slot) for w in device_dispatches):
        return ev_off_peak_rate if ev_off_peak_rate is not None else off_peak_rate(rates, slot)
    return ev_peak_rate if ev_peak_rate is not None else home_rate


@dataclass(frozen=True)
class PriceChange:
    at: datetime
    rate: float


def next_price_change(rates: Mapping[datetime, float], now: datetime) -> PriceChange | None:
    """The first known slot after now whose rate differs from now's (gas: Tracker's next
    day); None while now's rate is unknown or no change is known."""
    current = rates.get(slot_start(now))
    if current is None:
        return None
    for when in sorted(rates):
        if when > now and rates[when] != current:
            return PriceChange(when, rates[when])
    return None


def day_mean_rate(rates: Mapping[datetime, float], day: date) -> float | None:
    """The time-weighted mean rate of a London day once every slot of it is known
    (Tracker's one price of the day), else None."""
    values = [rates.get(slot) for slot in day_slots(day)]
    known = [value for value in values if value is not None]
    if not known or len(known) != len(values):
        return None
    return round(sum(known) / len(known), 4)


def _quadrant(rates: Mapping[datetime, float], slot: datetime, price: float | None) -> int | None:
    if price is None:
        return None
    return price_quadrant(price, _day_scheduled(rates, slot))


@dataclass(frozen=True)
class DaySlot:
    """One slot of a day as the tariff device shows it when the slot is current."""

    start: datetime
    price: SlotPrice | None  # None while the slot's rate is unknown
    price_quadrant: int | None  # of the effective rate, like the device's price_quadrant


def day_prices(
    rates: Mapping[datetime, float],
    day: date,
    dispatches: Iterable[DispatchWindow] = (),
    *,
    four_rate_ev: bool = False,
) -> list[DaySlot]:
    """Every slot of a London day (46, 48 or 50) priced with :func:`slot_price`."""
    windows = tuple(dispatches)
    out = []
    for slot in day_slots(day):
        price = slot_price(rates, slot, windows, four_rate_ev=four_rate_ev)
        quadrant = _quadrant(rates, slot, price.effective_rate if price else None)
        out.append(DaySlot(slot, price, quadrant))
    return out


#: Agile's day-ahead block runs 23:00 → 23:00 UK time and arrives about 16:00 (shared
#: kraken/README.md, "Unit rates"; DESIGN.md): tomorrow counts as published once its
#: slots up to 23:00 are priced, since its last hour only comes the day after.
PUBLISHED_UNTIL = time(23, 0)


def published_until(day: date) -> datetime:
    """The end of what ``day``'s publication covers: 23:00 UK time that day (UTC)."""
    return datetime.combine(day, PUBLISHED_UNTIL, LONDON).astimezone(UTC)


def tomorrow_prices_published(rates: Mapping[datetime, float], now: datetime) -> bool:
    """True once every slot of the next London day up to 23:00 UK time has a rate."""
    tomorrow = local_day(now) + timedelta(days=1)
    cutoff = published_until(tomorrow)
    return all(slot in rates for slot in day_slots(tomorrow) if slot < cutoff)


def tariff_state(
    rates: Mapping[datetime, float],
    now: datetime,
    *,
    standing_charge: float | None,
    product_code: str | None,
    tariff_code: str | None,
    dispatches: Iterable[DispatchWindow] = (),
    four_rate_ev: bool = False,
) -> TariffState:
    """The tariff device's state at ``now`` from the known slot rates and dispatches."""
    windows = tuple(dispatches)
    current = slot_start(now)
    following = current + SLOT
    price_now = slot_price(rates, current, windows, four_rate_ev=four_rate_ev)
    price_next = slot_price(rates, following, windows, four_rate_ev=four_rate_ev)
    unit_rate = price_now.effective_rate if price_now else None
    next_rate = price_next.effective_rate if price_next else None
    return TariffState(
        unit_rate=unit_rate,
        tariff_unit_rate=price_now.tariff_rate if price_now else None,
        next_unit_rate=next_rate,
        slot_start=current,
        slot_end=following,
        rate_source=price_now.source if price_now else RateSource.TARIFF,
        price_quadrant=_quadrant(rates, current, unit_rate),
        next_price_quadrant=_quadrant(rates, following, next_rate),
        tomorrow_prices_published=tomorrow_prices_published(rates, now),
        standing_charge=standing_charge,
        product_code=product_code,
        tariff_code=tariff_code,
        four_rate_ev=four_rate_ev,
    )
