"""Which dispatch counts for billing, device by device, and why the rest does not.

The tariff devices price slots from the billable windows of every device together; the
smart devices and the bridge page need the same answer per device, with the pieces that
do not count and the reason in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from kraken_core.domain.allowance import AllowanceRule, billable_windows
from kraken_core.domain.charge_target import WeekdayTarget
from kraken_core.domain.dispatch import DispatchLedger, PlannedDispatch, dispatches_honoured
from kraken_core.domain.windows import (
    DispatchType,
    DispatchWindow,
    intersect_windows,
    subtract_windows,
)

# Why a device's state keeps Kraken's plan from counting, in a person's words.
STATE_WORDS = {
    "SMART_CONTROL_NOT_AVAILABLE": "unplugged",
    "SMART_CONTROL_OFF": "smart control is off",
    "LOST_CONNECTION": "lost connection",
    "RETIRED": "removed from the account",
}
PAST_ALLOWANCE = "past the day's smart-charging allowance: billed at the tariff rate"


@dataclass(frozen=True)
class SmartDevice:
    """A smart device as the last successful devices answer described it."""

    id: str
    name: str
    device_state: str | None
    # Issue 15, read back on the device: Kraken's status.isSuspended and the charge
    # target per weekday (empty: Kraken gives none), and whether its unit is a percentage.
    is_suspended: bool | None = None
    charge_schedule: tuple[WeekdayTarget, ...] = ()
    charge_unit_percent: bool = True


@dataclass(frozen=True)
class DispatchBand:
    """A dispatch window of one device, counted or not (then with the reason)."""

    device_id: str
    device_name: str
    start: datetime
    end: datetime
    type: DispatchType
    counted: bool
    reason: str | None = None


def household_billable(ledger: DispatchLedger, rule: AllowanceRule) -> list[DispatchWindow]:
    """Dispatch that counts for billing: what has run and what is planned, every device,
    SMART cut where the allowance runs out."""
    return billable_windows(ledger.windows(), rule)


def device_billable_smart(
    ledger: DispatchLedger, device_id: str, billable: Iterable[DispatchWindow]
) -> list[DispatchWindow]:
    """The part of one device's SMART dispatch that the household is billed off-peak for."""
    smart = [w for w in billable if w.type == DispatchType.SMART]
    own = [w for w in ledger.device_windows(device_id) if w.type == DispatchType.SMART]
    return intersect_windows(own, smart)


def _ignored(device: SmartDevice, planned: Iterable[PlannedDispatch]) -> list[DispatchBand]:
    """What Kraken lists for a device whose state does not let it count."""
    state = device.device_state
    why = STATE_WORDS.get(state or "", (state or "unknown state").lower())
    reason = f"{why} ({state}): Kraken lists it, but it does not count"
    return [
        DispatchBand(device.id, device.name, d.start, d.end, d.type, False, reason) for d in planned
    ]


def dispatch_bands(
    ledger: DispatchLedger,
    devices: Mapping[str, SmartDevice],
    planned: Mapping[str, Iterable[PlannedDispatch]],
    rule: AllowanceRule,
) -> list[DispatchBand]:
    """Every dispatch known, counted or not and why: counted windows per device (what ran
    and what is planned while the state honours it), SMART past the allowance, and what
    Kraken lists for a device whose state ignores it. In time order, counted last."""
    billable = household_billable(ledger, rule)
    bands: list[DispatchBand] = []
    for device_id in sorted(set(devices) | set(ledger.elapsed)):
        device = devices.get(device_id)
        name = device.name if device else device_id
        if device is not None and not dispatches_honoured(device.device_state):
            bands += _ignored(device, planned.get(device_id, ()))
        counted_smart = device_billable_smart(ledger, device_id, billable)
        for window in ledger.device_windows(device_id):
            if window.type != DispatchType.SMART:
                bands.append(
                    DispatchBand(device_id, name, window.start, window.end, window.type, True)
                )
                continue
            inside = intersect_windows([window], counted_smart)
            bands += [DispatchBand(device_id, name, w.start, w.end, w.type, True) for w in inside]
            bands += [
                DispatchBand(device_id, name, w.start, w.end, w.type, False, PAST_ALLOWANCE)
                for w in subtract_windows(window, inside)
            ]
    return sorted(bands, key=lambda band: (band.start, band.counted))
