"""The event bus that tells front doors what changed, and the JSON form of values.

The engine publishes (``state``, ``availability``, ``trigger``); the REST bridge and any
other front door stream them. Every event has an increasing id and is kept in a bounded
ring buffer, so a client that reconnects with ``Last-Event-ID`` gets what it missed, or
learns that it must resync.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class BridgeEvent:
    id: int
    type: str  # state | availability | trigger | resync
    data: dict[str, Any]


class Subscription:
    """One client's queue of events; overflows (a stuck client) end the subscription."""

    def __init__(self, max_queued: int) -> None:
        self._queue: asyncio.Queue[BridgeEvent | None] = asyncio.Queue()
        self._max_queued = max_queued
        self.overflowed = False

    def offer(self, event: BridgeEvent | None) -> None:
        if event is not None and self._queue.qsize() >= self._max_queued:
            self.overflowed = True
            event = None
        self._queue.put_nowait(event)

    async def next(self) -> BridgeEvent | None:
        """The next event, or None when the subscription has ended."""
        return await self._queue.get()


class EventBus:
    def __init__(self, buffer_size: int = 2000, max_queued: int = 1000, first_id: int = 1) -> None:
        """``first_id`` should exceed every id an earlier run of the bridge gave out, so a
        client resuming with an id from before a restart is told to resync rather than
        handed the new run's events as if they followed its own."""
        self._buffer: deque[BridgeEvent] = deque(maxlen=buffer_size)
        self._subscribers: set[Subscription] = set()
        self._max_queued = max_queued
        self._last_id = first_id - 1
        self.closed = False

    @property
    def last_id(self) -> int:
        return self._last_id

    def publish(self, type_: str, data: dict[str, Any]) -> BridgeEvent:
        self._last_id += 1
        event = BridgeEvent(self._last_id, type_, data)
        self._buffer.append(event)
        for subscription in list(self._subscribers):
            subscription.offer(event)
            if subscription.overflowed:
                self._subscribers.discard(subscription)
        return event

    def since(self, last_id: int) -> list[BridgeEvent] | None:
        """Events after ``last_id``, or None when some of them are no longer buffered
        (or the id is not from this run)."""
        if last_id > self._last_id:
            return None
        if last_id == self._last_id:
            return []
        oldest = self._buffer[0].id if self._buffer else self._last_id + 1
        if last_id + 1 < oldest:
            return None
        return [event for event in self._buffer if event.id > last_id]

    def buffered(self) -> list[BridgeEvent]:
        """Every event still in the ring buffer, oldest first."""
        return list(self._buffer)

    def subscribe(self) -> tuple[Subscription, Callable[[], None]]:
        """A new subscription and the function that ends it."""
        subscription = Subscription(self._max_queued)
        if self.closed:
            subscription.offer(None)
        else:
            self._subscribers.add(subscription)
        return subscription, lambda: self._subscribers.discard(subscription)

    def close(self) -> None:
        """End every subscription (shutdown): open streams finish at once."""
        self.closed = True
        for subscription in self._subscribers:
            subscription.offer(None)
        self._subscribers.clear()


def to_json_value(value: Any) -> Any:
    """State values as JSON: UTC times with Z, enums by value, dataclasses as objects."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float):
        return round(value, 4)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json_value(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return value
