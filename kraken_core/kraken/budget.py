"""Per-operation request budgets on the injected clock.

Kraken's limits are per account and shared with the Octopus app, so the bridge keeps
its own count and refuses to send a request that would exceed it. The window slides on
the injected clock (not the event loop's), so a simulated day obeys the same limits.
Our own, not aiolimiter's: that one runs on the event loop's clock, which a simulated
day cannot drive.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from kraken_core.clock import Clock


@dataclass(frozen=True)
class BudgetLimit:
    requests: int
    window: timedelta


# Limits from Kraken's documentation and established clients (shared README).
DEFAULT_LIMITS: dict[str, BudgetLimit] = {
    "obtainKrakenToken": BudgetLimit(20, timedelta(hours=1)),
    "account": BudgetLimit(30, timedelta(hours=1)),
    "devices": BudgetLimit(120, timedelta(hours=1)),
    "flexPlannedDispatches": BudgetLimit(5, timedelta(minutes=1)),
    "completedDispatches": BudgetLimit(12, timedelta(hours=1)),
    "smartMeterTelemetry": BudgetLimit(100, timedelta(hours=1)),
    "updateBoostCharge": BudgetLimit(10, timedelta(hours=1)),
    "updateDeviceSmartControl": BudgetLimit(10, timedelta(hours=1)),
    "setDevicePreferences": BudgetLimit(10, timedelta(hours=1)),
    # Products are cached per product code; a handful an hour covers restarts and switches.
    "product": BudgetLimit(12, timedelta(hours=1)),
    "standard-unit-rates": BudgetLimit(60, timedelta(hours=1)),
    "day-unit-rates": BudgetLimit(30, timedelta(hours=1)),
    "night-unit-rates": BudgetLimit(30, timedelta(hours=1)),
    "standing-charges": BudgetLimit(30, timedelta(hours=1)),
    # Octoplus (engine/octoplus.py reads saving sessions hourly, every 15 minutes near a
    # session, and Octoplus every 3 hours; a spin or a join reads again soon after).
    "savingSessions": BudgetLimit(12, timedelta(hours=1)),
    "octoplusAccountInfo": BudgetLimit(6, timedelta(hours=1)),
    "loyaltyPointLedgers": BudgetLimit(6, timedelta(hours=1)),
    "wheelOfFortuneSpinsAllowed": BudgetLimit(12, timedelta(hours=1)),  # one per fuel
    "joinSavingSessionsEvent": BudgetLimit(10, timedelta(hours=1)),
    "spinWheelOfFortune": BudgetLimit(10, timedelta(hours=1)),
}


@dataclass(frozen=True)
class BudgetStatus:
    operation: str
    limit: int
    window_s: int
    used: int
    remaining: int
    next_free_at: datetime | None


class RequestBudget:
    """Sliding-window counters, one per operation."""

    def __init__(self, clock: Clock, limits: dict[str, BudgetLimit] | None = None) -> None:
        self._clock = clock
        self._limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._sent: dict[str, deque[datetime]] = {}

    def _window(self, operation: str) -> tuple[BudgetLimit | None, deque[datetime]]:
        limit = self._limits.get(operation)
        sent = self._sent.setdefault(operation, deque())
        if limit is not None:
            horizon = self._clock.now() - limit.window
            while sent and sent[0] <= horizon:
                sent.popleft()
        return limit, sent

    def try_spend(self, operation: str) -> datetime | None:
        """Count one request; return None, or (refused) when the next one is allowed."""
        limit, sent = self._window(operation)
        if limit is not None and len(sent) >= limit.requests:
            return sent[0] + limit.window
        sent.append(self._clock.now())
        return None

    def refund(self, operation: str) -> None:
        """Give back the latest request counted for ``operation`` (one Kraken refused, so
        it changed nothing; see KrakenClient._device_mutation)."""
        _, sent = self._window(operation)
        if sent:
            sent.pop()

    def next_free_at(self, operation: str, wanted: int = 1) -> datetime | None:
        """None if ``wanted`` more requests fit now, else when they will (nothing spent)."""
        limit, sent = self._window(operation)
        if limit is None or len(sent) + wanted <= limit.requests:
            return None
        if wanted > limit.requests:
            return self._clock.now() + limit.window
        return sent[len(sent) + wanted - limit.requests - 1] + limit.window

    def status(self) -> list[BudgetStatus]:
        out = []
        for operation in sorted(set(self._limits) | set(self._sent)):
            limit, sent = self._window(operation)
            if limit is None:
                continue
            out.append(
                BudgetStatus(
                    operation=operation,
                    limit=limit.requests,
                    window_s=int(limit.window.total_seconds()),
                    used=len(sent),
                    remaining=max(0, limit.requests - len(sent)),
                    next_free_at=(sent[0] + limit.window) if len(sent) >= limit.requests else None,
                )
            )
        return out
