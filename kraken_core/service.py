"""Assembles the service: Kraken client, store, engine, device hub and HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import platform
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import uvicorn

from kraken_core import __version__
from kraken_core.bridge.app import Health, create_app
from kraken_core.bridge.control import include_control_routes, load_user_settings
from kraken_core.bridge.mdns import advertised
from kraken_core.bridge.metrics import render_metrics
from kraken_core.bridge.web import include_web_routes
from kraken_core.clock import Clock
from kraken_core.engine.events import DEVICE_KINDS, DeviceHub, EventBus, to_json_value
from kraken_core.engine.history import History, HistoryQueries, HistorySettings
from kraken_core.engine.poller import Engine, EngineSettings
from kraken_core.kraken.client import KrakenClient
from kraken_core.store.db import Store

DATABASE_FILE = "history.sqlite3"


@dataclass
class Service:
    client: KrakenClient
    engine: Engine
    hub: DeviceHub
    store: Store
    clock: Clock
    data_dir: Path | None = None

    def health(self) -> Health:
        jobs = self.engine.jobs.values()
        return Health(
            status="ok",
            version=__version__,
            account_linked=bool(self.engine.meter_points),
            last_success={job.name: to_json_value(job.last_success) for job in jobs},
            last_error={job.name: job.last_error for job in jobs},
        )

    def diagnostics(self, settings: dict[str, object], uptime_s: float) -> dict[str, object]:
        """What a user can paste into a support thread: no key, no token."""
        return {
            "version": __version__,
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "uptime_s": round(uptime_s),
            "now": to_json_value(self.clock.now()),
            "settings": settings,
            "jobs": {
                job.name: {
                    "next_due": to_json_value(job.due),
                    "last_success": to_json_value(job.last_success),
                    "failures_in_a_row": job.failures,
                    "last_error": job.last_error,
                }
                for job in self.engine.jobs.values()
            },
            "requests_sent": dict(self.client.request_counts),
            "budget": [to_json_value(status) for status in self.client.budget.status()],
            "devices": [
                {
                    "id": record.id,
                    "kind": record.kind,
                    "available": record.available,
                    "unavailable_reason": record.unavailable_reason,
                    "updated_at": to_json_value(record.updated_at),
                }
                for record in self.hub.devices.values()
            ],
            "events": {"last_id": self.hub.bus.last_id},
        }

    def snapshot(self) -> dict[str, object]:
        """The documented ``snapshot`` output for the clock's now."""
        order = {kind: index for index, kind in enumerate(DEVICE_KINDS)}
        records = sorted(self.hub.devices.values(), key=lambda r: (order[r.kind], r.id))
        return {
            "at": to_json_value(self.clock.now()),
            "devices": [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "name": r.name,
                    "available": r.available,
                    "state": r.state,
                }
                for r in records
            ],
        }


@contextlib.asynccontextmanager
async def open_service(
    *,
    clock: Clock,
    api_key: str,
    account_number: str,
    graphql_url: str,
    rest_url: str,
    data_dir: Path,
    poll_interval_minutes: int = 1,
    engine_settings: EngineSettings | None = None,
    history_settings: HistorySettings | None = None,
    id_clock: Clock | None = None,
) -> AsyncIterator[Service]:
    """The whole service on ``clock``; ``id_clock`` (default ``clock``) numbers events.

    A demo's scenario clock restarts at the scenario's start every run, so serving passes
    the system clock there to keep event ids rising across restarts."""
    settings = engine_settings or EngineSettings(
        poll_interval=timedelta(minutes=poll_interval_minutes)
    )
    store = await Store.open(data_dir / DATABASE_FILE)
    try:
        async with KrakenClient(
            api_key=api_key,
            account_number=account_number,
            clock=clock,
            graphql_url=graphql_url,
            rest_url=rest_url,
        ) as client:
            # Event ids start at this run's start time in microseconds, so they keep rising
            # across restarts (and stay exact in JavaScript numbers, < 2**53).
            first_id = int((id_clock or clock).now().timestamp() * 1_000_000)
            hub = DeviceHub(EventBus(first_id=first_id), clock)
            history = History(store, history_settings)
            engine = Engine(client, clock, hub, store, settings, history=history)
            load_user_settings(engine, data_dir)  # what Homey set, kept across restarts
            yield Service(client, engine, hub, store, clock, data_dir)
    finally:
        await store.close()


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted connections when the
    # listening socket says it is TCP, and without it every answer waits ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve_bridge(
    service: Service,
    *,
    token: str,
    host: str,
    port: int,
    on_ready: Callable[[str], None],
    settings_summary: dict[str, object] | None = None,
    mdns: bool = False,
) -> None:
    """Poll and serve until SIGINT/SIGTERM; open event streams end at once on shutdown."""
    started = time.monotonic()

    def diagnostics() -> dict[str, object]:
        return service.diagnostics(settings_summary or {}, time.monotonic() - started)

    def metrics() -> str:
        return render_metrics(
            service.hub.devices.values(),
            [vars(status) for status in service.client.budget.status()],
            service.client.request_counts,
        )

    app = create_app(
        service.hub,
        token,
        service.health,
        diagnostics,
        history=HistoryQueries(service.store, service.clock),
        metrics=metrics,
    )
    include_control_routes(app, service.engine, service.data_dir)
    include_web_routes(app, service.engine, token)  # the page at / and what it draws
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=3, lifespan="off"
    )
    server = uvicorn.Server(config)
    await service.engine.run_due()  # devices exist before the first client asks
    engine_task = asyncio.create_task(service.engine.run_forever(), name="engine")
    server_task = asyncio.create_task(server.serve(sockets=[sock]), name="http")
    # uvicorn offers flags, not events, for "started" and "should exit".
    while not server.started and not server_task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    shown_host = f"[{host}]" if ":" in host else host
    on_ready(f"http://{shown_host}:{bound_port}")
    try:
        async with contextlib.AsyncExitStack() as stack:
            if mdns:
                await stack.enter_async_context(advertised(host, bound_port))
            while not server.should_exit and not server_task.done() and not engine_task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    finally:
        service.hub.bus.close()
        server.should_exit = True
        engine_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await engine_task
        await server_task
