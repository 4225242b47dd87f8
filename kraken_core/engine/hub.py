"""The devices the engine serves: their names, states and availability.

A state is always one of the kind's models (:mod:`kraken_core.api.models`); the hub keeps
its JSON and publishes on the event bus only the fields whose value changed, so a front
door's stream carries changes, never repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kraken_core.api.events import EventBus, to_json_value
from kraken_core.api.models import (
    DEVICE_KINDS,
    STATE_MODELS,
    DeviceKind,
    DeviceState,
    DeviceView,
)
from kraken_core.clock import Clock


@dataclass
class DeviceRecord:
    id: str
    kind: DeviceKind
    name: str
    available: bool = False
    unavailable_reason: str | None = "Waiting for the first answer from Octopus"
    updated_at: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)

    def view(self) -> DeviceView:
        return DeviceView(
            id=self.id,
            kind=self.kind,
            name=self.name,
            available=self.available,
            unavailable_reason=self.unavailable_reason,
            updated_at=self.updated_at,
            state=dict(self.state),
        )


class DeviceHub:
    """The devices the bridge serves; publishes an event only when a value changes."""

    def __init__(self, bus: EventBus, clock: Clock) -> None:
        self.bus = bus
        self._clock = clock
        self.devices: dict[str, DeviceRecord] = {}

    def ensure(self, device_id: str, kind: DeviceKind, name: str) -> DeviceRecord:
        if kind not in DEVICE_KINDS:
            raise ValueError(f"unknown device kind {kind!r}")
        record = self.devices.get(device_id)
        if record is None:
            record = DeviceRecord(device_id, kind, name)
            self.devices[device_id] = record
        record.name = name
        return record

    def set_state(self, device_id: str, state: DeviceState) -> dict[str, Any]:
        """Make ``state`` the device's state; publish and return the fields that changed."""
        record = self.devices[device_id]
        if not isinstance(state, STATE_MODELS[record.kind]):
            raise TypeError(f"{type(state).__name__} is not the state of a {record.kind}")
        encoded = {key: to_json_value(value) for key, value in state.model_dump().items()}
        changed = {
            k: v for k, v in encoded.items() if k not in record.state or record.state[k] != v
        }
        if changed:
            record.state.update(changed)
            record.updated_at = self._clock.now()
            self.bus.publish(
                "state",
                {
                    "device_id": device_id,
                    "state": changed,
                    "updated_at": to_json_value(record.updated_at),
                },
            )
        return changed

    def set_availability(self, device_id: str, available: bool, reason: str | None) -> None:
        record = self.devices[device_id]
        reason = None if available else reason
        if record.available == available and record.unavailable_reason == reason:
            return
        record.available, record.unavailable_reason = available, reason
        self.bus.publish(
            "availability", {"device_id": device_id, "available": available, "reason": reason}
        )
