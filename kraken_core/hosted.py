"""The service hosted inside another program: the Homey Python app (``homey_backend/``).

There is no web server here. The host hands requests to :meth:`HostedService.answer`,
which runs the same :mod:`kraken_core.api.answers` functions as the REST bridge and
returns the envelope ``{"status", "body"}``; every event is handed to the host's ``push``
(Homey's ``api.realtime``) as ``{"id", "data"}`` under the event's type.

The Octopus API key and account number reach this module only from the host's own
settings: they are checked with the same checks as ``kraken-bridge doctor`` before the
host keeps them, and the key is masked in every log record.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kraken_core.api.answers import Answer, Refusal, event_json
from kraken_core.api.backend import Backend
from kraken_core.api.events import BridgeEvent, Subscription
from kraken_core.clock import Clock, ScenarioClock, SystemClock
from kraken_core.doctor import Check, run_doctor
from kraken_core.kraken.client import (
    OCTOPUS_BACKEND_GRAPHQL_URL,
    OCTOPUS_GRAPHQL_URL,
    OCTOPUS_REST_URL,
)
from kraken_core.redaction import install_secret_filter, mask_account
from kraken_core.service import Service, open_service

log = logging.getLogger(__name__)

ACCOUNT_NUMBER = re.compile(r"A-[0-9A-F]{8}")
# Octopus's keys look like sk_live_ and 24 letters or digits; anything long enough that
# Kraken itself then accepts is allowed, so a new key format is not refused here.
MIN_KEY_LENGTH = 16
KEY_CHECKS = ("API key", "Account")  # the doctor checks that must pass before keeping a key
INTERNAL_ERROR = "The bridge hit an internal error; see its log for details."
NOT_SET_UP = (
    "The Kraken Backend has no Octopus API key yet: open the app's settings on the Homey, "
    "enter your API key and account number, and save."
)

# Where Kraken is, from a developer's env.json: all three or none (then Octopus's own).
KRAKEN_ADDRESSES = ("KRAKEN_GRAPHQL_URL", "KRAKEN_REST_URL", "KRAKEN_BACKEND_GRAPHQL_URL")

Push = Callable[[str, dict[str, Any]], Awaitable[None]]
Handler = Callable[[Backend], object]


@dataclass(frozen=True)
class HostOptions:
    """Where Kraken is and whose clock runs. The defaults are Octopus and the wall clock;
    a developer's ``env.json`` may point the app at ``kraken-bridge simulate`` instead."""

    data_dir: Path
    graphql_url: str = OCTOPUS_GRAPHQL_URL
    rest_url: str = OCTOPUS_REST_URL
    backend_graphql_url: str = OCTOPUS_BACKEND_GRAPHQL_URL
    clock_start: datetime | None = None  # a scenario's start: scenario time from then on
    clock_speed: float = 1.0
    clock_began_at: datetime | None = None  # the wall time scenario time was clock_start

    @classmethod
    def from_env(cls, env: Mapping[str, object], default_data_dir: Path) -> HostOptions:
        """``KRAKEN_DATA_DIR``, ``KRAKEN_GRAPHQL_URL``, ``KRAKEN_REST_URL``,
        ``KRAKEN_BACKEND_GRAPHQL_URL`` (saving sessions), and a
        scenario's clock: ``KRAKEN_CLOCK_START`` and ``KRAKEN_CLOCK_AT`` (ISO 8601 with a
        zone) and ``KRAKEN_CLOCK_SPEED``, as ``kraken-bridge simulate`` runs it."""

        def text(name: str) -> str | None:
            value = env.get(name)
            return str(value) if value not in (None, "") else None

        def when(name: str) -> datetime | None:
            given = text(name)
            value = datetime.fromisoformat(given) if given else None
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name}={given!r} needs a zone, e.g. 2026-03-10T16:00:00Z")
            return value

        addresses = {name: text(name) for name in KRAKEN_ADDRESSES}
        if any(addresses.values()) and not all(addresses.values()):
            missing = ", ".join(name for name, value in addresses.items() if not value)
            raise ValueError(
                f"{missing} not set while another Kraken address is: give all three "
                "(kraken-bridge simulate prints them), so a test Kraken is never mixed "
                "with Octopus's own"
            )
        return cls(
            data_dir=Path(text("KRAKEN_DATA_DIR") or default_data_dir),
            graphql_url=text("KRAKEN_GRAPHQL_URL") or OCTOPUS_GRAPHQL_URL,
            rest_url=text("KRAKEN_REST_URL") or OCTOPUS_REST_URL,
            backend_graphql_url=text("KRAKEN_BACKEND_GRAPHQL_URL") or OCTOPUS_BACKEND_GRAPHQL_URL,
            clock_start=when("KRAKEN_CLOCK_START"),
            clock_speed=float(text("KRAKEN_CLOCK_SPEED") or 1.0),
            clock_began_at=when("KRAKEN_CLOCK_AT"),
        )

    def clock(self) -> Clock:
        if self.clock_start is None:
            return SystemClock()
        return ScenarioClock(self.clock_start, speed=self.clock_speed, began_at=self.clock_began_at)


@dataclass(frozen=True)
class CredentialCheck:
    """The answer to "are these the household's Octopus key and account?"."""

    ok: bool
    message: str  # the sentence the settings page shows
    checks: list[Check] = field(default_factory=list)


