"""Home Mini telemetry as the simulator serves it, from a scenario's ``telemetry``.

Constant mode integrates ``demand_w`` and ``export_w`` from the scenario start into
cumulative registers (Wh, never decreasing); readings mode serves the rows as given.
Nothing is served from the future: readings stop at ``now``. A gas meter's telemetry
(``gas_telemetry``) is integrated the same way (Kraken README, "Gas": ``consumption`` a
cumulative register in Wh); it has no export register, so ``export`` is null.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from kraken_core.simulator.scenario import GasTelemetry, Telemetry

GROUPING_STEP: dict[str, timedelta] = {
    "TEN_SECONDS": timedelta(seconds=10),
    "ONE_MINUTE": timedelta(minutes=1),
    "FIVE_MINUTES": timedelta(minutes=5),
    "HALF_HOURLY": timedelta(minutes=30),
    "HOURLY": timedelta(hours=1),
}
_LATEST_STEP = timedelta(seconds=10)
_MILLI = Decimal("0.001")

TelemetryRow = dict[str, Any]


def _wh(power_w: float, start: datetime, until: datetime) -> Decimal:
    """Energy in Wh drawn at a constant ``power_w`` from ``start`` to ``until`` (>= 0)."""
    hours = max((until - start).total_seconds(), 0.0) / 3600.0
    return Decimal(repr(power_w * hours)).quantize(_MILLI, rounding=ROUND_HALF_EVEN)


class ConstantHousehold:
    """A household drawing ``demand_w`` and exporting ``export_w`` from ``origin`` on."""

    def __init__(self, origin: datetime, demand_w: float, export_w: float | None) -> None:
        self.origin = origin
        self.demand_w = demand_w
        self.export_w = export_w

    def row(self, read_at: datetime, since: datetime, until: datetime) -> TelemetryRow:
        consumption = _wh(self.demand_w, self.origin, until)
        return {
            "readAt": read_at,
            "consumption": consumption,
            "consumptionDelta": consumption - _wh(self.demand_w, self.origin, since),
            "demand": Decimal(repr(float(self.demand_w))),
            "export": None if self.export_w is None else _wh(self.export_w, self.origin, until),
        }

    def latest(self, now: datetime) -> list[TelemetryRow]:
        if now < self.origin:
            return []
        epoch_seconds = int(now.timestamp())
        read_at = now - timedelta(seconds=epoch_seconds % 10, microseconds=now.microsecond)
        return [self.row(read_at, max(read_at - _LATEST_STEP, self.origin), read_at)]

    def over(
        self, start: datetime, end: datetime, step: timedelta, now: datetime
    ) -> list[TelemetryRow]:
        rows: list[TelemetryRow] = []
        read_at = start
        while read_at < end and read_at < now:
            bucket_end = min(read_at + step, end, now)
            if bucket_end > self.origin:
                rows.append(self.row(read_at, max(read_at, self.origin), bucket_end))
            read_at += step
        return rows


def _household(telemetry: Telemetry, origin: datetime) -> ConstantHousehold:
    export_w = None if isinstance(telemetry, GasTelemetry) else telemetry.export_w or 0.0
    return ConstantHousehold(origin, telemetry.demand_w or 0.0, export_w)


def latest_readings(telemetry: Telemetry | None, origin: datetime, now: datetime) -> list[Any]:
    """The answer to ``smartMeterTelemetry(deviceId)`` without a range."""
    if telemetry is None:
        return []
    if telemetry.readings is not None:
        served = [row for row in telemetry.readings if row.readAt <= now]
        return [max(served, key=lambda row: row.readAt).model_dump()] if served else []
    return _household(telemetry, origin).latest(now)


def ranged_readings(
    telemetry: Telemetry | None,
    origin: datetime,
    now: datetime,
    start: datetime,
    end: datetime,
    grouping: str,
) -> list[Any]:
    """The answer to ``smartMeterTelemetry(deviceId, start, end, grouping)``."""
    if telemetry is None:
        return []
    if telemetry.readings is not None:
        return [
            row.model_dump()
            for row in sorted(telemetry.readings, key=lambda row: row.readAt)
            if start <= row.readAt < end and row.readAt <= now
        ]
    return _household(telemetry, origin).over(start, end, GROUPING_STEP[grouping], now)
