"""The gas meter's history in SQLite: its register readings and half-hour slots, per
meter point (MPRN). Wh and p/kWh inc. VAT; slots keyed by their UTC start with the
London day they belong to, as for electricity (:mod:`kraken_core.store.history`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from kraken_core.domain.efficiency import SLOT_SECONDS, SlotEnergy
from kraken_core.domain.registers import Known, StoredRegisters
from kraken_core.domain.timeline import local_day
from kraken_core.store.db import Store


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True)
class GasDay:
    """A London day of one gas meter: kWh, and pence for the slots a rate is known for."""

    kwh: float
    cost_p: float
    unpriced_slots: int  # slots with gas but no unit rate yet


@dataclass(frozen=True)
class GasSlot:
    """All gas meters' energy in one slot and its cost (None while a rate is unknown)."""

    kwh: float
    cost_p: float | None


class GasStore:
    def __init__(self, store: Store) -> None:
        self._db = store.connection

    async def last_register(self, mprn: str) -> Known | None:
        async with self._db.execute(
            "SELECT read_at, gas_wh FROM gas_readings WHERE mprn = ? ORDER BY read_at DESC LIMIT 1",
            (mprn,),
        ) as cursor:
            row = await cursor.fetchone()
        return Known(_parse(row[0]), float(row[1])) if row else None

    async def write(
        self,
        mprn: str,
        readings: Iterable[StoredRegisters],
        energy: Mapping[datetime, SlotEnergy],
        keep_readings_from: datetime,
    ) -> None:
        """One poll's readings and slot energy, in one transaction."""
        db = self._db
        await db.executemany(
            "INSERT OR IGNORE INTO gas_readings VALUES (?, ?, ?)",
            [(mprn, _iso(r.at), r.import_wh) for r in readings if r.import_wh is not None],
        )
        await db.executemany(
            """
            INSERT INTO gas_slots (mprn, slot_start, local_date, gas_wh, covered_s)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (mprn, slot_start) DO UPDATE SET
                gas_wh = gas_wh + excluded.gas_wh,
                covered_s = min(?, covered_s + excluded.covered_s)
            """,
            [
                (mprn, _iso(s), local_day(s).isoformat(), e.import_wh, e.covered_s, SLOT_SECONDS)
                for s, e in energy.items()
            ],
        )
        # Old readings are rolled up into slots; the newest is the next rise's base.
        await db.execute(
            "DELETE FROM gas_readings WHERE mprn = ? AND read_at < ? AND read_at < "
            "(SELECT max(read_at) FROM gas_readings WHERE mprn = ?)",
            (mprn, _iso(keep_readings_from), mprn),
        )
        await db.commit()

    async def unpriced_slots(self, mprn: str, since: datetime) -> list[datetime]:
        async with self._db.execute(
            "SELECT slot_start FROM gas_slots WHERE mprn = ? AND unit_rate IS NULL "
            "AND slot_start >= ?",
            (mprn, _iso(since)),
        ) as cursor:
            return [_parse(row[0]) for row in await cursor.fetchall()]

    async def set_rates(self, mprn: str, rates: Mapping[datetime, float]) -> None:
        await self._db.executemany(
            "UPDATE gas_slots SET unit_rate = ? WHERE mprn = ? AND slot_start = ?",
            [(rate, mprn, _iso(slot)) for slot, rate in rates.items()],
        )
        await self._db.commit()

    async def day(self, mprn: str, day: date) -> GasDay:
        async with self._db.execute(
            """
            SELECT coalesce(sum(gas_wh), 0), coalesce(sum(gas_wh * unit_rate), 0),
                   coalesce(sum(unit_rate IS NULL AND gas_wh > 0), 0)
            FROM gas_slots WHERE mprn = ? AND local_date = ?
            """,
            (mprn, day.isoformat()),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return GasDay(row[0] / 1000, row[1] / 1000, int(row[2]))

    async def has_history(self) -> bool:
        async with self._db.execute("SELECT 1 FROM gas_slots LIMIT 1") as cursor:
            return await cursor.fetchone() is not None

    async def slots(self, start: datetime, end: datetime) -> dict[datetime, GasSlot]:
        """Every gas meter's slots starting in [start, end), summed per slot."""
        async with self._db.execute(
            """
            SELECT slot_start, sum(gas_wh),
                   CASE WHEN count(unit_rate) = count(*) THEN sum(gas_wh * unit_rate) END
            FROM gas_slots WHERE slot_start >= ? AND slot_start < ?
            GROUP BY slot_start
            """,
            (_iso(start), _iso(end)),
        ) as cursor:
            rows = await cursor.fetchall()
        return {
            _parse(r[0]): GasSlot(r[1] / 1000, None if r[2] is None else r[2] / 1000) for r in rows
        }
