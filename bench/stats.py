"""A simulated year of history: database size and the time to compute statistics.

Writes a year of Agile-like half-hour slots (17,520) the way the engine does (a reading a
minute, 525,600 of them, kept for the retention period) into a real SQLite file, then
times ``/api/v1/stats``' query for a day, a month and 12 months. To finish in seconds it
writes half an hour of readings per transaction where the engine writes one a minute:
the database holds the same rows.

    .venv/bin/python bench/stats.py [--days 365] [--repeat 50]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kraken_core.clock import SimulatedClock
from kraken_core.domain.efficiency import price_slot
from kraken_core.domain.registers import Known, MeterReading, MeterRegisters, attribute_readings
from kraken_core.domain.timeline import LONDON, SLOT, local_day, local_day_bounds
from kraken_core.engine.history_queries import HistoryQueries
from kraken_core.store.db import Store
from kraken_core.store.history import HistoryStore, SlotPrices

START = datetime(2025, 3, 31, 23, 0, tzinfo=UTC)  # 00:00 on 1 April 2025, London
RETENTION = timedelta(days=14)
MAX_SPAN = timedelta(minutes=35)


def agile_rate(slot: datetime) -> float:
    """An Agile-shaped day: cheap overnight, a 16:00-19:00 peak, some noise."""
    hour = slot.astimezone(LONDON).hour
    base = 12 + 10 * math.sin(math.pi * (hour - 4) / 24) ** 2
    return round(base + (14 if 16 <= hour < 19 else 0) + (slot.minute / 60), 2)


def demand_w(when: datetime) -> float:
    hour = when.hour
    return 2500.0 if hour < 4 else 300.0 + 200 * math.sin(hour / 3)


async def simulate_year(path: Path, days: int) -> None:
    store = await Store.open(path)
    history = HistoryStore(store)
    last = MeterRegisters(Known(START, 1.0), None)
    day_rates: dict[datetime, float] = {}
    for half_hour in range(days * 48):
        slot = START + half_hour * SLOT
        if slot not in day_rates:
            first, end = local_day_bounds(local_day(slot))
            day_rates = {first + n * SLOT: agile_rate(first + n * SLOT) for n in range(50)}
            day_rates = {s: r for s, r in day_rates.items() if s < end}
        assert last.imported is not None
        samples, register = [], last.imported.wh
        for minute in range(1, 31):
            at = slot + timedelta(minutes=minute)
            register += demand_w(at) / 60
            samples.append(MeterReading(at, at, register))
        attribution = attribute_readings(last, samples, max_span=MAX_SPAN)
        await history.write_poll(
            samples=attribution.accepted,
            demand_w={s.end: demand_w(s.end) for s in samples},
            energy=attribution.slots,
            prices={slot: SlotPrices(price_slot(day_rates, slot), 15.0)},
            dispatches=[],
            seen_at=slot + SLOT,
            keep_readings_from=slot + SLOT - RETENTION,
        )
        last = attribution.registers
    await store.close()


def directory_size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "history.sqlite3"
        began = time.perf_counter()
        await simulate_year(path, args.days)
        writing_s = time.perf_counter() - began
        store = await Store.open(path)
        await store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = directory_size(Path(directory))
        end = START + timedelta(days=args.days)
        queries = HistoryQueries(store, SimulatedClock(end))
        last_day = local_day(end - timedelta(minutes=1))
        slots = (await queries.stats("12m", last_day)).slots
        print(
            f"simulated {args.days} days ({slots} slots in the last 12 months) in {writing_s:.0f} s"
        )
        print(
            f"database after the year: {size / 1e6:.2f} MB (readings kept {RETENTION.days} days)\n"
        )
        print(f"| {'period':6} | {'slots':>6} | {'median ms':>9} | {'p95 ms':>7} |")
        print(f"| {'-' * 6} | {'-' * 6}:| {'-' * 9}:| {'-' * 7}:|")
        for period in ("day", "month", "12m"):
            timings = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                answer = await queries.stats(period, last_day)
                timings.append((time.perf_counter() - t0) * 1000)
            timings.sort()
            p95 = timings[int(0.95 * (len(timings) - 1))]
            print(
                f"| {period:6} | {answer.slots:>6} | {statistics.median(timings):>9.2f} "
                f"| {p95:>7.2f} |"
            )
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
