"""What a user (a Homey flow) can ask a device to do, carried out through the engine.

Every refusal is an :class:`ActionError` whose message is the sentence to show the user:
Octopus's boost refusal reason, Octopus's reason for refusing a saving-session join or a
spin of the wheel, a refresh asked for too soon, a device of the wrong kind, a body that
does not fit the action.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import ValidationError

from kraken_core.api.events import to_json_value
from kraken_core.api.models import (
    ACTION_BODIES,
    ActionBody,
    ActionError,
    ActionResult,
    ChargeTarget,
    CheapestWindowQuery,
    JoinSavingSession,
    NoBody,
    SpinWheel,
    readable,
)
from kraken_core.domain.charge_target import changed_week
from kraken_core.domain.cheapest import cheapest_window, clock_range, most_expensive_window
from kraken_core.domain.octoplus import FlexEvent, FlexKind, next_joinable
from kraken_core.domain.timeline import LONDON, slot_start
from kraken_core.engine.engine import Engine
from kraken_core.engine.refresh import RefreshRefused
from kraken_core.engine.tariffs import rate_window
from kraken_core.kraken.classify import THROTTLE_PAUSE
from kraken_core.kraken.errors import (
    KrakenActionRefused,
    KrakenBudgetSpent,
    KrakenError,
    KrakenThrottled,
)
from kraken_core.kraken.models import DAYS_OF_WEEK, PreferenceSchedule

SMART_ACTIONS = (
    "boost",
    "cancel_boost",
    "refresh_dispatches",
    "plug_in_hint",
    "unplug_hint",
    "set_charge_target",
    "suspend_smart_control",
    "resume_smart_control",
)
TARIFF_ACTIONS = ("find_cheapest_window",)
ACCOUNT_ACTIONS = ("join_saving_session", "spin_wheel")
REFRESH_REASONS = {
    "refresh_dispatches": ("manual", "Refreshing the planned dispatches now."),
    "plug_in_hint": ("plug_in", "Looking for the car's new state and charging schedule."),
    "unplug_hint": ("unplug", "The car's state and schedule will be checked in about a minute."),
}


def actions_for(kind: str) -> tuple[str, ...]:
    if kind == "smart_energy_device":
        return SMART_ACTIONS
    if kind in ("import_tariff", "export_tariff"):
        return TARIFF_ACTIONS
    if kind == "energy_account":
        return ACCOUNT_ACTIONS
    return ()


def parse_body(action: str, body: Mapping[str, object] | None) -> ActionBody:
    """The action's body, checked; a 422 that names the field otherwise."""
    model = ACTION_BODIES.get(action, NoBody)
    try:
        parsed = model.model_validate(body or {})
    except ValidationError as exc:
        raise ActionError(422, f"{action}: {readable(exc)}") from None
    assert isinstance(parsed, ActionBody)
    return parsed


async def perform(
    engine: Engine, device_id: str, action: str, body: Mapping[str, object] | None
) -> ActionResult:
    """Carry out ``action`` on ``device_id``."""
    parsed = parse_body(action, body)
    record = engine.hub.devices.get(device_id)
    if record is None:
        raise ActionError(404, f"No device {device_id!r} on this bridge.")
    if action not in actions_for(record.kind):
        allowed = ", ".join(actions_for(record.kind)) or "none"
        raise ActionError(
            400, f"A {record.kind.replace('_', ' ')} cannot {action}; its actions: {allowed}."
        )
    if isinstance(parsed, CheapestWindowQuery):
        return _cheapest(engine, device_id, parsed)
    if isinstance(parsed, JoinSavingSession):
        return await _join_saving_session(engine, parsed)
    if isinstance(parsed, SpinWheel):
        return await _spin_wheel(engine, parsed)
    kraken_id = device_id.split(".", 1)[1]
    if action in REFRESH_REASONS:
        return _refresh(engine, kraken_id, action)
    assert isinstance(parsed, NoBody | ChargeTarget)
    return await _ask_octopus(engine, kraken_id, action, parsed)


def _refresh(engine: Engine, kraken_id: str, action: str) -> ActionResult:
    reason, message = REFRESH_REASONS[action]
    try:
        runs_at = engine.request_dispatch_refresh(kraken_id, reason)
    except RefreshRefused as exc:
        raise ActionError(429, str(exc), exc.retry_at) from None
    return ActionResult(status=202, body={"message": message, "runs_at": to_json_value(runs_at)})


