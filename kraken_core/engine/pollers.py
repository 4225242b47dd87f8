"""What every poller shares: when it next reads Kraken, how its reads went, and whether
what it holds has gone stale.

In the spirit of Home Assistant's DataUpdateCoordinator, each Kraken data kind has one
:class:`Poller` that owns its schedule (``next_due`` after a success), its backoff after a
failure, its last success and last error, and a staleness rule: a kind failing for longer
than ``stale_after`` makes the devices that depend on it unavailable, with a reason a
person understands, until its next success brings them back.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from kraken_core.api.models import PollerStatus
from kraken_core.clock import Clock
from kraken_core.domain.timeline import LONDON
from kraken_core.engine.settings import EngineSettings
from kraken_core.kraken.errors import KrakenError, KrakenNoData, KrakenThrottled

log = logging.getLogger(__name__)


class Pacing:
    """The engine's settings and the jitter every poll time gets (Octopus asks clients to
    stay off the :00 and :30 boundaries). Live kinds share one draw per live poll, so
    kinds due together stay due together and ride in one request."""

    def __init__(self, settings: EngineSettings, rng: random.Random) -> None:
        self.settings = settings
        self._rng = rng
        self.live_jitter_s = self.draw()

    def draw(self) -> float:
        low, high = self.settings.jitter_s
        return self._rng.uniform(low, high)

    def new_live_jitter(self) -> None:
        self.live_jitter_s = self.draw()

    def jittered(self, when: datetime, jitter_s: float | None = None) -> datetime:
        """``when`` moved off the minute boundary by a fresh draw or ``jitter_s``."""
        seconds = self.draw() if jitter_s is None else jitter_s
        return when.replace(second=0, microsecond=0) + timedelta(seconds=seconds)

    def live(self, when: datetime) -> datetime:
        return self.jittered(when, self.live_jitter_s)


class Poller:
    """One data kind's schedule and health. Subclasses say when the next read is due
    after a success (:meth:`next_due`) and what they bring, in words (``what``)."""

    def __init__(
        self,
        name: str,
        what: str,
        pacing: Pacing,
        due: datetime,
        stale_after: timedelta | None,
    ) -> None:
        self.name = name
        self.what = what  # e.g. "live meter readings", for the unavailable reason
        self.pacing = pacing
        self.due = due
        self.stale_after = stale_after
        self.failures = 0
        self.last_success: datetime | None = None
        self.last_error: str | None = None
        self.failing_since: datetime | None = None

    def next_due(self, now: datetime) -> datetime:
        """When to read again after a successful read at ``now``."""
        raise NotImplementedError

    async def poll(self, now: datetime) -> None:
        """Read this kind from Kraken on its own (the heavy kinds; live kinds are read
        together in one request, see :mod:`kraken_core.engine.live`)."""
        raise NotImplementedError

    async def run(self, clock: Clock) -> bool:
        """Poll and book the outcome; True when Kraken answered."""
        try:
            await self.poll(clock.now())
        except KrakenError as exc:
            self.record(clock.now(), exc)
            return isinstance(exc, KrakenNoData)
        self.record(clock.now(), None)
        return True

    def record(self, now: datetime, error: KrakenError | None, *, note: str | None = None) -> None:
        """Book a read's outcome: success schedules the next, failure backs off
        (1, 2, 3 … minutes, capped; a throttle waits for the time Kraken gives).
        ``note`` keeps what went wrong with a read that is not worth retrying."""
        if error is None or isinstance(error, KrakenNoData):
            # KrakenNoData is a temporary "nothing now": keep the cache, not a failure.
            self.failures, self.failing_since = 0, None
            self.last_error = note if error is None else str(error)
            self.last_success = now
            self.due = self.next_due(now)
            return
        self.failures += 1
        self.last_error = str(error)
        self.failing_since = self.failing_since or now
        self.due = self.retry_at(now, error)
        verb = "paused" if isinstance(error, KrakenThrottled) else "failed"
        log.warning("%s %s (%d in a row): %s", self.name, verb, self.failures, error)

    def retry_at(self, now: datetime, error: KrakenError) -> datetime:
        """When to try again after ``error``: when a throttle ends, else 1, 2, 3 …
        minutes more after each failure in a row, capped."""
        cap = self.pacing.settings.backoff_cap
        if isinstance(error, KrakenThrottled):
            return self.pacing.jittered(error.retry_at or now + cap)
        return self.pacing.live(now + min(timedelta(minutes=self.failures), cap))

    def stale_reason(self, now: datetime) -> str | None:
        """Why the devices that need this kind cannot be trusted now, or None."""
        if self.stale_after is None or self.failing_since is None:
            return None
        if now - self.failing_since < self.stale_after:
            return None
        since = (self.last_success or self.failing_since).astimezone(LONDON)
        today = since.date() == now.astimezone(LONDON).date()
        when = f"{since:%H:%M}" if today else f"{since:%d %b %H:%M}"
        error = (self.last_error or "no answer").rstrip(".")
        return (
            f"No {self.what} from Octopus since {when} (UK time): {error}. "
            "The bridge keeps trying; the device comes back by itself."
        )

    def status(self, now: datetime, horizon: timedelta | None = None) -> PollerStatus:
        """How this kind stands; ``next_due`` beyond ``horizon`` shows as not planned."""
        planned = horizon is None or self.due < now + horizon
        return PollerStatus(
            next_due=self.due if planned else None,
            last_success=self.last_success,
            failures_in_a_row=self.failures,
            last_error=self.last_error,
            stale=self.stale_reason(now),
        )
