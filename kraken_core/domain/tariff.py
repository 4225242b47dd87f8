"""What an import or export tariff device shows now: effective and scheduled price."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kraken_core.domain.timeline import (
    SLOT,
    day_slots,
    local_day,
    local_day_bounds,
    price_quadrant,
    slot_start,
)


class RateSource(StrEnum):
    TARIFF = "tariff"
    SMART_DISPATCH = "smart_dispatch"
    BOOST = "boost"


@dataclass(frozen=True)
class DispatchWindow:
    """A planned dispatch that counts (its device's state lets it be honoured)."""

    start: datetime
    end: datetime
    type: str  # SMART, BOOST or TEST


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


def _touches(window: DispatchWindow, slot: datetime) -> bool:
    return window.start < slot + SLOT and window.end > slot


def _day_scheduled(rates: Mapping[datetime, float], slot: datetime) -> list[float]:
    start, end = local_day_bounds(local_day(slot))
    return [rate for when, rate in rates.items() if start <= when < end]


def slot_price(
    rates: Mapping[datetime, float], slot: datetime, dispatches: Sequence[DispatchWindow] = ()
) -> SlotPrice | None:
    """Price of one slot: a SMART dispatch touching it makes it the day's off-peak rate;
    a BOOST is billed at the scheduled rate; TEST dispatches change nothing."""
    tariff_rate = rates.get(slot)
    if tariff_rate is None:
        return None
    touching = {window.type for window in dispatches if _touches(window, slot)}
    if "SMART" in touching:
        off_peak = min(_day_scheduled(rates, slot))
        return SlotPrice(tariff_rate, off_peak, RateSource.SMART_DISPATCH)
    if "BOOST" in touching:
        return SlotPrice(tariff_rate, tariff_rate, RateSource.BOOST)
    return SlotPrice(tariff_rate, tariff_rate, RateSource.TARIFF)


def _quadrant(rates: Mapping[datetime, float], slot: datetime, price: float | None) -> int | None:
    if price is None:
        return None
    return price_quadrant(price, _day_scheduled(rates, slot))


def tomorrow_prices_published(rates: Mapping[datetime, float], now: datetime) -> bool:
    """True once every slot of the next London day has a rate."""
    tomorrow = local_day(now) + timedelta(days=1)
    return all(slot in rates for slot in day_slots(tomorrow))


def tariff_state(
    rates: Mapping[datetime, float],
    now: datetime,
    *,
    standing_charge: float | None,
    product_code: str | None,
    tariff_code: str | None,
    dispatches: Iterable[DispatchWindow] = (),
) -> TariffState:
    """The tariff device's state at ``now`` from the known slot rates and dispatches."""
    windows = tuple(dispatches)
    current = slot_start(now)
    following = current + SLOT
    price_now = slot_price(rates, current, windows)
    price_next = slot_price(rates, following, windows)
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
    )
