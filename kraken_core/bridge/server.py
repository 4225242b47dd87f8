"""How the bridge's HTTP server holds up against connections that never finish.

uvicorn drops idle keep-alive connections, answers 503 past a concurrency limit and
caps a request head's size, but it waits forever for a request head that never ends:
:class:`BridgeH11Protocol` closes a connection that has not sent a whole head within
:data:`HEADER_TIMEOUT_S` (:data:`BUSY_HEADER_TIMEOUT_S` once half the connection limit
is in use, so that a flood that reconnects at once cannot keep the bridge full). When
file descriptors run out anyway, asyncio logs the same accept() traceback thousands of
times a second; :class:`CollapseRepeats` keeps the first and then one line a minute
with a count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0  # from connecting (or the last answer) to a request's whole head
# With half the connection limit in use, a flood is likelier than a slow client on the LAN.
BUSY_HEADER_TIMEOUT_S = 1.0
KEEP_ALIVE_TIMEOUT_S = 5  # an idle connection between requests
GRACEFUL_SHUTDOWN_S = 3
MAX_HEAD_BYTES = 16 * 1024  # request line and headers; beyond it h11 answers 400
# File descriptors kept for the store, the Kraken client and the log, out of the limit.
RESERVED_FDS = 64
MAX_CONNECTIONS = 4000
# The open files the bridge asks for at start (the soft limit is raised towards the hard
# one, as the systemd unit's LimitNOFILE does): a flood of 1,000 half-open connections
# then stays under the connection limit while the head deadline clears it.
WANTED_OPEN_FILES = 8192
REPEAT_INTERVAL_S = 60.0
NOISY_LOGGERS = ("asyncio", "uvicorn.error")


class BridgeH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_deadline()  # a kept-alive connection owes the next head in time

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        busy = self.limit_concurrency and len(self.connections) * 2 >= self.limit_concurrency
        timeout_s = BUSY_HEADER_TIMEOUT_S if busy else HEADER_TIMEOUT_S
        self._head_deadline = self.loop.call_later(timeout_s, self._head_overdue)

    def _head_overdue(self) -> None:
        # h11 leaves IDLE only once a request's whole head has arrived.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class CollapseRepeats(logging.Filter):
    """Logs a message the first time, then at most once per interval with a count."""

    MAX_KINDS = 256

    def __init__(
        self, interval_s: float = REPEAT_INTERVAL_S, now: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._now = now
        # (logger, level, message template, exception type) -> (last logged at, since)
        self._seen: OrderedDict[tuple[object, ...], tuple[float, int]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        exc_type = record.exc_info[0] if record.exc_info else None
        key = (record.name, record.levelno, str(record.msg), exc_type)
        now = self._now()
        logged_at, repeats = self._seen.get(key, (None, 0))
        if logged_at is not None and now - logged_at < self._interval_s:
            self._seen[key] = (logged_at, repeats + 1)
            return False
        self._seen[key] = (now, 0)
        self._seen.move_to_end(key)
        while len(self._seen) > self.MAX_KINDS:
            self._seen.popitem(last=False)
        if repeats and logged_at is not None:
            record.msg = (
                f"{record.getMessage()} (repeated {repeats} times in the last "
                f"{now - logged_at:.0f} s)"
            )
            record.args = None
            record.exc_info, record.exc_text = None, None  # the first one had the traceback
        return True


def raise_open_file_limit() -> None:
    """Raise the soft open-file limit to WANTED_OPEN_FILES where the hard limit allows
    (the usual 1,024 is what a flood of half-open connections ran into)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def concurrency_limit() -> int:
    """Connections and requests at once before new requests get 503: what the open-file
    limit allows, less what the bridge needs for itself."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft - RESERVED_FDS))


def server_config(app: Any) -> uvicorn.Config:
    """The uvicorn settings the bridge runs with, and the repeat filter on its logs."""
    raise_open_file_limit()
    config = uvicorn.Config(
        app,
        http=BridgeH11Protocol,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT_S,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        limit_concurrency=concurrency_limit(),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        server_header=False,
    )
    collapse = CollapseRepeats()
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        for earlier in [f for f in logger.filters if isinstance(f, CollapseRepeats)]:
            logger.removeFilter(earlier)
        logger.addFilter(collapse)
    return config
