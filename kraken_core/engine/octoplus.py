"""Octoplus: saving sessions and power-ups (Octopus's backend host), enrolment, points and
the wheel of fortune's spins (the main host), and joining sessions and spinning the wheel.

Schedules (../shared/kraken/README.md, "Octoplus and saving sessions": sessions are
announced hours to a day ahead, so hourly is enough to learn of them):

- ``saving_sessions``: hourly; from ``saving_sessions_near`` before a known event to its
  end every ``saving_sessions_near_interval``; and just after its start and its end (the
  read after the end brings the points Kraken gives). An account Kraken says is not in
  Octoplus: every ``octoplus_idle_interval``. A join is read back a minute later.
- ``octoplus``: every 3 hours (every ``octoplus_idle_interval`` outside Octoplus), and just
  after a joined session ends (the points it earns); a spin is read back a minute later.

Both back off 5, 10, 15 … minutes after failures (never further apart than their
interval) and go stale after ``octoplus_stale_after``: health reports them, while the
Energy Account stays available (its meter readings are another kind's).

Which events count and what a read or the clock makes of them are the domain's pure
rules (:mod:`kraken_core.domain.octoplus`); the triggers are published by the publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from kraken_core.clock import Clock
from kraken_core.domain.octoplus import (
    AnnouncedEvent,
    FlexEvent,
    JoinedEvent,
    household_events,
    mark_joined,
    sessions_to_join,
)
from kraken_core.engine.pollers import Pacing, Poller
from kraken_core.engine.tariffs import AccountPoller
from kraken_core.kraken.client import KrakenClient, OctoplusStatus, WheelFuel
from kraken_core.kraken.errors import KrakenActionRefused, KrakenError, KrakenThrottled
from kraken_core.kraken.models import SavingSessions

log = logging.getLogger(__name__)

#: A join or a spin is read back this soon (Kraken's own view of what changed).
READ_BACK = timedelta(minutes=1)
RETRY = timedelta(minutes=5)


class OctoplusPoller(Poller):
    """Octoplus enrolment, the OctoPoints balance and the wheel's spins left this month."""

    def __init__(
        self,
        client: KrakenClient,
        pacing: Pacing,
        now: datetime,
        account: AccountPoller,
        points_due: Callable[[], Iterable[datetime]] = tuple,
    ) -> None:
        super().__init__(
            "octoplus", "Octoplus points", pacing, now, pacing.settings.octoplus_stale_after
        )
        self._client = client
        self._account = account
        self._points_due = points_due  # when points may arrive: ends of joined sessions
        self.latest: OctoplusStatus | None = None

    @property
    def enrolled(self) -> bool | None:
        return self.latest.enrolled if self.latest else None

    def interval(self) -> timedelta:
        settings = self.pacing.settings
        idle = self.enrolled is False
        return settings.octoplus_idle_interval if idle else settings.octoplus_interval

    def next_due(self, now: datetime) -> datetime:
        soon = [t for t in self._points_due() if t > now]
        return self.pacing.jittered(min([now + self.interval(), *soon]))

    def retry_at(self, now: datetime, error: KrakenError) -> datetime:
        return _retry_at(self, now, error)

    async def poll(self, now: datetime) -> None:
        self.latest = await self._client.octoplus(with_gas=bool(self._account.gas_points))

    def spun(self, fuel: WheelFuel, prize: int | None) -> None:
        """What a spin changed, until the read back says it in Kraken's words."""
        status = self.latest
        if status is None:
            return
        electricity, gas = status.electricity_spins, status.gas_spins
        if fuel == "ELECTRICITY" and electricity:
            electricity -= 1
        if fuel == "GAS" and gas:
            gas -= 1
        points = status.points + (prize or 0) if status.points is not None else None
        self.latest = OctoplusStatus(status.enrolled, points, electricity, gas)