async def _ask_octopus(
    engine: Engine, kraken_id: str, action: str, body: NoBody | ChargeTarget
) -> ActionResult:
    client = engine.client
    try:
        if action == "boost":
            await client.boost(kraken_id)
            message = "Boost charging started."
        elif action == "cancel_boost":
            await client.cancel_boost(kraken_id)
            message = "Boost charging cancelled."
        elif action in ("suspend_smart_control", "resume_smart_control"):
            enabled = action == "resume_smart_control"
            engine.device_changed(await client.set_smart_control(kraken_id, enabled=enabled))
            message = "Smart charging resumed." if enabled else "Smart charging suspended."
        else:
            assert isinstance(body, ChargeTarget)
            message = await _set_charge_target(engine, kraken_id, body)
    except KrakenActionRefused as exc:
        raise ActionError(409, str(exc)) from None
    except KrakenThrottled as exc:
        raise _try_later(engine, action, exc) from None
    except ValueError as exc:
        raise ActionError(422, str(exc)) from None
    except KrakenError as exc:
        raise ActionError(502, f"Octopus could not be asked: {exc}") from None
    # The schedule may change after any of these: look again soon (within the limits).
    with contextlib.suppress(RefreshRefused):  # if refused, regular polling picks it up
        engine.request_dispatch_refresh(kraken_id, "event")
    return ActionResult(status=200, body={"message": message})


async def _set_charge_target(engine: Engine, kraken_id: str, body: ChargeTarget) -> str:
    """Kraken takes the whole week at once: the days get what is given, and keep their own
    ready-by time or target (as last read) for what is left out."""
    known = engine.devices.devices.get(kraken_id)
    target = None if body.target_percent is None else float(body.target_percent)
    week = changed_week(
        known.charge_schedule if known else (), target=target, ready_by=body.ready_by
    )
    schedules = [
        PreferenceSchedule(
            day_of_week=DAYS_OF_WEEK[day.weekday],
            ready_by=day.ready_by,
            max_value=day.target,
            min_value=None,
        )
        for day in week
    ]
    engine.device_changed(await engine.client.set_device_preferences(kraken_id, schedules))
    if target is None:
        return f"Ready-by time set: {body.ready_by:%H:%M} every day, each day's target kept."
    if body.ready_by is None:
        return f"Charge target set: {target:g} % every day, each day's ready-by time kept."
    return f"Charge target set: {target:g} % by {body.ready_by:%H:%M} every day."


async def _join_saving_session(engine: Engine, body: JoinSavingSession) -> ActionResult:
    """Join the session ``body`` names, else the next one not joined that has not started.
    A session that has started is still asked for by code: Kraken gives the reason."""
    sessions = engine.octoplus.sessions
    now = engine.clock.now()
    if body.event_code is None:
        event = next_joinable(sessions.events, now)
        if event is None:
            raise ActionError(409, _nothing_to_join(engine))
    else:
        event = next(
            (
                e
                for e in sessions.events
                if e.code == body.event_code and e.kind == FlexKind.SAVING_SESSION
            ),
            None,
        )
        if event is None:
            raise ActionError(
                404,
                f"No saving session {body.event_code} is announced for this household "
                "(its region's or national); the next_saving_session_code field names the "
                "next one.",
            )
        if event.joined:
            return ActionResult(
                status=200,
                body={
                    "message": f"Already joined the {_when(event.start, event.end)} session.",
                    **_session(event),
                },
            )
    await _octoplus_change(engine, "join_saving_session", engine.octoplus.join(event, now))
    engine.wake()
    message = f"Joined the saving session {_when(event.start, event.end)}."
    return ActionResult(status=200, body={"message": message, **_session(event)})


T = TypeVar("T")


async def _octoplus_change(engine: Engine, action: str, change: Awaitable[T]) -> T:
    """Octopus's answer to a join or a spin; its refusal (409), a request to wait (429)
    or a failure to reach it (502) in words."""
    try:
        return await change
    except KrakenActionRefused as exc:
        raise ActionError(409, str(exc)) from None
    except KrakenThrottled as exc:
        raise _try_later(engine, action, exc) from None
    except KrakenError as exc:
        raise ActionError(502, f"Octopus could not be asked: {exc}") from None


def _nothing_to_join(engine: Engine) -> str:
    now = engine.clock.now()
    sessions = [
        e
        for e in engine.octoplus.sessions.events
        if e.kind == FlexKind.SAVING_SESSION and e.end > now
    ]
    if any(e.start > now for e in sessions):
        return "Every saving session announced for this household is joined already."
    running = next((e for e in sessions if e.start <= now), None)
    if running is not None:
        return (
            f"The saving session {_when(running.start, running.end)} has started, and "
            "Octopus takes no joins after the start; no later one is announced yet."
        )
    return (
        "No saving session is announced for this household yet; Octopus announces them "
        "hours to a day ahead."
    )


