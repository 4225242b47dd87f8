"""Octoplus rules (kraken_core.domain.octoplus): which events are the household's, which is
on and next, and the triggers a read and the clock make, each once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kraken_core.domain.octoplus import (
    ENDED_WAIT,
    AnnouncedEvent,
    FlexEvent,
    FlexKind,
    FlexLedger,
    FlexTrigger,
    JoinedEvent,
    event_kind,
    flex_clock,
    flex_read,
    flex_status,
    for_region,
    household_events,
    mark_joined,
    next_joinable,
    sessions_to_join,
)

REGION = 12


def at(hh_mm: str, day: int = 10) -> datetime:
    hour, minute = (int(part) for part in hh_mm.split(":"))
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def announced(
    event_id: int,
    start: str,
    end: str,
    *,
    regions: tuple[int, ...] = (),
    dev: bool = False,
    event_type: str | None = "TURN_DOWN",
    reward: int | None = 1800,
) -> AnnouncedEvent:
    return AnnouncedEvent(
        id=event_id,
        code=f"EVENT_{event_id}",
        start=at(start),
        end=at(end),
        reward_per_kwh=reward,
        dev_event=dev,
        event_type=event_type,
        region_ids=regions,
    )


def session(event_id: int, start: str, end: str, **changes: object) -> FlexEvent:
    fields: dict[str, object] = {
        "id": event_id,
        "code": f"EVENT_{event_id}",
        "kind": FlexKind.SAVING_SESSION,
        "start": at(start),
        "end": at(end),
        "reward_per_kwh": 1800,
    }
    return FlexEvent(**(fields | changes))  # type: ignore[arg-type]


def cards(triggers: list[FlexTrigger]) -> list[str]:
    return [t.card for t in triggers]


# --- which events count ------------------------------------------------------------------


def test_the_households_region_or_national_never_a_test_event() -> None:
    events = household_events(
        [
            announced(1, "17:00", "18:00", regions=(REGION,)),
            announced(2, "17:00", "18:00", regions=(14,)),
            announced(3, "17:00", "18:00"),  # national
            announced(4, "17:00", "18:00", dev=True),
            announced(5, "17:00", "18:00", regions=(11, REGION, 13)),
        ],
        REGION,
    )
    assert [e.id for e in events] == [1, 3, 5]


def test_without_a_known_region_only_national_events_count() -> None:
    assert for_region((), None)
    assert not for_region((REGION,), None)
    assert [e.id for e in household_events([announced(1, "17:00", "18:00")], None)] == [1]


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("TURN_DOWN", FlexKind.SAVING_SESSION),
        ("TURN_UP", FlexKind.POWER_UP),
        (None, FlexKind.SAVING_SESSION),  # events before power-ups had no type
    ],
)
def test_turn_down_is_a_saving_session_turn_up_a_power_up(
    event_type: str | None, kind: FlexKind
) -> None:
    assert event_kind(event_type) == kind


def test_joined_events_carry_the_points_once_given() -> None:
    events = household_events(
        [announced(1, "17:00", "18:00"), announced(2, "19:00", "20:00")],
        REGION,
        [JoinedEvent(1, 240)],
    )
    assert [(e.joined, e.points) for e in events] == [(True, 240), (False, None)]


# --- on now, next -----------------------------------------------------------------------


def test_a_session_is_on_from_its_start_to_just_before_its_end() -> None:
    event = session(1, "17:30", "18:00")
    assert not event.active(at("17:29"))
    assert event.active(at("17:30"))
    assert event.active(at("17:59"))
    assert not event.active(at("18:00"))


def test_next_is_the_running_one_else_the_next_and_power_ups_are_kept_apart() -> None:
    power_up = session(9, "17:00", "20:00", kind=FlexKind.POWER_UP)
    first, second = session(1, "17:30", "18:00"), session(2, "19:00", "19:30")
    events = [second, power_up, first]
    before = flex_status(events, FlexKind.SAVING_SESSION, at("17:10"))
    during = flex_status(events, FlexKind.SAVING_SESSION, at("17:45"))
    after = flex_status(events, FlexKind.SAVING_SESSION, at("18:00"))
    assert (before.active, before.next) == (False, first)
    assert (during.active, during.next) == (True, first)
    assert (after.active, after.next) == (False, second)
    assert flex_status(events, FlexKind.POWER_UP, at("17:10")) == flex_status(
        [power_up], FlexKind.POWER_UP, at("17:10")
    )
    assert flex_status(events, FlexKind.POWER_UP, at("17:10")).active
    assert flex_status(events, FlexKind.SAVING_SESSION, at("20:00")).next is None


def test_the_next_joinable_session_has_not_started_and_is_not_joined() -> None:
    running = session(1, "17:00", "18:00")
    joined = session(2, "18:30", "19:00", joined=True)
    power_up = session(3, "18:40", "19:00", kind=FlexKind.POWER_UP)
    open_one = session(4, "19:30", "20:00")
    events = [open_one, power_up, joined, running]
    assert next_joinable(events, at("17:10")) == open_one
    assert next_joinable(events, at("16:59")) == running
    assert next_joinable(mark_joined(events, open_one.code), at("17:10")) is None
    assert sessions_to_join(events, at("16:59"), tried=[running.code]) == [open_one]


# --- triggers -----------------------------------------------------------------------------


def test_the_first_read_is_the_baseline_later_ones_announce_what_is_new() -> None:
    known, new = session(1, "17:30", "18:00"), session(2, "19:00", "19:30")
    ledger, first = flex_read(FlexLedger(), [known], at("16:40"))
    ledger, second = flex_read(ledger, [known, new], at("16:55"))
    _, third = flex_read(ledger, [known, new], at("17:10"))
    assert first == []
    assert second == [
        FlexTrigger(
            "saving_session_announced",
            {
                "code": "EVENT_2",
                "start": "2026-03-10T19:00:00Z",
                "end": "2026-03-10T19:30:00Z",
                "duration_minutes": 30,
                "reward_per_kwh": 1800,
                "joined": False,
            },
        )
    ]
    assert third == []


def test_a_past_event_listed_later_is_not_news() -> None:
    ledger, _ = flex_read(FlexLedger(), [], at("16:40"))
    _, triggers = flex_read(ledger, [session(1, "15:00", "16:00")], at("16:55"))
    assert triggers == []


def run_clock(ledger: FlexLedger, start: datetime, end: datetime) -> tuple[FlexLedger, list[str]]:
    """The clock looked at every minute from ``start`` to ``end``; the cards fired."""
    fired: list[str] = []
    now = start
    while now <= end:
        ledger, triggers = flex_clock(ledger, now)
        fired += [
            f"{t.card}:{t.tokens['minutes']}" if "minutes" in t.tokens else t.card for t in triggers
        ]
        now += timedelta(minutes=1)
    return ledger, fired


def test_lead_times_start_and_end_each_fire_once() -> None:
    event = session(1, "17:30", "18:00")
    ledger, _ = flex_read(FlexLedger(), [], at("14:00"))
    ledger, announced_now = flex_read(ledger, [event], at("15:00"))
    ledger, fired = run_clock(ledger, at("15:00"), at("17:59"))
    ledger, _ = flex_read(ledger, [event], at("18:00"))  # the read after the end
    ledger, more = run_clock(ledger, at("18:00"), at("19:00"))
    assert cards(announced_now) == ["saving_session_announced"]
    assert fired == [
        "saving_session_starts_in:120",
        "saving_session_starts_in:60",
        "saving_session_starts_in:30",
        "saving_session_starts_in:15",
        "saving_session_starts_in:10",
        "saving_session_starts_in:5",
        "saving_session_started",
    ]
    assert more == ["saving_session_ended"]
    assert ledger.events == {}


def test_a_session_announced_late_skips_the_lead_times_already_past() -> None:
    ledger, _ = flex_read(FlexLedger(), [], at("16:00"))
    ledger, _ = flex_read(ledger, [session(1, "17:30", "18:00")], at("17:08"))
    _, fired = run_clock(ledger, at("17:08"), at("17:40"))
    assert fired == [
        "saving_session_starts_in:15",
        "saving_session_starts_in:10",
        "saving_session_starts_in:5",
        "saving_session_started",
    ]


def test_a_moment_the_bridge_missed_by_more_than_two_minutes_is_not_fired_late() -> None:
    ledger, _ = flex_read(FlexLedger(), [session(1, "17:30", "18:00")], at("16:00"))
    ledger, late = flex_clock(ledger, at("17:11"))  # asleep from 16:00 to 17:11
    ledger, on_time = flex_clock(ledger, at("17:15"))
    ledger, start = flex_clock(ledger, at("17:31"))
    assert late == []
    assert cards(on_time) == ["saving_session_starts_in"]
    assert cards(start) == ["saving_session_started"]


def test_the_end_waits_for_the_read_with_the_points_but_not_for_ever() -> None:
    event = session(1, "17:30", "18:00", joined=True)
    ledger, _ = flex_read(FlexLedger(), [event], at("17:20"))
    ledger, _ = run_clock(ledger, at("17:20"), at("17:59"))
    ledger, waiting = flex_clock(ledger, at("18:00"))
    assert waiting == []
    with_points = session(1, "17:30", "18:00", joined=True, points=240)
    read, _ = flex_read(ledger, [with_points], at("18:00") + timedelta(seconds=15))
    _, ended = flex_clock(read, at("18:00") + timedelta(seconds=15))
    assert ended == [
        FlexTrigger(
            "saving_session_ended",
            {
                "code": "EVENT_1",
                "start": "2026-03-10T17:30:00Z",
                "end": "2026-03-10T18:00:00Z",
                "duration_minutes": 30,
                "reward_per_kwh": 1800,
                "joined": True,
                "points": 240,
                "points_reported": True,
            },
        )
    ]
    # no read after the end: announced ENDED_WAIT later, without points
    _, without = flex_clock(ledger, at("18:00") + ENDED_WAIT)
    assert [(t.card, t.tokens["points"], t.tokens["points_reported"]) for t in without] == [
        ("saving_session_ended", None, False)
    ]


def test_power_ups_fire_their_own_cards_at_their_edges() -> None:
    power_up = session(7, "18:05", "18:15", kind=FlexKind.POWER_UP, reward_per_kwh=None)
    ledger, _ = flex_read(FlexLedger(), [], at("16:00"))
    ledger, news = flex_read(ledger, [power_up], at("16:55"))
    _, fired = run_clock(ledger, at("16:55"), at("18:20"))
    assert cards(news) == ["power_up_announced"]
    assert news[0].tokens == {
        "code": "EVENT_7",
        "start": "2026-03-10T18:05:00Z",
        "end": "2026-03-10T18:15:00Z",
        "duration_minutes": 10,
    }
    assert fired == ["power_up_started", "power_up_ended"]


def test_a_session_dropped_before_its_start_is_forgotten_a_started_one_still_ends() -> None:
    cancelled, running = session(1, "19:00", "19:30"), session(2, "17:00", "18:00")
    ledger, _ = flex_read(FlexLedger(), [cancelled, running], at("16:50"))
    ledger, _ = run_clock(ledger, at("16:50"), at("17:05"))
    ledger, _ = flex_read(ledger, [], at("17:10"))
    assert set(ledger.events) == {running.id}
    assert ledger.next_edge(at("17:10")) == at("18:00")
    ledger, fired = run_clock(ledger, at("17:10"), at("18:10"))
    assert fired == ["saving_session_ended"]
    assert ledger.next_edge(at("18:10")) is None


def test_the_next_edge_is_the_next_moment_a_trigger_or_state_may_change() -> None:
    ledger, _ = flex_read(FlexLedger(), [session(1, "17:30", "18:00")], at("17:00"))
    assert ledger.next_edge(at("17:00")) == at("17:15")  # 30 minutes before: passed
    assert ledger.next_edge(at("17:25")) == at("17:30")
    assert ledger.next_edge(at("17:30")) == at("18:00")
    assert ledger.next_edge(at("18:00")) == at("18:00") + ENDED_WAIT
