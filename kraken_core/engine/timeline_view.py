"""A London day as the bridge page draws it: every slot priced as the import tariff device
prices it when current, and every dispatch band touching the day, counted or not."""

from __future__ import annotations

from datetime import date, datetime

from kraken_core.api.models import DispatchBandView, Timeline, TimelineSlot
from kraken_core.domain.bands import dispatch_bands
from kraken_core.domain.product import MeterPoint, household_tariffs
from kraken_core.domain.tariff import day_prices
from kraken_core.domain.timeline import (
    LONDON,
    SLOT,
    local_day_bounds,
    slot_start,
)
from kraken_core.engine.engine import Engine


def _day_rates(
    engine: Engine, point: MeterPoint | None, bounds: tuple[datetime, datetime]
) -> dict[datetime, float]:
    if point is None:
        return {}
    return engine.tariffs.slots(point.tariff_code, bounds)


def day_timeline(engine: Engine, day: date, now: datetime) -> Timeline:
    bounds = local_day_bounds(day)
    start, end = bounds
    home = household_tariffs(
        engine.account.meter_points, engine.settings.four_rate_ev, engine.tariffs.groups
    )
    import_slots = day_prices(
        _day_rates(engine, home.import_point, bounds),
        day,
        engine.publisher.billable(),  # as the import tariff device prices its slots
        four_rate_ev=home.four_rate_ev,
    )
    export_rates = _day_rates(engine, home.export_point, bounds)
    slots = [
        TimelineSlot(
            start=slot.start,
            end=slot.start + SLOT,
            label=slot.start.astimezone(LONDON).strftime("%H:%M"),
            tariff_rate=slot.price.tariff_rate if slot.price else None,
            unit_rate=slot.price.effective_rate if slot.price else None,
            price_quadrant=slot.price_quadrant,
            rate_source=slot.price.source if slot.price else None,
            export_rate=export_rates.get(slot.start),
        )
        for slot in import_slots
    ]
    known = [s.unit_rate for s in slots if s.unit_rate is not None]
    bands = dispatch_bands(
        engine.publisher.ledger,
        engine.devices.devices,
        engine.dispatches.planned,
        engine.settings.allowance,
    )
    current = slot_start(now)
    return Timeline(
        date=day,
        now=now,
        current_slot=current if start <= current < end else None,
        start=start,
        end=end,
        import_device_id=home.import_point.device_id if home.import_point else None,
        export_device_id=home.export_point.device_id if home.export_point else None,
        tariff_code=home.import_point.tariff_code if home.import_point else None,
        prices_published=bool(slots) and len(known) == len(slots),
        min_unit_rate=min(known, default=None),
        max_unit_rate=max(known, default=None),
        slots=slots,
        dispatches=[
            DispatchBandView(**vars(band))
            for band in bands
            if band.start < end and band.end > start
        ],
    )
