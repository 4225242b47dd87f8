"""The smart-charging allowance: Octopus caps SMART dispatch at so many minutes a day.

Minutes of counted SMART dispatch (the union over every device) are added up in a
24-hour window that starts at a local time of day (a setting: Octopus has not said where
the day begins). Dispatch past the limit no longer makes a slot cheap. In chronological
order the first ``limit`` minutes are billable; the slot in which the limit is crossed
was touched by billable minutes, so it stays off-peak, and the slots after it are not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from kraken_core.domain.timeline import LONDON
from kraken_core.domain.windows import DispatchType, DispatchWindow, merge_windows


@dataclass(frozen=True)
class AllowanceRule:
    limit_minutes: int = 360  # 0: no cap (contracts from before the cap)
    day_start: time = time(12, 0)  # Europe/London time the allowance day begins

    @property
    def capped(self) -> bool:
        return self.limit_minutes > 0


@dataclass(frozen=True)
class AllowanceStatus:
    used_minutes: int
    left_minutes: int | None  # None when there is no cap
    reached: bool
    window_start: datetime
    window_end: datetime


def allowance_day(when: datetime, day_start: time) -> tuple[datetime, datetime]:
    """UTC bounds of the allowance day containing ``when`` (local clock to local clock,
    so 23 or 25 hours long across a clock change)."""
    local_date = when.astimezone(LONDON).date()
    for offset in (1, 0, -1):
        start_date = local_date + timedelta(days=offset)
        start = datetime.combine(start_date, day_start, LONDON).astimezone(UTC)
        if start <= when:
            end_date = start_date + timedelta(days=1)
            return start, datetime.combine(end_date, day_start, LONDON).astimezone(UTC)
    raise AssertionError("unreachable: yesterday's start is always before now")


def _split_by_day(window: DispatchWindow, day_start: time) -> list[DispatchWindow]:
    parts = []
    start = window.start
    while start < window.end:
        _, day_end = allowance_day(start, day_start)
        end = min(window.end, day_end)
        parts.append(DispatchWindow(start, end, window.type))
        start = end
    return parts


def _smart_union(windows: Iterable[DispatchWindow]) -> list[DispatchWindow]:
    return merge_windows(w for w in windows if w.type == DispatchType.SMART)


def billable_windows(
    windows: Iterable[DispatchWindow], rule: AllowanceRule
) -> list[DispatchWindow]:
    """The windows as billing sees them: SMART dispatch cut where each allowance day's
    minutes run out (the union over devices counts once); BOOST and TEST unchanged."""
    all_windows = list(windows)
    others = [w for w in all_windows if w.type != DispatchType.SMART]
    smart = _smart_union(all_windows)
    if not rule.capped:
        return sorted([*smart, *others], key=lambda w: w.start)
    limit = timedelta(minutes=rule.limit_minutes)
    used: dict[datetime, timedelta] = {}
    allowed: list[DispatchWindow] = []
    for window in smart:
        for part in _split_by_day(window, rule.day_start):
            day = allowance_day(part.start, rule.day_start)[0]
            left = limit - used.get(day, timedelta())
            if left <= timedelta():
                continue
            end = min(part.end, part.start + left)
            allowed.append(DispatchWindow(part.start, end, DispatchType.SMART))
            used[day] = used.get(day, timedelta()) + (end - part.start)
    return sorted([*merge_windows(allowed), *others], key=lambda w: w.start)


def allowance_status(
    windows: Iterable[DispatchWindow], rule: AllowanceRule, now: datetime
) -> AllowanceStatus:
    """Minutes of SMART dispatch so far in the allowance day containing ``now``."""
    start, end = allowance_day(now, rule.day_start)
    used = sum(
        (
            min(w.end, now) - max(w.start, start)
            for w in _smart_union(windows)
            if w.start < now and w.end > start
        ),
        timedelta(),
    )
    used_minutes = int(used.total_seconds() // 60)
    if not rule.capped:
        return AllowanceStatus(used_minutes, None, False, start, end)
    return AllowanceStatus(
        used_minutes=used_minutes,
        left_minutes=max(0, rule.limit_minutes - used_minutes),
        reached=used >= timedelta(minutes=rule.limit_minutes),
        window_start=start,
        window_end=end,
    )
