"""Which planned dispatches count, and what a smart device shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kraken_core.domain.windows import DispatchType, DispatchWindow, merge_windows

# Kraken plans dispatches even for unplugged cars; only these states honour them.
HONOURING_STATES = frozenset({"SMART_CONTROL_CAPABLE", "SMART_CONTROL_IN_PROGRESS", "BOOSTING"})
IN_PROGRESS = "SMART_CONTROL_IN_PROGRESS"
BOOSTING = "BOOSTING"


@dataclass(frozen=True)
class PlannedDispatch:
    start: datetime
    end: datetime
    type: DispatchType
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
    planned_dispatch_count: int
    planned_energy_kwh: float | None  # sum of what Kraken gives; None if it gives none
    current_dispatch_end: datetime | None  # end of the dispatch or boost running now


def dispatches_honoured(device_state: str | None) -> bool:
    return device_state in HONOURING_STATES


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
    # Merge before dropping ended ones: touching dispatches are one run, whose start stays.
    smart_windows = merge_windows(
        DispatchWindow(d.start, d.end, d.type) for d in planned if d.type == DispatchType.SMART
    )
    next_window = next((w for w in smart_windows if w.end > now), None) if honoured else None
    running_type = (
        DispatchType.BOOST
        if any(d.type == DispatchType.BOOST for d in active)
        else DispatchType.SMART
    )
    running = next(
        (
            w
            for w in merge_windows(DispatchWindow(d.start, d.end, d.type) for d in upcoming)
            if w.type == running_type and w.start <= now < w.end
        ),
        None,
    )
    energies = [d.energy_kwh for d in upcoming if d.energy_kwh is not None]
    return SmartDeviceState(
        device_state=device_state,
        dispatches_honoured=honoured,
        dispatching=any(d.type == DispatchType.SMART for d in active),
        boosting=device_state == BOOSTING or any(d.type == DispatchType.BOOST for d in active),
        planned_dispatches=upcoming,
        next_dispatch_start=next_window.start if next_window else None,
        next_dispatch_end=next_window.end if next_window else None,
        planned_dispatch_count=len(upcoming),
        planned_energy_kwh=round(sum(energies), 3) if energies else None,
        current_dispatch_end=running.end if running else None,
    )


# --- what happened between successive successful polls ---------------------------------


@dataclass(frozen=True)
class DeviceObservation:
    """One device as a successful poll saw it."""

    device_state: str | None
    planned: tuple[PlannedDispatch, ...] = ()

    def windows(self) -> list[DispatchWindow]:
        return counted_windows(self.device_state, self.planned)


@dataclass(frozen=True)
class DispatchEvent:
    """A flow-card trigger of a smart device (card ids as the shim knows them)."""

    device_id: str
    card: str  # dispatch_started|ended|changed|cancelled|completed, boost_started|ended
    tokens: Mapping[str, str | float]


@dataclass(frozen=True)
class DispatchLedger:
    """What the engine remembers between polls.

    ``observed`` is the last successful poll. ``elapsed`` keeps, per device, counted
    dispatch that has run and that Kraken no longer lists: dispatches that reached their
    end, and the run part of a SMART dispatch dropped while the device reported
    SMART_CONTROL_IN_PROGRESS (so the slot it started stays off-peak).
    """

    polled_at: datetime | None = None
    observed: Mapping[str, DeviceObservation] = field(default_factory=dict)
    elapsed: Mapping[str, tuple[DispatchWindow, ...]] = field(default_factory=dict)

    def device_windows(self, device_id: str) -> list[DispatchWindow]:
        """Counted windows of one device: what has run and what is planned now."""
        observation = self.observed.get(device_id)
        current = observation.windows() if observation else []
        return merge_windows([*self.elapsed.get(device_id, ()), *current])

    def windows(self) -> list[DispatchWindow]:
        """Counted windows of every device (not merged across devices)."""
        devices = set(self.observed) | set(self.elapsed)
        return [w for device_id in sorted(devices) for w in self.device_windows(device_id)]

    def next_edge(self, now: datetime) -> datetime | None:
        """The next start or end of a counted window after ``now`` (state changes then)."""
        edges = [t for w in self.windows() for t in (w.start, w.end) if t > now]
        return min(edges, default=None)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tokens(window: DispatchWindow | None) -> dict[str, str | float]:
    if window is None:  # boosting by device state, Kraken lists no BOOST window
        return {"start": "", "end": "", "type": DispatchType.BOOST.value, "duration_minutes": 0.0}
    return {
        "start": _iso(window.start),
        "end": _iso(window.end),
        "type": window.type.value,
        "duration_minutes": (window.end - window.start).total_seconds() / 60,
    }


def _changed(window: DispatchWindow, previous: DispatchWindow | None) -> dict[str, str | float]:
    """A dispatch moved or resized (previous given) or newly planned (previous empty)."""
    return {
        **_tokens(window),
        "previous_start": _iso(previous.start) if previous else "",
        "previous_end": _iso(previous.end) if previous else "",
    }


def _elapsed_now(
    before: DeviceObservation | None,
    after: list[DispatchWindow],
    polled_at: datetime,
    now: datetime,
) -> list[DispatchWindow]:
    """Windows of the previous poll that are gone now but have (partly) run."""
    if before is None:
        return []
    ran = []
    for window in before.windows():
        if window in after:
            continue
        if window.end <= now:
            ran.append(window)
        elif (
            window.type == DispatchType.SMART
            and before.device_state == IN_PROGRESS
            and window.start <= polled_at < window.end
        ):
            ran.append(DispatchWindow(window.start, now, window.type))
    return ran


def _running(
    windows: list[DispatchWindow], kind: DispatchType, when: datetime, state: str | None
) -> tuple[bool, DispatchWindow | None]:
    active = [w for w in windows if w.type == kind and w.start <= when < w.end]
    running = bool(active) or (kind == DispatchType.BOOST and state == BOOSTING)
    return running, active[0] if active else None


def _plan_events(
    device_id: str,
    before: DeviceObservation | None,
    after: DeviceObservation | None,
    polled_at: datetime,
    now: datetime,
) -> list[DispatchEvent]:
    old = before.windows() if before else []
    new = after.windows() if after else []
    events: list[DispatchEvent] = []
    for kind, started, ended in (
        (DispatchType.SMART, "dispatch_started", "dispatch_ended"),
        (DispatchType.BOOST, "boost_started", "boost_ended"),
    ):
        was, was_window = _running(old, kind, polled_at, before.device_state if before else None)
        is_, is_window = _running(new, kind, now, after.device_state if after else None)
        if is_ and not was:
            events.append(DispatchEvent(device_id, started, _tokens(is_window)))
        if was and not is_:
            events.append(DispatchEvent(device_id, ended, _tokens(was_window)))
    smart_old = [w for w in old if w.type == DispatchType.SMART]
    smart_new = [w for w in new if w.type == DispatchType.SMART]
    for window in smart_old:
        if polled_at < window.end <= now:
            events.append(DispatchEvent(device_id, "dispatch_completed", _tokens(window)))
    added = [w for w in smart_new if w not in smart_old and w.end > now]
    for window in smart_old:
        if window in smart_new or window.end <= now:
            continue
        replacement = next(
            (a for a in added if a.start < window.end and window.start < a.end), None
        )
        if replacement is None:
            events.append(DispatchEvent(device_id, "dispatch_cancelled", _tokens(window)))
        else:
            added.remove(replacement)
            events.append(
                DispatchEvent(device_id, "dispatch_changed", _changed(replacement, window))
            )
    events += [DispatchEvent(device_id, "dispatch_changed", _changed(w, None)) for w in added]
    return events


def observe_dispatches(
    ledger: DispatchLedger,
    observations: Mapping[str, DeviceObservation],
    now: datetime,
    *,
    keep: timedelta = timedelta(days=2),
) -> tuple[DispatchLedger, list[DispatchEvent]]:
    """Fold a successful poll into the ledger; events compare it with the previous one.

    Only successful polls come here, so a failed poll never makes an event. The first
    poll sets the baseline and makes none.
    """
    elapsed: dict[str, tuple[DispatchWindow, ...]] = {}
    events: list[DispatchEvent] = []
    for device_id in sorted(set(observations) | set(ledger.elapsed)):
        before = ledger.observed.get(device_id)
        observation = observations.get(device_id)
        after = observation.windows() if observation else []
        ran = (
            _elapsed_now(before, after, ledger.polled_at, now)
            if ledger.polled_at is not None
            else []
        )
        kept = [w for w in [*ledger.elapsed.get(device_id, ()), *ran] if w.end > now - keep]
        if kept:
            elapsed[device_id] = tuple(merge_windows(kept))
        if ledger.polled_at is not None:
            events += _plan_events(device_id, before, observation, ledger.polled_at, now)
    return DispatchLedger(now, dict(observations), elapsed), events
