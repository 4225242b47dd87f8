"""Octoplus saving sessions and power-ups: which events are the household's, which one is
on now and which comes next, and what happened between two looks (flow-card triggers).

Facts (../shared/kraken/README.md, "Octoplus and saving sessions"): an event counts for
the household when it targets the household's region or no region at all (national), and
never when it is one of Octopus's test events (``devEvent``). ``TURN_DOWN`` is a saving
session (use less, paid in OctoPoints per kWh saved), ``TURN_UP`` a power-up (use more);
an event without a type is a saving session, as every event was before power-ups. An
event is on for start <= now < end. Joining is refused once a session has started.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class FlexKind(StrEnum):
    SAVING_SESSION = "saving_session"
    POWER_UP = "power_up"


TURN_UP = "TURN_UP"
#: "Starts in N minutes": the lead times a saving session is announced at before it starts.
LEAD_MINUTES: tuple[int, ...] = (5, 10, 15, 30, 60, 120)
#: A lead time or start the bridge was not running for fires if it is at most this late.
CATCH_UP = timedelta(minutes=2)
#: A saving session's end is announced with the first read after it (that read may bring
#: the points); if no read succeeds this long after the end, it is announced without them.
ENDED_WAIT = timedelta(minutes=3)


@dataclass(frozen=True)
class AnnouncedEvent:
    """An event as Kraken lists it (``savingSessions.events``)."""

    id: int
    code: str
    start: datetime
    end: datetime
    reward_per_kwh: int | None
    dev_event: bool
    event_type: str | None
    region_ids: tuple[int, ...]  # empty: national


@dataclass(frozen=True)
class JoinedEvent:
    """The account's part in an event (``savingSessions.account.joinedEvents``)."""

    event_id: int
    points: int | None  # rewardGivenInOctoPoints: None until Octopus has settled it


@dataclass(frozen=True)
class FlexEvent:
    """A saving session or power-up the household can take part in."""

    id: int
    code: str
    kind: FlexKind
    start: datetime
    end: datetime
    reward_per_kwh: int | None
    joined: bool = False
    points: int | None = None

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end


def event_kind(event_type: str | None) -> FlexKind:
    return FlexKind.POWER_UP if event_type == TURN_UP else FlexKind.SAVING_SESSION


def for_region(region_ids: Sequence[int], household_region: int | None) -> bool:
    """National events (no region) are everyone's; a targeted one only its regions'
    (a household whose region Kraken does not give takes part in national events only)."""
    return not region_ids or (household_region is not None and household_region in region_ids)


def household_events(
    announced: Iterable[AnnouncedEvent],
    household_region: int | None,
    joined: Iterable[JoinedEvent] = (),
) -> tuple[FlexEvent, ...]:
    """The events the household can take part in, by start: its region's or national,
    never a test event, each with whether the account joined it and the points given."""
    taken = {entry.event_id: entry for entry in joined}
    events = [
        FlexEvent(
            id=event.id,
            code=event.code,
            kind=event_kind(event.event_type),
            start=event.start,
            end=event.end,
            reward_per_kwh=event.reward_per_kwh,
            joined=event.id in taken,
            points=taken[event.id].points if event.id in taken else None,
        )
        for event in announced
        if not event.dev_event and for_region(event.region_ids, household_region)
    ]
    return tuple(sorted(events, key=lambda e: (e.start, e.id)))


@dataclass(frozen=True)
class FlexStatus:
    """One kind of event now: whether one is on, and the one running or next."""

    active: bool
    next: FlexEvent | None  # the event running now, else the next one to start


def flex_status(events: Iterable[FlexEvent], kind: FlexKind, now: datetime) -> FlexStatus:
    mine = sorted((e for e in events if e.kind == kind and e.end > now), key=lambda e: e.start)
    return FlexStatus(active=any(e.active(now) for e in mine), next=mine[0] if mine else None)


def next_joinable(events: Iterable[FlexEvent], now: datetime) -> FlexEvent | None:
    """The next saving session the account has not joined and can still join (it has not
    started: Kraken refuses a join after the start)."""
    return next(
        (
            e
            for e in sorted(events, key=lambda e: e.start)
            if e.kind == FlexKind.SAVING_SESSION and not e.joined and e.start > now
        ),
        None,
    )


def sessions_to_join(
    events: Iterable[FlexEvent], now: datetime, tried: Iterable[str]
) -> list[FlexEvent]:
    """Saving sessions to join automatically: not joined, not started, not tried before."""
    done = set(tried)
    return [
        e
        for e in sorted(events, key=lambda e: e.start)
        if e.kind == FlexKind.SAVING_SESSION
        and not e.joined
        and e.start > now
        and e.code not in done
    ]


# --- what happened: the triggers ----------------------------------------------------------


@dataclass(frozen=True)
class FlexTrigger:
    """A flow-card trigger of the Energy Account (card ids as the shim knows them)."""

    card: str  # saving_session_announced|starts_in|started|ended, power_up_announced|…
    tokens: Mapping[str, str | int | bool | None]


