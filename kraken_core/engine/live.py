"""The light kinds, read together: live telemetry, device states and planned dispatches.

- ``telemetry``: the Home Mini every polling interval;
- ``devices``: every interval while a device can receive dispatches, every few minutes
  otherwise, once a minute while a plug-in or unplug hint waits for Kraken to agree;
- ``dispatches``: per device, as :mod:`kraken_core.engine.refresh` decides.

Kinds due within :data:`COMBINE_WITHIN` of each other go to Kraken as one request
(:meth:`KrakenClient.live`); each part of the answer succeeds or fails on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from kraken_core.clock import Clock
from kraken_core.domain.bands import SmartDevice
from kraken_core.domain.charge_target import WeekdayTarget
from kraken_core.domain.dispatch import PlannedDispatch, dispatches_honoured
from kraken_core.domain.windows import DispatchType
from kraken_core.engine.pollers import Pacing, Poller
from kraken_core.engine.refresh import RETRY, DispatchRefreshPolicy
from kraken_core.engine.tariffs import AccountPoller
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.errors import KrakenError, KrakenNoData
from kraken_core.kraken.models import DAYS_OF_WEEK, SmartFlexDevice, TelemetryReading
from kraken_core.kraken.models import PlannedDispatch as WireDispatch

COMBINE_WITHIN = timedelta(seconds=45)
IDLE = timedelta(days=1)  # "not due": no device needs its dispatches fetched


class TelemetryPoller(Poller):
    """The Home Mini's newest reading."""

    def __init__(self, pacing: Pacing, now: datetime) -> None:
        super().__init__(
            "telemetry", "live meter readings", pacing, now, pacing.settings.live_stale_after
        )
        self.latest: TelemetryReading | None = None

    def next_due(self, now: datetime) -> datetime:
        return self.pacing.live(now + self.pacing.settings.poll_interval)

    def take(self, result: list[TelemetryReading] | KrakenError | None, now: datetime) -> bool:
        if isinstance(result, KrakenError):
            self.record(now, result)
            return False
        if result:
            self.latest = max(result, key=lambda r: r.read_at)
        self.record(now, None)
        return True


class DeviceHealth(Poller):
    """How one smart device's part of a kind stands: one device whose answer fails
    goes stale alone, while the others keep updating."""

    def next_due(self, now: datetime) -> datetime:
        return now  # the kind's poller schedules; this only books outcomes


class PerDevice:
    """Each device's :class:`DeviceHealth` for one kind."""

    def __init__(self, kind: Poller) -> None:
        self._kind = kind
        self._health: dict[str, DeviceHealth] = {}

    def health(self, device_id: str, now: datetime) -> DeviceHealth:
        kind = self._kind
        if device_id not in self._health:
            self._health[device_id] = DeviceHealth(
                f"{kind.name} of {device_id}", kind.what, kind.pacing, now, kind.stale_after
            )
        return self._health[device_id]

    def stale_reason(self, device_id: str, now: datetime) -> str | None:
        health = self._health.get(device_id)
        return health.stale_reason(now) if health else None


def smart_device(device: SmartFlexDevice) -> SmartDevice:
    name = " ".join(part for part in (device.make, device.model) if part) or "EV"
    preferences = device.preferences
    days = (preferences.schedules if preferences else None) or []
    schedule = tuple(
        WeekdayTarget(DAYS_OF_WEEK.index(day.day_of_week), day.ready_by, day.max_value)
        for day in days
    )
    return SmartDevice(
        device.id,
        name,
        device.status.current_state,
        is_suspended=device.status.is_suspended,
        charge_schedule=schedule,
        charge_unit_percent=preferences is None or preferences.unit == "PERCENTAGE",
    )


class DevicesPoller(Poller):
    """The smart devices on the account and the state each is in."""

    def __init__(self, pacing: Pacing, now: datetime, refresh: DispatchRefreshPolicy) -> None:
        super().__init__(
            "devices",
            "answer about the car's state",
            pacing,
            now,
            pacing.settings.live_stale_after,
        )
        self._refresh = refresh
        self.devices: dict[str, SmartDevice] = {}
        self.per_device = PerDevice(self)

    def next_due(self, now: datetime) -> datetime:
        if self._refresh.checking_state():
            return self.pacing.live(now + RETRY)
        if not self._refresh.can_receive():
            return self.pacing.live(now + self.pacing.settings.slow_state_interval)
        return self.pacing.live(now + self.pacing.settings.poll_interval)

    def stale_reason_for(self, device_id: str, now: datetime) -> str | None:
        return self.stale_reason(now) or self.per_device.stale_reason(device_id, now)

    def take(
        self,
        result: list[SmartFlexDevice] | KrakenError | None,
        now: datetime,
        failed: Mapping[str, KrakenError] | None = None,
    ) -> bool:
        """Book the devices answer; a device in ``failed`` keeps its last known state."""
        if result is None or isinstance(result, KrakenError):
            if isinstance(result, KrakenError):
                self.record(now, result)
            return False
        failed = failed or {}
        devices: dict[str, SmartDevice] = {}
        for device in result:
            error = failed.get(device.id)
            self.per_device.health(device.id, now).record(now, error)
            if error is None:
                devices[device.id] = smart_device(device)
            elif device.id in self.devices:
                devices[device.id] = self.devices[device.id]
        self.devices = devices
        self._observe(now)
        self.record(now, None)
        return True

    def take_changed(self, device: SmartFlexDevice, now: datetime) -> None:
        """A device as Kraken answered a change to it (smart control, charge target):
        shown at once, before the next devices read confirms it."""
        if device.id not in self.devices:
            return  # not on the account as last read: the next read decides
        self.devices[device.id] = smart_device(device)
        self._observe(now)

    def _observe(self, now: datetime) -> None:
        honoured = {d.id: dispatches_honoured(d.device_state) for d in self.devices.values()}
        self._refresh.observe_states(honoured, now)