class SavingSessionsPoller(Poller):
    """The household's saving sessions and power-ups, whether each is joined, the points."""

    def __init__(
        self, client: KrakenClient, pacing: Pacing, now: datetime, octoplus: OctoplusPoller
    ) -> None:
        super().__init__(
            "saving_sessions", "saving sessions", pacing, now, pacing.settings.octoplus_stale_after
        )
        self._client = client
        self._octoplus = octoplus
        self.events: tuple[FlexEvent, ...] = ()
        self.region_id: int | None = None
        self.has_joined_campaign: bool | None = None

    def next_due(self, now: datetime) -> datetime:
        settings = self.pacing.settings
        idle = self._octoplus.enrolled is False and not self.events
        interval = settings.octoplus_idle_interval if idle else settings.saving_sessions_interval
        candidates = [now + interval]
        for event in self.events:
            if event.end <= now:
                continue
            near = event.start - settings.saving_sessions_near
            if near <= now:
                candidates.append(now + settings.saving_sessions_near_interval)
            candidates += [t for t in (near, event.start, event.end) if t > now]
        return self.pacing.jittered(min(candidates))

    def retry_at(self, now: datetime, error: KrakenError) -> datetime:
        return _retry_at(self, now, error)

    async def poll(self, now: datetime) -> None:
        self.take(await self._client.saving_sessions())

    def take(self, answer: SavingSessions) -> None:
        account = answer.account
        self.region_id = account.region_id if account else None
        self.has_joined_campaign = account.has_joined_campaign if account else None
        announced = [
            AnnouncedEvent(
                id=event.id,
                code=event.code,
                start=event.start,
                end=event.end,
                reward_per_kwh=event.reward_per_kwh_octopoints,
                dev_event=bool(event.dev_event),
                event_type=event.event_type,
                region_ids=tuple(
                    r.region_id for r in event.target_regions or () if r.region_id is not None
                ),
            )
            for event in answer.events
            if event.id is not None and event.code
        ]
        joined = [
            JoinedEvent(entry.event_id, entry.reward_given_octopoints)
            for entry in (account.joined_events if account else [])
            if entry.event_id is not None
        ]
        self.events = household_events(announced, self.region_id, joined)


def _retry_at(poller: Poller, now: datetime, error: KrakenError) -> datetime:
    """5, 10, 15 … minutes after failures, no further apart than the usual interval (a
    backend that keeps failing is not asked every minute); a throttle's own time."""
    if isinstance(error, KrakenThrottled):
        return Poller.retry_at(poller, now, error)
    interval = poller.next_due(now) - now
    return poller.pacing.jittered(now + min(RETRY * poller.failures, interval))


class Octoplus:
    """Both kinds, and the changes a household asks for: joining a saving session and
    spinning the wheel (each read back soon after)."""

    def __init__(
        self, client: KrakenClient, pacing: Pacing, now: datetime, account: AccountPoller
    ) -> None:
        self._client = client
        self.points = OctoplusPoller(client, pacing, now, account, self._joined_ends)
        self.sessions = SavingSessionsPoller(client, pacing, now, self.points)
        self.tried: set[str] = set()  # sessions joining automatically was refused for

    def _joined_ends(self) -> list[datetime]:
        return [e.end for e in self.sessions.events if e.joined]

    def pollers(self) -> tuple[Poller, ...]:
        return (self.sessions, self.points)

    @property
    def due(self) -> datetime:
        return min(self.sessions.due, self.points.due)

    async def run(self, clock: Clock) -> bool:
        """Read what is due; True when the saving sessions were read (news to publish)."""
        now = clock.now()
        if self.points.due <= now:
            await self.points.run(clock)
        return self.sessions.due <= now and await self.sessions.run(clock)

    async def join(self, event: FlexEvent, now: datetime) -> None:
        """Join ``event``; Kraken's refusal raises :class:`KrakenActionRefused`."""
        await self._client.join_saving_session(event.code)
        self.sessions.events = mark_joined(self.sessions.events, event.code)
        pacing = self.sessions.pacing
        self.sessions.due = min(self.sessions.due, pacing.jittered(now + READ_BACK))
        self.points.due = min(self.points.due, pacing.jittered(event.end))  # the points

    async def auto_join(self, now: datetime) -> list[tuple[FlexEvent, str]]:
        """Join every saving session not joined yet that has not started; the ones Kraken
        refuses, with its reason (each is tried once: a refusal is Kraken's answer). A
        throttle or failure leaves the rest for the next read."""
        refused: list[tuple[FlexEvent, str]] = []
        for event in sessions_to_join(self.sessions.events, now, self.tried):
            try:
                await self.join(event, now)
            except KrakenActionRefused as exc:
                self.tried.add(event.code)
                refused.append((event, str(exc)))
            except KrakenError as exc:
                log.warning("joining saving session %s automatically: %s", event.code, exc)
                break
            else:
                log.info("joined saving session %s automatically", event.code)
        return refused

    async def spin(self, fuel: WheelFuel, now: datetime) -> int | None:
        """Spin the wheel for ``fuel``; the OctoPoints won. Refusals raise."""
        prize = await self._client.spin_wheel(fuel)
        self.points.spun(fuel, prize)
        self.points.due = min(self.points.due, self.points.pacing.jittered(now + READ_BACK))
        return prize
