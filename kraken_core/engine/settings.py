"""What the engine can be told: polling intervals, the allowance, tariff overrides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from kraken_core.domain.allowance import AllowanceRule
from kraken_core.domain.product import NightOverride


@dataclass(frozen=True)
class EngineSettings:
    poll_interval: timedelta = timedelta(minutes=1)
    slow_state_interval: timedelta = timedelta(minutes=5)  # no device can receive dispatches
    account_interval: timedelta = timedelta(minutes=60)
    publication_poll: timedelta = timedelta(minutes=4)  # + jitter stays under 5 minutes
    publication_time: time = time(16, 0)  # UK time tomorrow's day-ahead prices appear
    jitter_s: tuple[float, float] = (5.0, 25.0)
    backoff_cap: timedelta = timedelta(minutes=10)
    # A live kind failing this long makes the devices that need it unavailable.
    live_stale_after: timedelta = timedelta(minutes=15)
    # Octopus caps smart charging: minutes of SMART dispatch per allowance day (0: no cap,
    # older contracts) and the local time that day starts (not published; users report noon).
    allowance_limit_minutes: int = 360
    allowance_day_start: time = time(12, 0)
    # Four-rate EV tariffs discount only the car: None detects it from the product.
    four_rate_ev: bool | None = None
    # Economy 7 night hours follow the meter: None reads the kind of meter from Kraken.
    economy7_meter: NightOverride | None = None
    ev_off_peak_rate: float | None = None  # p/kWh; None: the day's off-peak rate
    # The Home Mini reads gas about every 30 minutes (../shared/kraken/README.md, "Gas"):
    # asking more often buys nothing. Polls sit this far past :00 and :30 (plus jitter),
    # and the gas meter goes unavailable after failing for ``gas_stale_after``.
    gas_interval: timedelta = timedelta(minutes=30)
    gas_offset: timedelta = timedelta(minutes=7)
    gas_stale_after: timedelta = timedelta(hours=2)
    # MJ/m³, for m³ = kWh × 3.6 / (CV × 1.02264) (README, "Gas"; 40.0 as clients default).
    gas_calorific_value: float = 40.0
    # The Energy Account warns (telemetry_stale) when the newest Home Mini reading is older
    # than this; a user setting. Never less than two polling intervals: a reading is up to
    # one interval old when it is read, so a shorter limit would blink between polls.
    telemetry_stale_after: timedelta = timedelta(minutes=15)

    @property
    def telemetry_stale_limit(self) -> timedelta:
        return max(self.telemetry_stale_after, 2 * self.poll_interval)

    # Octoplus (engine/octoplus.py): Octopus announces saving sessions hours to a day
    # ahead, so they are read hourly, every ``saving_sessions_near_interval`` from
    # ``saving_sessions_near`` before a known event to its end, and at its start and end;
    # enrolment, points and the wheel's spins (which change after a settled session, a
    # spin or a new month) every 3 hours, and just after a joined session ends or a
    # spin. An account Kraken says is not in
    # Octoplus is looked at every ``octoplus_idle_interval`` only. Failing this long, they
    # are reported stale (the Energy Account stays available: its meter is another kind).
    saving_sessions_interval: timedelta = timedelta(minutes=60)
    saving_sessions_near: timedelta = timedelta(minutes=60)
    saving_sessions_near_interval: timedelta = timedelta(minutes=15)
    octoplus_interval: timedelta = timedelta(hours=3)
    octoplus_idle_interval: timedelta = timedelta(hours=6)
    octoplus_stale_after: timedelta = timedelta(hours=3)
    # Join every saving session announced for the household (a user setting, off unless
    # asked for: joining is a commitment the household makes).
    auto_join_saving_sessions: bool = False

    @property
    def allowance(self) -> AllowanceRule:
        return AllowanceRule(self.allowance_limit_minutes, self.allowance_day_start)