def _when(start: datetime, end: datetime) -> str:
    """``Tue 10 Mar 17:30-18:30`` in UK time."""
    start_uk, end_uk = start.astimezone(LONDON), end.astimezone(LONDON)
    return f"{start_uk:%a %d %b %H:%M}-{end_uk:%H:%M} (UK time)"


def _session(event: FlexEvent) -> dict[str, object]:
    return {
        "code": event.code,
        "start": to_json_value(event.start),
        "end": to_json_value(event.end),
        "reward_per_kwh": event.reward_per_kwh,
    }


async def _spin_wheel(engine: Engine, body: SpinWheel) -> ActionResult:
    """One spin of the Octoplus wheel for the fuel; the OctoPoints won."""
    change = engine.octoplus.spin(body.fuel, engine.clock.now())
    prize = await _octoplus_change(engine, "spin_wheel", change)
    engine.wake()
    won = f"{prize} OctoPoints" if prize is not None else "a prize Octopus did not name"
    return ActionResult(
        status=200,
        body={"message": f"The wheel gave {won}.", "prize": prize or 0, "fuel": body.fuel},
    )


def _try_later(engine: Engine, action: str, throttled: KrakenThrottled) -> ActionError:
    """A 429 with when to ask again: the bridge's own budget for the change is spent, or
    Kraken asked for fewer requests. Not a 502: nothing is broken, it is too soon."""
    retry_at = (throttled.retry_at or engine.clock.now() + THROTTLE_PAUSE).astimezone(UTC)
    what = action.replace("_", " ")
    if isinstance(throttled, KrakenBudgetSpent):
        why = f"The bridge has asked Octopus to {what} as often as it allows for now"
    else:
        why = f"Octopus asked for fewer requests ({throttled.code}) when asked to {what}"
    return ActionError(429, f"{why}; try again after {retry_at:%H:%M:%S} UTC.", retry_at)


def _cheapest(engine: Engine, device_id: str, query: CheapestWindowQuery) -> ActionResult:
    point = next((p for p in engine.account.meter_points if p.device_id == device_id), None)
    if point is None:
        raise ActionError(404, f"No tariff {device_id!r} on this bridge.")
    now = engine.clock.now()
    known_from, known_to = rate_window(now)
    outside = False  # a daily range that does not hold now
    if query.from_time is not None and query.to_time is not None:
        # A daily range ("between 22:00 and 07:00"): the whole of the one holding now, its
        # past part included, so the answer stays the same all through the range.
        earliest, range_end = clock_range(now, query.from_time, query.to_time)
        outside = now < earliest
        slots = engine.tariffs.slots(point.tariff_code, (min(earliest, known_from), known_to))
        latest = min(range_end, known_to)
    else:
        slots = engine.tariffs.slots(point.tariff_code, (known_from, known_to))
        # Prices are known for today and tomorrow only: a range reaching further is cut to
        # that, so a far `from` or `to` costs no more than a search of two days.
        earliest = max(query.from_ or slot_start(now), known_from)
        latest = min(query.to or (max(slots) + timedelta(minutes=30) if slots else now), known_to)
    search = most_expensive_window if query.highest else cheapest_window
    found = search(slots, timedelta(minutes=query.duration_minutes), earliest, latest)
    if found is None and outside:
        # Now is not in the range, whatever its prices: say so rather than fail (a flow
        # asking "is now inside…?" every few minutes gets its "no").
        return ActionResult(
            status=200,
            body={
                "start": None,
                "end": None,
                "average_unit_rate": None,
                "includes_now": False,
                "range_start": to_json_value(earliest),
                "range_end": to_json_value(latest),
            },
        )
    if found is None:
        raise ActionError(
            404,
            f"No {query.duration_minutes}-minute window between {to_json_value(earliest)}"
            f" and {to_json_value(latest)} has known prices yet; tomorrow's prices usually "
            "appear after 16:00.",
        )
    return ActionResult(
        status=200,
        body={
            "start": to_json_value(found.start),
            "end": to_json_value(found.end),
            "average_unit_rate": round(found.average_rate, 4),
            "includes_now": found.start <= now < found.end,
            "range_start": to_json_value(earliest),
            "range_end": to_json_value(latest),
        },
    )
