"""The one clock of the service.

Nothing in the project reads the wall clock directly: the engine, the bridge and the
simulator are handed a :class:`Clock`. The real service uses :class:`SystemClock`; the
demo uses :class:`ScenarioClock` (the scenario's start, running at a chosen speed); the
``snapshot`` command and tests use :class:`SimulatedClock`, which jumps instead of
waiting, so a simulated day passes in seconds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What every time-dependent part of the service is given."""

    def now(self) -> datetime:
        """The current time, UTC-aware."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once ``now() >= when`` (at once if it already is)."""
        ...


def _require_aware(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime {when.isoformat()} given where a UTC time is needed")
    return when.astimezone(UTC)


class SystemClock:
    """The wall clock, for the real service."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        delay = (_require_aware(when) - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class ScenarioClock:
    """Scenario time that runs with the wall clock, ``speed`` times faster.

    The demo starts at the scenario's ``start`` and lets its day unfold; a speed of 60
    shows a simulated hour every real minute. ``began_at`` (default: now) is the wall
    time at which scenario time was ``start``: two clocks given the same three values
    agree, so a simulator and a service built apart share one scenario time.
    """

    def __init__(
        self, start: datetime, speed: float = 1.0, *, began_at: datetime | None = None
    ) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self._start = _require_aware(start)
        self._speed = speed
        self._origin = time.monotonic()
        if began_at is not None:
            self._origin -= (datetime.now(UTC) - _require_aware(began_at)).total_seconds()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self._speed
        return self._start + timedelta(seconds=elapsed)

    async def sleep_until(self, when: datetime) -> None:
        delay = (_require_aware(when) - self.now()).total_seconds() / self._speed
        if delay > 0:
            await asyncio.sleep(delay)


class SimulatedClock:
    """A clock that only moves when told to; ``sleep_until`` jumps to the target."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        when = _require_aware(when)
        if when < self._now:
            raise ValueError(f"the simulated clock cannot go back from {self._now} to {when}")
        self._now = when

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    async def sleep_until(self, when: datetime) -> None:
        when = _require_aware(when)
        if when > self._now:
            self._now = when
        await asyncio.sleep(0)
