"""The gas meter: the Home Mini's gas readings, half-hour by half-hour, into the store.

Facts (../shared/kraken/README.md, "Gas" and "Smart meter telemetry"):

- ``smartMeterTelemetry`` with the gas meter's ``smartGasMeter.deviceId`` gives its
  readings; ``consumption`` is a cumulative register in Wh, read as for electricity (the
  same register rules: :mod:`kraken_core.domain.registers`);
- the Home Mini reads gas about every 30 minutes, so one poll each half-hour, a few
  minutes past :00 and :30 (Octopus asks clients to stay off those boundaries), asks for
  the half-hourly rows since the last reading: one request fills any hole too;
- KT-GB-4051 answers a ``start`` too far back: a hole is asked for at most 7 days back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from kraken_core.domain.product import GasMeterPoint
from kraken_core.domain.registers import Known, MeterRegisters, attribute_readings
from kraken_core.domain.timeline import local_day, local_day_bounds, slot_start
from kraken_core.engine.history import ranged_readings
from kraken_core.engine.pollers import Pacing, Poller
from kraken_core.engine.tariffs import AccountPoller, TariffPoller, rate_window
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.errors import KrakenError, KrakenThrottled
from kraken_core.store.db import Store
from kraken_core.store.gas import GasStore

GAS_GROUPING = "HALF_HOURLY"
GAS_STEP = timedelta(minutes=30)
# Two of the Home Mini's half-hourly gas readings: one missed reading is not a gap.
GAS_MAX_SPAN = timedelta(minutes=65)
GAS_LOOK_BACK = timedelta(days=7)
GAS_RETENTION = timedelta(days=14)  # raw readings; slots are kept for good
GAS_RETRY = timedelta(minutes=5)


@dataclass(frozen=True)
class GasFigures:
    """One gas meter as last read: its register, and today's kWh and cost (pence)."""

    day: date
    register: Known | None
    kwh_today: float
    cost_today_p: float | None  # None while a slot with gas has no unit rate yet


class GasPoller(Poller):
    """Every gas meter point with a Home Mini: readings each half-hour, history, figures."""

    def __init__(
        self,
        client: KrakenClient,
        store: Store,
        pacing: Pacing,
        now: datetime,
        account: AccountPoller,
        tariffs: TariffPoller,
    ) -> None:
        super().__init__("gas", "gas meter readings", pacing, now, pacing.settings.gas_stale_after)
        self._client = client
        self._db = GasStore(store)
        self._account = account
        self._tariffs = tariffs
        self._registers: dict[str, Known | None] = {}
        self.figures: dict[str, GasFigures] = {}

    def points(self) -> list[GasMeterPoint]:
        """Gas meter points the Home Mini reads (no device id: no readings to ask for)."""
        return [p for p in self._account.gas_points if p.telemetry_device_id]

    def next_due(self, now: datetime) -> datetime:
        """``gas_offset`` past the next half-hour boundary, jittered."""
        settings = self.pacing.settings
        boundary = slot_start(now - settings.gas_offset) + settings.gas_interval
        return self.pacing.jittered(boundary + settings.gas_offset)

    def retry_at(self, now: datetime, error: KrakenError) -> datetime:
        """After a failure: 5, 10, 15 … minutes, no further apart than the gas interval
        (the shared telemetry budget is not spent on a meter read half-hourly)."""
        if isinstance(error, KrakenThrottled):
            return super().retry_at(now, error)
        wait = min(GAS_RETRY * self.failures, self.pacing.settings.gas_interval)
        return self.pacing.jittered(now + wait)

    async def poll(self, now: datetime) -> None:
        failure: KrakenError | None = None
        for point in self.points():
            try:
                await self._read(point, now)
            except KrakenError as exc:
                failure = failure or exc
            self.figures[point.mprn] = await self._figures(point, now)
        if failure is not None:
            raise failure

    async def refresh_figures(self, now: datetime) -> None:
        """Today's figures again without asking Kraken: the gas tariff's rates arrived
        (a read before them left today's cost unknown until the next half-hour)."""
        for point in self.points():
            if point.mprn in self.figures:
                self.figures[point.mprn] = await self._figures(point, now)

    async def _read(self, point: GasMeterPoint, now: datetime) -> None:
        assert point.telemetry_device_id is not None
        if point.mprn not in self._registers:
            self._registers[point.mprn] = await self._db.last_register(point.mprn)
        last = self._registers[point.mprn]
        since = last.at if last else local_day_bounds(local_day(now))[0]
        start = slot_start(max(since, now - GAS_LOOK_BACK))
        if start >= now:
            return
        rows = await self._client.backfill_telemetry(
            point.telemetry_device_id, start=start, end=now, grouping=GAS_GROUPING
        )
        readings = [replace(r, export_wh=None) for r in ranged_readings(rows, GAS_STEP, now)]
        attribution = attribute_readings(
            MeterRegisters(imported=last), readings, max_span=GAS_MAX_SPAN
        )
        await self._db.write(
            point.mprn, attribution.accepted, attribution.slots, now - GAS_RETENTION
        )
        self._registers[point.mprn] = attribution.registers.imported

    async def _figures(self, point: GasMeterPoint, now: datetime) -> GasFigures:
        """Today's kWh and cost; slots priced as the gas tariff's rates become known."""
        window = rate_window(now)
        rates = self._tariffs.slots(point.tariff_code, window)
        unpriced = await self._db.unpriced_slots(point.mprn, window[0])
        known = {slot: rates[slot] for slot in unpriced if slot in rates}
        if known:
            await self._db.set_rates(point.mprn, known)
        today = local_day(now)
        day = await self._db.day(point.mprn, today)
        return GasFigures(
            day=today,
            register=self._registers.get(point.mprn),
            kwh_today=round(day.kwh, 3),
            cost_today_p=round(day.cost_p, 2) if day.unpriced_slots == 0 else None,
        )

    def figures_for(self, mprn: str, now: datetime) -> GasFigures | None:
        """The figures for ``now``: a new London day starts at 0 until its first read."""
        figures = self.figures.get(mprn)
        today = local_day(now)
        if figures is None or figures.day == today:
            return figures
        return GasFigures(today, figures.register, 0.0, 0.0)
