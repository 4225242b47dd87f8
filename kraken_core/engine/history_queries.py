"""The read side of the history: statistics and slot rows, as front doors ask for them."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Literal

from kraken_core.api.events import to_json_value
from kraken_core.api.models import Stats, StatsRow, StatsSeries
from kraken_core.clock import Clock
from kraken_core.domain.efficiency import Period, efficiency, period_days
from kraken_core.domain.timeline import SLOT, local_day
from kraken_core.store.db import Store
from kraken_core.store.gas import GasSlot, GasStore
from kraken_core.store.history import HistoryStore, SlotRow

CSV_COLUMNS = (
    "slot_start",
    "local_date",
    "import_kwh",
    "export_kwh",
    "import_price",
    "tariff_price",
    "price_quadrant",
    "rate_source",
    "export_price",
    "import_cost_p",
    "export_value_p",
    "gap",
)
# Appended for households with a gas meter read by the Home Mini.
GAS_CSV_COLUMNS = ("gas_kwh", "gas_cost_p")


SERIES_DAYS = 30
SERIES_MONTHS = 12


class HistoryQueries:
    """What front doors ask of the history: statistics and slot rows."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._db = HistoryStore(store)
        self._gas = GasStore(store)
        self._clock = clock

    def today(self) -> date:
        return local_day(self._clock.now())

    async def _covered_until(self) -> datetime:
        now = self._clock.now()
        imported = (await self._db.last_registers()).imported
        return min(now, imported.at) if imported else now

    async def stats(self, period: Period, day: date) -> Stats:
        """Tariff efficiency of the day, calendar month or 12 months ``day`` falls in."""
        first, last = period_days(period, day)
        record = await self._db.period(first, last, await self._covered_until())
        return Stats(
            period=period,
            from_=first,
            to=last,
            slots=record.slots,
            priced_slots=record.priced_slots,
            gap_slots=record.gap_slots,
            **vars(efficiency(record.totals)),
        )

    async def series(self, by: Literal["day", "month"], to: date) -> StatsSeries:
        """Efficiency of each of the 30 days, or of each of the 12 months, up to ``to``."""
        if by == "day":
            firsts = [to - timedelta(days=n) for n in reversed(range(SERIES_DAYS))]
        else:
            firsts = [_months_back(to, n) for n in reversed(range(SERIES_MONTHS))]
        rows = []
        for first in firsts:
            stats = await self.stats(by, first)
            label = first.strftime("%d %b") if by == "day" else first.strftime("%b %Y")
            rows.append(StatsRow(label=label, **stats.model_dump()))
        savings = [row.saving_p for row in rows if row.saving_p is not None]
        return StatsSeries(
            by=by,
            from_=rows[0].from_,
            to=rows[-1].to,
            rows=rows,
            import_kwh=round(sum(row.import_kwh for row in rows), 3),
            saving_p=round(sum(savings), 1) if savings else None,
        )

    async def csv(self, start: datetime, end: datetime) -> str:
        """Slot rows in [start, end) as CSV (UTC times, kWh, p/kWh, pence); with gas
        columns when the household has a gas history.

        A year is 17,520 rows: they are written out in a worker thread, so the event loop
        (``/health``, the event stream) keeps answering meanwhile (bench/load.py)."""
        gas = await self._gas.slots(start, end) if await self._gas.has_history() else None
        covered_until = await self._covered_until()
        rows = await self._db.slot_rows(start, end)
        return await asyncio.to_thread(_csv_text, rows, gas, covered_until)


def _csv_text(
    rows: Sequence[SlotRow], gas: Mapping[datetime, GasSlot] | None, covered_until: datetime
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS + (GAS_CSV_COLUMNS if gas is not None else ()))
    for row in rows:
        gas_slot = gas.get(row.slot_start) if gas is not None else None
        gas_cells = (
            ()
            if gas is None
            else (
                _cell(gas_slot.kwh if gas_slot else None, 4),
                _cell(gas_slot.cost_p if gas_slot else None, 3),
            )
        )
        cost = row.import_kwh * row.import_price if row.import_price is not None else None
        value = row.export_kwh * row.export_price if row.export_price is not None else None
        writer.writerow(
            (
                to_json_value(row.slot_start),
                row.local_date.isoformat(),
                _cell(row.import_kwh, 4),
                _cell(row.export_kwh, 4),
                _cell(row.import_price, 4),
                _cell(row.tariff_price, 4),
                "" if row.quadrant is None else row.quadrant,
                row.rate_source or "",
                _cell(row.export_price, 4),
                _cell(cost, 3),
                _cell(value, 3),
                str(not row.complete and row.slot_start + SLOT <= covered_until).lower(),
                *gas_cells,
            )
        )
    return out.getvalue()


def _cell(value: float | None, places: int) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _months_back(day: date, months: int) -> date:
    """First day of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
