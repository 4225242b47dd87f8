"""How the Home Mini's registers are read: pure rules, no I/O, no clock.

Kraken's ``smartMeterTelemetry`` rows carry ``consumption`` and ``export``, cumulative
registers in Wh, and ``consumptionDelta``, the Wh of the row's bucket
(../shared/kraken/README.md, "Smart meter telemetry", from Octopus's developer
reference for ``SmartMeterTelemetryType``). Real meters break those registers in known
ways (same README; the issue measured a ``export_kwh_today`` of 5,000 kWh after one):

- ``export`` comes as null or 0 from a meter that does not report it: unknown, never 0;
- a register of 0 is a missing reading, not a reset;
- a register that appears, or reappears after a longer absence than ``max_span``, starts
  a new baseline: its lifetime value must not land in one slot as energy;
- a missing ``consumption`` is filled from ``consumptionDelta`` when the row's bucket
  starts where the last known register stood (rows in sequence, as a backfill gives).

Registers never go down: a lower reading keeps the previous value. The same rules read
the gas meter's ``consumption`` (README, "Gas": its fields are read as for electricity).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kraken_core.domain.efficiency import SlotEnergy
from kraken_core.domain.timeline import SLOT
from kraken_core.domain.timeline import slot_start as slot_of


@dataclass(frozen=True)
class MeterReading:
    """One telemetry row as numbers: the bucket it covers and what it said (Wh)."""

    start: datetime  # Kraken's readAt
    end: datetime  # when the registers stood as given (the bucket's end, or readAt)
    consumption_wh: float | None
    consumption_delta_wh: float | None = None
    export_wh: float | None = None


@dataclass(frozen=True)
class Known:
    """A register's last real value (Wh) and when it was read."""

    at: datetime
    wh: float


@dataclass(frozen=True)
class MeterRegisters:
    """The registers as last known; None: the meter has never reported that one."""

    imported: Known | None = None
    exported: Known | None = None

    @property
    def at(self) -> datetime | None:
        """The newest time either register was read."""
        times = [k.at for k in (self.imported, self.exported) if k is not None]
        return max(times) if times else None


@dataclass(frozen=True)
class StoredRegisters:
    """A reading as kept: each register after the rules, None where it was missing."""

    at: datetime
    import_wh: float | None
    export_wh: float | None


@dataclass
class ReadingsAttribution:
    """Result of :func:`attribute_readings`."""

    registers: MeterRegisters
    accepted: list[StoredRegisters] = field(default_factory=list)
    slots: dict[datetime, SlotEnergy] = field(default_factory=dict)


def register_value(wh: float | None) -> float | None:
    """A register as reported, or None when it is missing (null, 0 or below)."""
    return wh if wh is not None and wh > 0 else None


def filled_consumption(reading: MeterReading, last: Known | None) -> float | None:
    """``consumption``, or the last register plus ``consumptionDelta`` when the register
    is missing and the row's bucket starts where ``last`` was read (nothing in between)."""
    register = register_value(reading.consumption_wh)
    if register is not None:
        return register
    delta = reading.consumption_delta_wh
    if delta is None or delta < 0 or last is None or last.at != reading.start:
        return None
    return last.wh + delta


def advance(
    last: Known | None, value: float | None, at: datetime, max_span: timedelta
) -> tuple[Known | None, Known | None]:
    """The register after a reading of ``value`` at ``at``, and the known value its rise
    is measured from (None: nothing to attribute, a missing reading or a new baseline)."""
    if value is None:
        return last, None
    if last is None:
        return Known(at, value), None  # first seen: a baseline, not energy
    current = Known(at, max(value, last.wh))
    if at - last.at > max_span:
        return current, None  # back after a long absence: a new baseline
    return current, last


def attribute_readings(
    last: MeterRegisters, readings: Iterable[MeterReading], *, max_span: timedelta
) -> ReadingsAttribution:
    """Share each register's rise since its last known value over the slots, by time.

    Readings at or before the newest known register are ignored. A slot's coverage
    follows the import register (what efficiency and gaps are about); export adds
    energy only.
    """
    result = ReadingsAttribution(registers=last)
    for reading in sorted(readings, key=lambda r: r.end):
        state = result.registers
        if state.at is not None and reading.end <= state.at:
            continue
        imported = filled_consumption(reading, state.imported)
        exported = register_value(reading.export_wh)
        if imported is None and exported is None:
            continue  # a missing reading: nothing learnt
        new_import, import_from = advance(state.imported, imported, reading.end, max_span)
        new_export, export_from = advance(state.exported, exported, reading.end, max_span)
        if import_from is not None and new_import is not None:
            _spread(result.slots, import_from, new_import, "import_wh", covers=True)
        if export_from is not None and new_export is not None:
            _spread(result.slots, export_from, new_export, "export_wh", covers=False)
        result.registers = MeterRegisters(new_import, new_export)
        result.accepted.append(
            StoredRegisters(
                reading.end,
                new_import.wh if imported is not None and new_import else None,
                new_export.wh if exported is not None and new_export else None,
            )
        )
    return result


def _spread(
    slots: dict[datetime, SlotEnergy], first: Known, second: Known, register: str, *, covers: bool
) -> None:
    """Share ``second.wh - first.wh`` over [first.at, second.at) in proportion to time."""
    span = (second.at - first.at).total_seconds()
    if span <= 0:
        return
    rise = second.wh - first.wh
    slot = slot_of(first.at)
    while slot < second.at:
        overlap = (min(slot + SLOT, second.at) - max(slot, first.at)).total_seconds()
        energy = slots.setdefault(slot, SlotEnergy())
        setattr(energy, register, getattr(energy, register) + rise * overlap / span)
        if covers:
            energy.covered_s += overlap
        slot += SLOT


#: The volume correction factor UK gas bills use (temperature and pressure).
GAS_VOLUME_CORRECTION = 1.02264


def gas_m3(kwh: float, calorific_value: float) -> float:
    """Gas kWh as m³: kWh × 3.6 / (CV × 1.02264), CV in MJ/m³ (README, "Gas", as
    established clients and gas bills convert)."""
    return kwh * 3.6 / (calorific_value * GAS_VOLUME_CORRECTION)
