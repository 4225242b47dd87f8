"""When to ask Kraken for a device's planned dispatches.

The schedule users used to build by hand in Homey flows, built in:
- while a device can receive dispatches, every polling interval;
- when it becomes plugged in (its state, or a ``plug_in_hint``), quickly, then once a
  minute until a schedule appears (up to five tries);
- a final refresh about a minute after it is unplugged;
- on demand (a manual refresh, a hint, a boost or a charge target), never twice within a
  minute and at most 20 times an hour;
- otherwise never: a device that cannot receive dispatches has none that count.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

QUICK = timedelta(seconds=10)
RETRY = timedelta(minutes=1)
PLUG_IN_TRIES = 5
FINAL_AFTER = timedelta(minutes=1)
MANUAL_GAP = timedelta(minutes=1)
ON_DEMAND_PER_HOUR = 20


class RefreshRefused(Exception):
    """A refresh asked for too soon; the message says when it can run."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


@dataclass
class _DeviceRefresh:
    honoured: bool | None = None
    due: datetime | None = None
    tries_left: int = 0
    # After a plug-in or unplug hint: state checks once a minute until Kraken agrees.
    state_checks_left: int = 0
    expect_honoured: bool | None = None


class DispatchRefreshPolicy:
    def __init__(self, poll_interval: timedelta) -> None:
        self.poll_interval = poll_interval
        self._devices: dict[str, _DeviceRefresh] = {}
        self._on_demand: deque[datetime] = deque()
        self._last_manual: dict[str, datetime] = {}

    def observe_states(self, honoured: dict[str, bool], now: datetime) -> list[str]:
        """Take a successful device-state poll; return the devices just plugged in."""
        plugged_in = []
        for device_id, can_receive in honoured.items():
            device = self._devices.setdefault(device_id, _DeviceRefresh())
            was = device.honoured
            device.honoured = can_receive
            if device.state_checks_left:
                agreed = device.expect_honoured == can_receive
                device.state_checks_left = 0 if agreed else device.state_checks_left - 1
            if can_receive and was is not True:
                plugged_in.append(device_id)
                self._soon(device, now + QUICK, tries=PLUG_IN_TRIES)
            elif not can_receive and was is True:
                device.due, device.tries_left = now + FINAL_AFTER, 0
        for device_id in set(self._devices) - set(honoured):
            del self._devices[device_id]  # retired or removed from the account
        return plugged_in

    def fetched(self, device_id: str, now: datetime, *, schedule_found: bool) -> None:
        """A successful planned-dispatches answer for ``device_id``."""
        device = self._devices.setdefault(device_id, _DeviceRefresh())
        if not device.honoured:
            device.due = None  # that was the final refresh after unplugging
            return
        if not schedule_found and device.tries_left > 0:
            device.tries_left -= 1
            device.due = now + RETRY
        else:
            device.tries_left = 0
            device.due = now + self.poll_interval

    def failed(self, device_id: str, retry_at: datetime) -> None:
        device = self._devices.setdefault(device_id, _DeviceRefresh())
        device.due = retry_at

    def due(self, until: datetime) -> list[str]:
        """Devices whose dispatches should be fetched by ``until``."""
        return sorted(
            device_id
            for device_id, device in self._devices.items()
            if device.due is not None and device.due <= until
        )

    def next_due(self) -> datetime | None:
        dues = [device.due for device in self._devices.values() if device.due is not None]
        return min(dues, default=None)

    def checking_state(self) -> bool:
        """A hint asked for the device state to be watched closely for a while."""
        return any(device.state_checks_left for device in self._devices.values())

    def can_receive(self) -> bool:
        """Some device can receive dispatches now (or its state is not known yet)."""
        return not self._devices or any(d.honoured is not False for d in self._devices.values())

    def request(self, device_id: str, now: datetime, *, reason: str) -> datetime:
        """An on-demand refresh (``manual``, ``plug_in``, ``unplug`` or ``event``).

        Returns when it will run; raises :class:`RefreshRefused` when it would break the
        once-a-minute or 20-an-hour rule.
        """
        if reason == "manual":
            last = self._last_manual.get(device_id)
            if last is not None and now - last < MANUAL_GAP:
                allowed = last + MANUAL_GAP
                raise RefreshRefused(
                    "Dispatches were refreshed less than a minute ago; the next refresh can "
                    f"run at {allowed:%H:%M:%S} UTC.",
                    allowed,
                )
        while self._on_demand and now - self._on_demand[0] >= timedelta(hours=1):
            self._on_demand.popleft()
        if len(self._on_demand) >= ON_DEMAND_PER_HOUR:
            allowed = self._on_demand[0] + timedelta(hours=1)
            raise RefreshRefused(
                f"{ON_DEMAND_PER_HOUR} dispatch refreshes were asked for in the last hour, "
                f"Kraken's limit; the next can run at {allowed:%H:%M:%S} UTC.",
                allowed,
            )
        self._on_demand.append(now)
        device = self._devices.setdefault(device_id, _DeviceRefresh())
        if reason == "manual":
            self._last_manual[device_id] = now
            when = now
        elif reason == "plug_in":
            when = now + QUICK
            device.tries_left = PLUG_IN_TRIES
            device.state_checks_left, device.expect_honoured = PLUG_IN_TRIES, True
        elif reason == "unplug":
            when = now + FINAL_AFTER
            device.state_checks_left, device.expect_honoured = PLUG_IN_TRIES, False
        else:
            when = now + timedelta(seconds=30)
        self._soon(device, when, tries=device.tries_left)
        return when

    @staticmethod
    def _soon(device: _DeviceRefresh, when: datetime, *, tries: int) -> None:
        device.due = when if device.due is None else min(device.due, when)
        device.tries_left = tries
