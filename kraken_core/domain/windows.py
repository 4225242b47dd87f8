"""Dispatch windows: their types and the set arithmetic every dispatch rule is built on."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

log = logging.getLogger(__name__)


class DispatchType(StrEnum):
    """Kraken's ``SmartFlexChargingType`` (flexPlannedDispatches ``type``): SMART, BOOST or
    TEST in the shared Kraken schema and ../shared/kraken/README.md, "Intelligent Octopus"."""

    SMART = "SMART"  # Octopus's smart charge: makes the slots it touches off-peak
    BOOST = "BOOST"  # charge now, billed at the scheduled (peak) rate
    TEST = "TEST"  # a test charge: never cheap

    @classmethod
    def from_kraken(cls, value: str) -> DispatchType:
        """Kraken's text; a type this bridge does not know is priced like a TEST charge
        (never cheap), the one reading that cannot undercharge a household."""
        try:
            return cls(value)
        except ValueError:
            log.warning("unknown dispatch type %r: priced at the tariff rate", value)
            return cls.TEST


@dataclass(frozen=True)
class DispatchWindow:
    """A dispatch, or the part of one, from ``start`` to ``end`` (end excluded)."""

    start: datetime
    end: datetime
    type: DispatchType


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


def intersect_windows(
    windows: Iterable[DispatchWindow], within: Iterable[DispatchWindow]
) -> list[DispatchWindow]:
    """The parts of ``windows`` that lie inside some window of ``within`` (types kept)."""
    bounds = merge_windows(DispatchWindow(w.start, w.end, DispatchType.SMART) for w in within)
    parts = [
        DispatchWindow(max(w.start, b.start), min(w.end, b.end), w.type)
        for w in windows
        for b in bounds
        if w.start < b.end and b.start < w.end
    ]
    return merge_windows(parts)


def subtract_windows(
    window: DispatchWindow, covered: Iterable[DispatchWindow]
) -> list[DispatchWindow]:
    """The pieces of ``window`` that no window of ``covered`` covers (type kept)."""
    bounds = merge_windows(DispatchWindow(w.start, w.end, window.type) for w in covered)
    pieces, cursor = [], window.start
    for part in bounds:
        if part.end <= cursor or part.start >= window.end:
            continue
        if part.start > cursor:
            pieces.append(DispatchWindow(cursor, part.start, window.type))
        cursor = max(cursor, part.end)
    if cursor < window.end:
        pieces.append(DispatchWindow(cursor, window.end, window.type))
    return pieces
