"""A smart device's charge target and smart control as a person reads them back.

Kraken keeps a charge target per weekday (``preferences.schedules``: a ready-by time and
a target, e.g. 80 % by 07:30) and answers ``setDevicePreferences`` only with all seven
days together, ready-by 04:00-11:00 in 30-minute steps (../shared/kraken/README.md,
"Intelligent Octopus"). A device shows one target and one ready-by time: those of the
next morning the car is to be ready, i.e. the first weekday's ready-by still to come in
UK time (at 22:00 on a Monday, Tuesday's; at 05:00 on a Monday, Monday's), so what the
tile shows is what tonight's charging aims at; ``same_every_day`` says whether the other
days agree. A change of one of the two keeps each day's other value as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from kraken_core.domain.timeline import LONDON

READY_BY_EARLIEST, READY_BY_LATEST = time(4, 0), time(11, 0)
#: Kraken's smart-control states that mean smart control is switched off.
SMART_CONTROL_OFF = "SMART_CONTROL_OFF"


@dataclass(frozen=True)
class WeekdayTarget:
    """One weekday of a charge target: ``weekday`` 0 is Monday (``date.weekday()``);
    ``ready_by`` a UK wall-clock time; ``target`` the goal in the schedule's unit (a
    percentage of the battery for a car), None when Kraken gives none."""

    weekday: int
    ready_by: time
    target: float | None


@dataclass(frozen=True)
class ChargeTargetNow:
    """What the device shows: the next ready-by's target and time, and whether every day
    of the week has the same pair."""

    target_percent: int | None
    ready_by: str | None  # "HH:MM"; None when Kraken's is not one it takes
    same_every_day: bool


def ready_by_allowed(ready_by: time) -> bool:
    """04:00 to 11:00 in 30-minute steps, as Kraken takes it."""
    return (
        READY_BY_EARLIEST <= ready_by <= READY_BY_LATEST
        and ready_by.minute % 30 == 0
        and not (ready_by.second or ready_by.microsecond)
    )


def charge_target_now(
    schedules: Sequence[WeekdayTarget], now: datetime, *, percent: bool = True
) -> ChargeTargetNow | None:
    """The schedule of the first ready-by time at or after ``now`` (UK time), or None
    without a schedule. ``percent``: the schedule's unit is a percentage (a car); any other
    unit (a heat pump's °C) shows no target percent."""
    if not schedules:
        return None
    local = now.astimezone(LONDON)
    by_day = {day.weekday: day for day in schedules}

    def next_ready_by(day: WeekdayTarget) -> timedelta:
        days_ahead = (day.weekday - local.weekday()) % 7
        if days_ahead == 0 and day.ready_by < local.time():
            days_ahead = 7  # today's has passed: next week's
        at = datetime.combine(local.date() + timedelta(days=days_ahead), day.ready_by, LONDON)
        return at - local

    upcoming = min(by_day.values(), key=next_ready_by)
    pairs = {(day.ready_by, day.target) for day in schedules}
    target = upcoming.target if percent else None
    return ChargeTargetNow(
        target_percent=None if target is None else round(target),
        ready_by=upcoming.ready_by.strftime("%H:%M")
        if ready_by_allowed(upcoming.ready_by)
        else None,
        same_every_day=len(pairs) == 1 and len(by_day) == 7,
    )


def changed_week(
    schedules: Sequence[WeekdayTarget],
    *,
    target: float | None = None,
    ready_by: time | None = None,
) -> list[WeekdayTarget]:
    """All seven days with ``target`` and/or ``ready_by`` changed, each day's other value
    kept. Raises ValueError, saying what to give, when a value to keep is not known (no
    schedule for a day, or a day without a target)."""
    if target is None and ready_by is None:
        raise ValueError("give target_percent, ready_by or both")
    by_day = {day.weekday: day for day in schedules}
    week: list[WeekdayTarget] = []
    for weekday in range(7):
        known = by_day.get(weekday)
        if known is None and (target is None or ready_by is None):
            raise ValueError(
                "Octopus has no charge target for every day of this device yet: give both "
                "target_percent and ready_by"
            )
        day = known or WeekdayTarget(weekday, time(0), None)
        day = replace(
            day,
            target=day.target if target is None else target,
            ready_by=day.ready_by if ready_by is None else ready_by,
        )
        if day.target is None:
            raise ValueError(
                "Octopus gives no charge target for some days of this device: give "
                "target_percent too"
            )
        week.append(day)
    return week


def smart_control_enabled(is_suspended: bool | None, device_state: str | None) -> bool | None:
    """Whether Octopus's smart control is on: Kraken's ``status.isSuspended`` when it says,
    else whether the device's state is something other than SMART_CONTROL_OFF; None when
    neither is known."""
    if is_suspended is not None:
        return not is_suspended
    if device_state is None:
        return None
    return device_state != SMART_CONTROL_OFF