@dataclass(frozen=True)
class FlexLedger:
    """What the engine remembers between looks.

    ``known`` holds every event id ever seen (Kraken keeps listing past events, which are
    not news); ``events`` the household's events not yet announced as ended, as last
    read; ``fired`` the moments already announced: ``(id, "started")``, ``(id, "ended")``,
    ``(id, minutes)`` for "starts in". ``read_at`` is the last successful read.
    """

    baseline: bool = False
    read_at: datetime | None = None
    known: frozenset[int] = frozenset()
    events: Mapping[int, FlexEvent] = field(default_factory=dict)
    fired: frozenset[tuple[int, int | str]] = frozenset()

    def next_edge(self, now: datetime) -> datetime | None:
        """The next moment a trigger may be due or a state changes after ``now``."""
        edges: list[datetime] = []
        for event in self.events.values():
            edges += [event.start, event.end]
            if event.kind == FlexKind.SAVING_SESSION:
                edges.append(event.end + ENDED_WAIT)
                edges += [
                    event.start - timedelta(minutes=m)
                    for m in LEAD_MINUTES
                    if (event.id, m) not in self.fired
                ]
        return min((t for t in edges if t > now), default=None)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tokens(event: FlexEvent) -> dict[str, str | int | bool | None]:
    tokens: dict[str, str | int | bool | None] = {
        "code": event.code,
        "start": _iso(event.start),
        "end": _iso(event.end),
        "duration_minutes": int((event.end - event.start).total_seconds() // 60),
    }
    if event.kind == FlexKind.SAVING_SESSION:
        tokens |= {"reward_per_kwh": event.reward_per_kwh, "joined": event.joined}
    return tokens


def _passed(event: FlexEvent, now: datetime) -> set[tuple[int, int | str]]:
    """The moments of ``event`` already behind ``now`` (not to be announced late)."""
    moments: set[tuple[int, int | str]] = {
        (event.id, m) for m in LEAD_MINUTES if event.start - timedelta(minutes=m) <= now
    }
    if event.start <= now:
        moments.add((event.id, "started"))
    if event.end <= now:
        moments.add((event.id, "ended"))
    return moments


def flex_read(
    ledger: FlexLedger, events: Sequence[FlexEvent], now: datetime
) -> tuple[FlexLedger, list[FlexTrigger]]:
    """Fold a successful read into the ledger: an event not seen before is announced.

    The first read sets the baseline and announces nothing (the sessions already listed
    when the bridge starts are not news). An event read for the first time after one of
    its moments (a lead time, its start) does not announce that moment late. An event
    Kraken stops listing before it starts is dropped (cancelled); one that has started
    stays until its end is announced.
    """
    triggers: list[FlexTrigger] = []
    fired = set(ledger.fired)
    listed = {event.id: event for event in events}
    for event in events:
        if event.id in ledger.known:
            continue
        fired |= _passed(event, now)
        if ledger.baseline and event.end > now:
            triggers.append(FlexTrigger(f"{event.kind.value}_announced", _tokens(event)))
    kept = {
        event_id: event
        for event_id, event in ledger.events.items()
        if event_id not in listed and event.start <= now and (event_id, "ended") not in fired
    }
    current = {event.id: event for event in events if (event.id, "ended") not in fired} | kept
    updated = FlexLedger(
        baseline=True,
        read_at=now,
        known=ledger.known | frozenset(listed),
        events=current,
        fired=frozenset(fired),
    )
    return updated, triggers


def flex_clock(ledger: FlexLedger, now: datetime) -> tuple[FlexLedger, list[FlexTrigger]]:
    """The moments the clock has reached since the last look: lead times and starts (each
    fired at most ``CATCH_UP`` late), and ends (a saving session's with the first read
    after it, for the points, or ``ENDED_WAIT`` after it without)."""
    triggers: list[FlexTrigger] = []
    fired = set(ledger.fired)
    events = dict(ledger.events)
    for event in sorted(ledger.events.values(), key=lambda e: (e.start, e.id)):
        if event.kind == FlexKind.SAVING_SESSION:
            for minutes in sorted(LEAD_MINUTES, reverse=True):
                at = event.start - timedelta(minutes=minutes)
                if (event.id, minutes) in fired or at > now:
                    continue
                fired.add((event.id, minutes))
                if now < min(at + CATCH_UP, event.start):
                    tokens = {"minutes": minutes, **_tokens(event)}
                    triggers.append(FlexTrigger("saving_session_starts_in", tokens))
        if (event.id, "started") not in fired and event.start <= now:
            fired.add((event.id, "started"))
            if now < min(event.start + CATCH_UP, event.end):
                triggers.append(FlexTrigger(f"{event.kind.value}_started", _tokens(event)))
        if (event.id, "ended") not in fired and event.end <= now:
            read_after = ledger.read_at is not None and ledger.read_at >= event.end
            waiting = event.kind == FlexKind.SAVING_SESSION and not read_after
            if waiting and now < event.end + ENDED_WAIT:
                continue
            fired.add((event.id, "ended"))
            del events[event.id]
            tokens = _tokens(event)
            if event.kind == FlexKind.SAVING_SESSION:
                tokens |= {"points": event.points, "points_reported": event.points is not None}
            triggers.append(FlexTrigger(f"{event.kind.value}_ended", tokens))
    return replace(ledger, events=events, fired=frozenset(fired)), triggers


def mark_joined(events: Sequence[FlexEvent], code: str) -> tuple[FlexEvent, ...]:
    """``events`` with the one of ``code`` joined (Kraken confirmed the join)."""
    return tuple(replace(e, joined=True) if e.code == code else e for e in events)
