"""Meter history in SQLite: telemetry readings, half-hour slots and dispatches.

Everything one poll learnt is written in one transaction (:meth:`HistoryStore.write_poll`);
the queries below answer the Energy Account, ``/api/v1/stats`` and ``history.csv``.
Slot totals are summed in SQL so a year (17,520 slots) is a few milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kraken_core.domain.efficiency import SLOT_SECONDS, PeriodTotals, PricedSlot, SlotEnergy
from kraken_core.domain.registers import Known, MeterRegisters, StoredRegisters
from kraken_core.domain.timeline import SLOT, local_day
from kraken_core.store.db import Store

# A slot is complete when readings cover all of it (a little slack for float sums).
COMPLETE_S = SLOT_SECONDS - 1.0


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True)
class SlotPrices:
    """What a slot costs: the import side (None while unknown) and the export rate."""

    imported: PricedSlot | None
    export_price: float | None


@dataclass(frozen=True)
class DispatchRecord:
    status: str  # planned (as seen) | completed (from Kraken)
    device_id: str  # "" for completed dispatches: Kraken reports them per account
    start: datetime
    end: datetime
    type: str  # SMART | BOOST | TEST, or the completed dispatch's source
    energy_kwh: float | None = None
    source: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class SlotRow:
    slot_start: datetime
    local_date: date
    import_kwh: float
    export_kwh: float
    covered_s: float
    import_price: float | None
    tariff_price: float | None
    quadrant: int | None
    rate_source: str | None
    export_price: float | None

    @property
    def complete(self) -> bool:
        return self.covered_s >= COMPLETE_S


@dataclass(frozen=True)
class MoneyTotals:
    """Energy and money over some days (pence; kWh); ``read_slots``: how many of their
    half-hours have readings (0: the history knows nothing of those days)."""

    import_kwh: float
    export_kwh: float
    import_cost_p: float
    export_value_p: float
    read_slots: int = 0


@dataclass(frozen=True)
class PeriodSlots:
    """Efficiency inputs of a period and how complete its record is."""

    totals: PeriodTotals
    slots: int
    priced_slots: int
    gap_slots: int  # ended slots that readings do not fully cover


class HistoryStore:
    def __init__(self, store: Store) -> None:
        self._db = store.connection

    async def last_reading_at(self) -> datetime | None:
        """When the newest stored reading was read (a register of it may be missing)."""
        async with self._db.execute("SELECT max(read_at) FROM telemetry_readings") as cursor:
            row = await cursor.fetchone()
        return _parse(row[0]) if row and row[0] else None

    async def last_registers(self) -> MeterRegisters:
        """Each register's newest real value (None: never reported, or not for weeks)."""
        known: list[Known | None] = []
        for column in ("import_wh", "export_wh"):
            async with self._db.execute(
                f"SELECT read_at, {column} FROM telemetry_readings "  # noqa: S608 (a column name of ours)
                f"WHERE {column} IS NOT NULL ORDER BY read_at DESC LIMIT 1"
            ) as cursor:
                row = await cursor.fetchone()
            known.append(Known(_parse(row[0]), float(row[1])) if row else None)
        return MeterRegisters(known[0], known[1])

    async def last_priced_slot(self) -> datetime | None:
        async with self._db.execute(
            "SELECT max(slot_start) FROM slots WHERE tariff_price IS NOT NULL"
        ) as cursor:
            row = await cursor.fetchone()
        return _parse(row[0]) if row and row[0] else None

    async def unpriced_slots(self, since: datetime) -> list[datetime]:
        async with self._db.execute(
            "SELECT slot_start FROM slots WHERE tariff_price IS NULL AND slot_start >= ?",
            (_iso(since),),
        ) as cursor:
            return [_parse(row[0]) for row in await cursor.fetchall()]

    async def write_poll(
        self,
        *,
        samples: Iterable[StoredRegisters],
        demand_w: Mapping[datetime, float | None],
        energy: Mapping[datetime, SlotEnergy],
        prices: Mapping[datetime, SlotPrices],
        dispatches: Iterable[DispatchRecord],
        seen_at: datetime,
        keep_readings_from: datetime,
    ) -> None:
        """One poll's readings, slot energy, slot prices and dispatches: one transaction."""
        db = self._db
        await db.executemany(
            "INSERT OR IGNORE INTO telemetry_readings VALUES (?, ?, ?, ?)",
            [(_iso(s.at), s.import_wh, s.export_wh, demand_w.get(s.at)) for s in samples],
        )
        await self._add_energy(energy)
        await self._set_prices(prices)
        await self._note_dispatches(dispatches, seen_at)
        # Readings older than the retention are already rolled up into slots; each
        # register's newest value is always kept: the next rise is measured from it.
        await db.execute(
            "DELETE FROM telemetry_readings WHERE read_at < ? AND read_at NOT IN ("
            "SELECT newest FROM (SELECT max(read_at) AS newest FROM telemetry_readings UNION "
            "SELECT max(read_at) FROM telemetry_readings WHERE import_wh IS NOT NULL UNION "
            "SELECT max(read_at) FROM telemetry_readings WHERE export_wh IS NOT NULL) "
            "WHERE newest IS NOT NULL)",
            (_iso(keep_readings_from),),
        )
        await db.commit()

    async def _add_energy(self, energy: Mapping[datetime, SlotEnergy]) -> None:
        await self._db.executemany(
            """
            INSERT INTO slots (slot_start, local_date, import_wh, export_wh, covered_s)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (slot_start) DO UPDATE SET
                import_wh = import_wh + excluded.import_wh,
                export_wh = export_wh + excluded.export_wh,
                covered_s = min(?, covered_s + excluded.covered_s)
            """,
            [
                (
                    _iso(slot),
                    local_day(slot).isoformat(),
                    e.import_wh,
                    e.export_wh,
                    e.covered_s,
                    SLOT_SECONDS,
                )
                for slot, e in energy.items()
            ],
        )

    async def _set_prices(self, prices: Mapping[datetime, SlotPrices]) -> None:
        """A slot's price as last seen (it follows dispatches until the slot ends)."""
        await self._db.executemany(
            """
            INSERT INTO slots (slot_start, local_date, import_price, tariff_price, quadrant,
                               rate_source, export_price)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (slot_start) DO UPDATE SET
                import_price = coalesce(excluded.import_price, import_price),
                tariff_price = coalesce(excluded.tariff_price, tariff_price),
                quadrant = coalesce(excluded.quadrant, quadrant),
                rate_source = coalesce(excluded.rate_source, rate_source),
                export_price = coalesce(excluded.export_price, export_price)
            """,
            [
                (
                    _iso(slot),
                    local_day(slot).isoformat(),
                    p.imported.import_price if p.imported else None,
                    p.imported.tariff_price if p.imported else None,
                    p.imported.quadrant if p.imported else None,
                    p.imported.rate_source.value if p.imported else None,
                    p.export_price,
                )
                for slot, p in prices.items()
            ],
        )

    async def _note_dispatches(
        self, dispatches: Iterable[DispatchRecord], seen_at: datetime
    ) -> None:
        await self._db.executemany(
            """
            INSERT INTO dispatches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (status, device_id, start, type) DO UPDATE SET
                end = excluded.end, energy_kwh = excluded.energy_kwh,
                last_seen = excluded.last_seen
            """,
            [
                (
                    d.status,
                    d.device_id,
                    _iso(d.start),
                    _iso(d.end),
                    d.type,
                    d.energy_kwh,
                    d.source,
                    d.location,
                    _iso(seen_at),
                    _iso(seen_at),
                )
                for d in dispatches
            ],
        )

    async def money(self, first: date, last: date) -> MoneyTotals:
        async with self._db.execute(
            """
            SELECT coalesce(sum(import_wh), 0), coalesce(sum(export_wh), 0),
                   coalesce(sum(import_wh * import_price), 0),
                   coalesce(sum(export_wh * export_price), 0),
                   coalesce(sum(covered_s > 0), 0)
            FROM slots WHERE local_date BETWEEN ? AND ?
            """,
            (first.isoformat(), last.isoformat()),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return MoneyTotals(row[0] / 1000, row[1] / 1000, row[2] / 1000, row[3] / 1000, row[4])

    async def money_by_day(self, first: date, last: date) -> dict[date, MoneyTotals]:
        """Each local day of ``first``…``last`` that has readings, with its totals."""
        async with self._db.execute(
            """
            SELECT local_date, sum(import_wh), sum(export_wh),
                   coalesce(sum(import_wh * import_price), 0),
                   coalesce(sum(export_wh * export_price), 0), sum(covered_s > 0)
            FROM slots WHERE local_date BETWEEN ? AND ?
            GROUP BY local_date HAVING sum(covered_s > 0) > 0
            """,
            (first.isoformat(), last.isoformat()),
        ) as cursor:
            rows = await cursor.fetchall()
        return {
            date.fromisoformat(day): MoneyTotals(i / 1000, e / 1000, cost / 1000, value / 1000, n)
            for day, i, e, cost, value, n in rows
        }

    async def period(self, first: date, last: date, ended_before: datetime) -> PeriodSlots:
        """Efficiency inputs of the local days ``first``…``last``."""
        span = (first.isoformat(), last.isoformat())
        by_quadrant = [0.0, 0.0, 0.0, 0.0]
        cost_wh_p = 0.0
        async with self._db.execute(
            """
            SELECT quadrant, sum(import_wh), sum(import_wh * import_price) FROM slots
            WHERE local_date BETWEEN ? AND ? AND quadrant IS NOT NULL AND import_wh > 0
            GROUP BY quadrant
            """,
            span,
        ) as cursor:
            async for quadrant, wh, wh_p in cursor:
                by_quadrant[int(quadrant)] = wh / 1000
                cost_wh_p += wh_p
        async with self._db.execute(
            """
            SELECT count(*), count(tariff_price), min(tariff_price), avg(tariff_price),
                   coalesce(sum(covered_s < ? AND slot_start <= ?), 0)
            FROM slots WHERE local_date BETWEEN ? AND ?
            """,
            (COMPLETE_S, _iso(ended_before - SLOT), *span),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        slots, priced, low, mean, gaps = row
        totals = PeriodTotals(
            kwh_by_quadrant=(by_quadrant[0], by_quadrant[1], by_quadrant[2], by_quadrant[3]),
            cost_p=cost_wh_p / 1000,
            minimum_price=float(low) if low is not None else None,
            reference_price=float(mean) if mean is not None else None,
        )
        return PeriodSlots(totals, int(slots), int(priced), int(gaps))

    async def slot_rows(self, start: datetime, end: datetime) -> list[SlotRow]:
        """Slots starting in [start, end), oldest first (a year is 17,520 rows: they are
        read into objects in a worker thread, not on the event loop)."""
        async with self._db.execute(
            "SELECT * FROM slots WHERE slot_start >= ? AND slot_start < ? ORDER BY slot_start",
            (_iso(start), _iso(end)),
        ) as cursor:
            rows = await cursor.fetchall()
        return await asyncio.to_thread(_slot_rows, rows)

    async def dispatches(self, since: datetime) -> list[DispatchRecord]:
        async with self._db.execute(
            "SELECT status, device_id, start, end, type, energy_kwh, source, location "
            "FROM dispatches WHERE end > ? ORDER BY start",
            (_iso(since),),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            DispatchRecord(r[0], r[1], _parse(r[2]), _parse(r[3]), r[4], r[5], r[6], r[7])
            for r in rows
        ]


def _slot_rows(rows: Iterable[Sequence[Any]]) -> list[SlotRow]:
    return [
        SlotRow(
            slot_start=_parse(r[0]),
            local_date=date.fromisoformat(r[1]),
            import_kwh=r[2] / 1000,
            export_kwh=r[3] / 1000,
            covered_s=r[4],
            import_price=r[5],
            tariff_price=r[6],
            quadrant=r[7],
            rate_source=r[8],
            export_price=r[9],
        )
        for r in rows
    ]


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