async def check_credentials(
    api_key: str, account_number: str, options: HostOptions, clock: Clock
) -> CredentialCheck:
    """The doctor's checks; the key and the account must pass, the rest is told."""
    api_key, account_number = api_key.strip(), account_number.strip().upper()
    if len(api_key) < MIN_KEY_LENGTH or any(c.isspace() for c in api_key):
        return CredentialCheck(
            False,
            "Not saved: that is not an Octopus API key. Copy the whole key (it starts "
            "sk_live_) from Personal details → API access on your Octopus dashboard.",
        )
    if not ACCOUNT_NUMBER.fullmatch(account_number):
        return CredentialCheck(
            False,
            f"Not saved: {account_number or 'an empty account number'!s} is not an Octopus "
            "account number. It looks like A-1234ABCD, at the top of your Octopus dashboard.",
        )
    install_secret_filter([api_key])
    checks = await run_doctor(
        api_key=api_key,
        key_source="the app's settings",
        account_number=account_number,
        graphql_url=options.graphql_url,
        rest_url=options.rest_url,
        clock=clock,
    )
    failed = [c for c in checks if not c.ok and c.name in KEY_CHECKS]
    if failed or not any(c.name == "Account" for c in checks):
        reason = failed[0].detail if failed else "Octopus did not answer"
        return CredentialCheck(False, f"Not saved: {reason}.", checks)
    account = next(c for c in checks if c.name == "Account")
    notes = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    message = f"Checked with Octopus: {account.detail}."
    if notes:
        message += " " + " ".join(f"Note: {note}." for note in notes)
    return CredentialCheck(True, message, checks)


class HostedService:
    """One household's service inside the host: started with checked credentials,
    stopped when the host unloads or the credentials change."""

    def __init__(self, options: HostOptions, push: Push, config_error: str | None = None) -> None:
        """``config_error``: why the host's configuration cannot be run (the service then
        never starts, and every request says so)."""
        self.options = options
        self._config_error = config_error
        self.clock = options.clock()
        self._push = push
        self._stack: contextlib.AsyncExitStack | None = None
        self._service: Service | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.start_error: str | None = config_error

    @property
    def config_error(self) -> str | None:
        return self._config_error

    @property
    def service(self) -> Service | None:
        return self._service

    async def start(self, api_key: str, account_number: str) -> bool:
        """Open the service (stopping one already running), read Kraken once so the
        devices exist, then poll and push events until :meth:`stop`. False when it could
        not start (its data folder, say): every request then says why."""
        await self.stop()
        install_secret_filter([api_key])
        self.start_error = self._config_error
        if self._config_error is not None:
            return False
        stack = contextlib.AsyncExitStack()
        try:
            self.options.data_dir.mkdir(parents=True, exist_ok=True)
            service = await stack.enter_async_context(
                open_service(
                    clock=self.clock,
                    api_key=api_key,
                    account_number=account_number.strip().upper(),
                    graphql_url=self.options.graphql_url,
                    rest_url=self.options.rest_url,
                    backend_graphql_url=self.options.backend_graphql_url,
                    data_dir=self.options.data_dir,
                    id_clock=SystemClock(),  # event ids keep rising across restarts
                    settings_summary={
                        "account_number": mask_account(account_number),
                        "host": "homey",
                        "graphql_url": self.options.graphql_url,
                    },
                )
            )
            await service.engine.run_due()  # devices exist before the first request
        except Exception as exc:
            log.exception("the Kraken backend could not start")
            self.start_error = f"{type(exc).__name__}: {exc}"
            await stack.aclose()
            return False
        self._stack, self._service = stack, service
        first = service.backend.events.subscribe()  # before the engine can publish again
        self._tasks = [
            asyncio.create_task(self._forward(service, first), name="realtime"),
            asyncio.create_task(service.engine.run_forever(), name="engine"),
        ]
        return True

    async def stop(self) -> None:
        service, stack, tasks = self._service, self._stack, self._tasks
        self._service, self._stack, self._tasks = None, None, []
        if service is not None:
            service.backend.events.close()  # ends the forwarder
        for task in tasks:
            if task.get_name() == "engine":
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if stack is not None:
            await stack.aclose()

    async def _forward(
        self, service: Service, first: tuple[Subscription, Callable[[], None]]
    ) -> None:
        """Every event to the host, in order; a host that falls 1,000 events behind is
        sent a ``resync`` and catches up with ``GET /events?after=``."""
        bus = service.backend.events
        subscription, unsubscribe = first
        while True:
            try:
                while (event := await subscription.next()) is not None:
                    await self._send(event)
            finally:
                unsubscribe()
            if not subscription.overflowed:
                return  # the bus closed: the service is stopping
            reason = "the Homey app fell behind; ask for events after the last one seen"
            await self._send(BridgeEvent(bus.last_id, "resync", {"reason": reason}))
            subscription, unsubscribe = bus.subscribe()

    async def _send(self, event: BridgeEvent) -> None:
        body = event_json(event)
        try:
            await self._push(event.type, {"id": body["id"], "data": body["data"]})
        except Exception:  # the host's push failing must not stop the stream
            log.exception("could not push a %s event to Homey", event.type)

    def _why_not_running(self) -> str:
        if self.start_error is None:
            return NOT_SET_UP
        return (
            f"The Kraken Backend could not start ({self.start_error}). Restart the app; if "
            "this stays, send its log to support."
        )

    async def answer(self, handler: Handler) -> dict[str, Any]:
        """``handler``'s answer as an envelope; a refusal keeps its status and sentence."""
        try:
            if self._service is None:
                raise Refusal(503, self._why_not_running())
            value = handler(self._service.backend)
            if inspect.isawaitable(value):
                value = await value
            answer = value if isinstance(value, Answer) else Answer.of(value)
        except Refusal as refusal:
            answer = Answer.refused(refusal)
        except Exception:
            log.exception("a request failed")
            answer = Answer(500, {"detail": INTERNAL_ERROR})
        return answer.envelope()
