"""Which planned dispatches count, and what a smart device shows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kraken_core.domain.tariff import DispatchWindow

# Kraken plans dispatches even for unplugged cars; only these states honour them.
HONOURING_STATES = frozenset({"SMART_CONTROL_CAPABLE", "SMART_CONTROL_IN_PROGRESS", "BOOSTING"})


@dataclass(frozen=True)
class PlannedDispatch:
    start: datetime
    end: datetime
    type: str
    energy_kwh: float | None


@dataclass(frozen=True)
class SmartDeviceState:
    device_state: str | None
    dispatches_honoured: bool
    dispatching: bool
    boosting: bool
    planned_dispatches: tuple[PlannedDispatch, ...]
    next_dispatch_start: datetime | None
    next_dispatch_end: datetime | None


def dispatches_honoured(device_state: str | None) -> bool:
    return device_state in HONOURING_STATES


def merge_windows(windows: Iterable[DispatchWindow]) -> list[DispatchWindow]:
    """Merge overlapping or touching windows of the same type."""
    merged: list[DispatchWindow] = []
    for window in sorted(windows, key=lambda w: (w.type, w.start)):
        last = merged[-1] if merged else None
        if last is not None and last.type == window.type and window.start <= last.end:
            merged[-1] = DispatchWindow(last.start, max(last.end, window.end), last.type)
        else:
            merged.append(window)
    return sorted(merged, key=lambda w: w.start)


def counted_windows(
    device_state: str | None, planned: Sequence[PlannedDispatch]
) -> list[DispatchWindow]:
    """The device's dispatches that count for billing, merged."""
    if not dispatches_honoured(device_state):
        return []
    return merge_windows(DispatchWindow(d.start, d.end, d.type) for d in planned)


def smart_device_state(
    device_state: str | None, planned: Sequence[PlannedDispatch], now: datetime
) -> SmartDeviceState:
    honoured = dispatches_honoured(device_state)
    upcoming = tuple(
        sorted((d for d in planned if d.end > now), key=lambda d: d.start) if honoured else ()
    )
    active = [d for d in upcoming if d.start <= now < d.end]
    smart_windows = [
        w
        for w in merge_windows(
            DispatchWindow(d.start, d.end, d.type) for d in upcoming if d.type == "SMART"
        )
    ]
    next_window = next((w for w in smart_windows if w.end > now), None)
    return SmartDeviceState(
        device_state=device_state,
        dispatches_honoured=honoured,
        dispatching=any(d.type == "SMART" for d in active),
        boosting=device_state == "BOOSTING" or any(d.type == "BOOST" for d in active),
        planned_dispatches=upcoming,
        next_dispatch_start=next_window.start if next_window else None,
        next_dispatch_end=next_window.end if next_window else None,
    )