class DispatchesPoller(Poller):
    """Each smart device's planned dispatches, fetched when the refresh policy says."""

    def __init__(self, pacing: Pacing, now: datetime, refresh: DispatchRefreshPolicy) -> None:
        super().__init__(
            "dispatches", "charging schedule", pacing, now, pacing.settings.live_stale_after
        )
        self.refresh = refresh
        self.planned: dict[str, tuple[PlannedDispatch, ...]] = {}
        self.per_device = PerDevice(self)

    def next_due(self, now: datetime) -> datetime:
        return self.refresh.next_due() or now + IDLE

    def keep_only(self, device_ids: Sequence[str]) -> None:
        """Forget the dispatches of devices no longer on the account."""
        self.planned = {d: p for d, p in self.planned.items() if d in device_ids}

    def stale_reason_for(self, device_id: str, now: datetime) -> str | None:
        return self.stale_reason(now) or self.per_device.stale_reason(device_id, now)

    def take(
        self, device_id: str, result: list[WireDispatch] | KrakenError | None, now: datetime
    ) -> KrakenError | None:
        """Book one device's dispatches; its error (the others are not held back)."""
        health = self.per_device.health(device_id, now)
        if isinstance(result, KrakenNoData):  # keep the cached dispatches
            health.record(now, None)
            self.refresh.fetched(device_id, now, schedule_found=bool(self.planned.get(device_id)))
            return None
        if result is None or isinstance(result, KrakenError):
            error = result or KrakenError("no answer for this device", operation="dispatches")
            health.record(now, error)
            self.refresh.failed(device_id, health.retry_at(now, error))
            return error
        health.record(now, None)
        self.planned[device_id] = tuple(
            PlannedDispatch(
                start=d.start,
                end=d.end,
                type=DispatchType.from_kraken(str(d.type)),
                energy_kwh=float(d.energy_added_kwh) if d.energy_added_kwh else None,
            )
            for d in result
        )
        self.refresh.fetched(device_id, now, schedule_found=bool(result))
        return None


class LiveTransaction:
    """Reads the due light kinds in one request and hands each part to its poller."""

    def __init__(
        self,
        client: KrakenClient,
        clock: Clock,
        account: AccountPoller,
        telemetry: TelemetryPoller,
        devices: DevicesPoller,
        dispatches: DispatchesPoller,
    ) -> None:
        self._client = client
        self._clock = clock
        self._account = account
        self.telemetry = telemetry
        self.devices = devices
        self.dispatches = dispatches

    def pollers(self) -> tuple[TelemetryPoller, DevicesPoller, DispatchesPoller]:
        return self.telemetry, self.devices, self.dispatches

    def due(self, now: datetime) -> bool:
        return any(poller.due <= now for poller in self.pollers())

    async def poll(self, now: datetime) -> bool:
        """Read every kind due by ``now`` (and those due soon after); True when any
        device's state or dispatches were read, so events may compare. Each part stands
        alone: failing telemetry, or one device's failing answer, holds no other back."""
        soon = now + COMBINE_WITHIN
        kinds = {poller.name for poller in self.pollers() if poller.due <= soon}
        self.telemetry.pacing.new_live_jitter()
        meter = self._account.telemetry_device_id() if "telemetry" in kinds else None
        dispatch_ids = self.dispatches.refresh.due(soon) if "dispatches" in kinds else []
        answer = await self._client.live(
            meter_device_id=meter,
            devices="devices" in kinds,
            dispatch_device_ids=dispatch_ids,
        )
        now = self._clock.now()
        if "telemetry" in kinds:
            self.telemetry.take(answer.telemetry, now)
        devices_ok = "devices" in kinds and self.devices.take(
            answer.devices, now, answer.device_errors
        )
        if devices_ok:
            self.dispatches.keep_only(list(self.devices.devices))
            self.dispatches.due = self.dispatches.next_due(now)
        errors = [self.dispatches.take(d, answer.dispatches.get(d), now) for d in dispatch_ids]
        failed = [error for error in errors if error is not None]
        if "dispatches" in kinds:
            # The kind fails only when every device asked failed; one device alone goes
            # stale by itself (DispatchesPoller.stale_reason_for).
            all_failed = bool(dispatch_ids) and len(failed) == len(dispatch_ids)
            self.dispatches.record(now, failed[0] if all_failed else None)
        return devices_ok or len(failed) < len(dispatch_ids)
