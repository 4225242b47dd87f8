"""Meter history and tariff efficiency: pure functions over slots, no I/O, no clock.

Two things live here (the Home Mini's registers become slot energy in
:mod:`kraken_core.domain.registers`):

- the price of a recorded slot (effective and scheduled rate, quadrant, rate source),
  always through ``slot_price`` and ``price_quadrant``,
- tariff efficiency over a period (DESIGN.md): quadrant shares, score, average price
  paid, minimum and reference price, cost ratio, saving efficiency, saving in pence.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from kraken_core.domain.tariff import RateSource, slot_price
from kraken_core.domain.timeline import SLOT, local_day, local_day_bounds, price_quadrant
from kraken_core.domain.windows import DispatchWindow

SLOT_SECONDS = SLOT.total_seconds()
QUADRANT_WEIGHTS = (3.0, 1.0, -1.0, -3.0)

Period = Literal["day", "month", "12m"]
PERIODS: tuple[Period, ...] = ("day", "month", "12m")


# --- registers to slots ----------------------------------------------------------------


@dataclass
class SlotEnergy:
    """Energy attributed to one slot and how many of its seconds readings cover (the
    register rules of :mod:`kraken_core.domain.registers` fill it)."""

    import_wh: float = 0.0
    export_wh: float = 0.0
    covered_s: float = 0.0


# --- the price of a recorded slot -------------------------------------------------------


@dataclass(frozen=True)
class PricedSlot:
    import_price: float  # effective p/kWh for the whole home
    tariff_price: float  # scheduled p/kWh
    quadrant: int  # of the effective price within the day's scheduled band
    rate_source: RateSource


def price_slot(
    day_rates: Mapping[datetime, float],
    slot: datetime,
    dispatches: Sequence[DispatchWindow] = (),
    *,
    four_rate_ev: bool = False,
) -> PricedSlot | None:
    """Effective and scheduled price of ``slot`` (``day_rates`` covers its local day)."""
    price = slot_price(day_rates, slot, dispatches, four_rate_ev=four_rate_ev)
    if price is None:
        return None
    start, end = local_day_bounds(local_day(slot))
    scheduled = [rate for when, rate in day_rates.items() if start <= when < end]
    return PricedSlot(
        import_price=price.effective_rate,
        tariff_price=price.tariff_rate,
        quadrant=price_quadrant(price.effective_rate, scheduled),
        rate_source=price.source,
    )


# --- periods ----------------------------------------------------------------------------


def period_days(period: Period, day: date) -> tuple[date, date]:
    """First and last local day of the period containing ``day``.

    ``month`` is the calendar month; ``12m`` is the moving year ending with ``day``
    (the day after the same date a year earlier, through ``day``).
    """
    if period == "day":
        return day, day
    if period == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    try:
        year_before = day.replace(year=day.year - 1)
    except ValueError:  # 29 February: a year earlier has no such day
        year_before = date(day.year - 1, 2, 28)
    return year_before + timedelta(days=1), day


# --- efficiency -------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodTotals:
    """What efficiency needs from a period's slots.

    ``kwh_by_quadrant`` and ``cost_p`` cover slots with both consumption and a price;
    ``minimum_price`` and ``reference_price`` (the mean scheduled rate, every slot
    weighing its half-hour) cover every slot with a known scheduled rate.
    """

    kwh_by_quadrant: tuple[float, float, float, float]
    cost_p: float
    minimum_price: float | None
    reference_price: float | None


@dataclass(frozen=True)
class Efficiency:
    import_kwh: float
    kwh_by_quadrant: tuple[float, float, float, float]
    share_percent: tuple[float, float, float, float]
    score: float | None  # -3 … +3
    score_percent: int | None  # score / 3, whole percent
    average_price_paid: float | None  # p/kWh
    minimum_price: float | None
    reference_price: float | None
    cost_ratio_percent: int | None  # average paid / minimum
    saving_efficiency_percent: int | None  # (reference - paid) / (reference - minimum)
    saving_p: float | None  # against paying the reference price for the same kWh


def efficiency(totals: PeriodTotals) -> Efficiency:
    """Tariff efficiency as DESIGN.md defines it; None where a figure has no meaning."""
    kwh = sum(totals.kwh_by_quadrant)
    shares = tuple(q / kwh if kwh > 0 else 0.0 for q in totals.kwh_by_quadrant)
    score = sum(w * s for w, s in zip(QUADRANT_WEIGHTS, shares, strict=True)) if kwh > 0 else None
    average = totals.cost_p / kwh if kwh > 0 else None
    low, reference = totals.minimum_price, totals.reference_price
    cost_ratio = (
        _percent(average / low) if average is not None and low is not None and low > 0 else None
    )
    saving_efficiency = (
        _percent((reference - average) / (reference - low))
        if average is not None and low is not None and reference is not None and reference > low
        else None
    )
    return Efficiency(
        import_kwh=round(kwh, 3),
        kwh_by_quadrant=_four(round(q, 3) for q in totals.kwh_by_quadrant),
        share_percent=_four(round(100 * s, 1) for s in shares),
        score=round(score, 3) if score is not None else None,
        score_percent=_percent(score / 3) if score is not None else None,
        average_price_paid=round(average, 2) if average is not None else None,
        minimum_price=round(low, 2) if low is not None else None,
        reference_price=round(reference, 2) if reference is not None else None,
        cost_ratio_percent=cost_ratio,
        saving_efficiency_percent=saving_efficiency,
        saving_p=round(reference * kwh - totals.cost_p, 1)
        if reference is not None and kwh > 0
        else None,
    )


def _percent(ratio: float) -> int:
    # Half away from zero, as people round (Python's round() would give 86 for 85.5).
    scaled = abs(ratio) * 100
    whole = int(scaled + 0.5 + 1e-9)
    return whole if ratio >= 0 else -whole


def _four(values: Iterable[float]) -> tuple[float, float, float, float]:
    a, b, c, d = values
    return a, b, c, d
