"""The composition root: assembles the Kraken client, store, engine, backend and the REST
bridge in front of it. The one module besides the CLI that knows the engine's parts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import uvicorn

from kraken_core.api.events import EventBus, to_json_value
from kraken_core.api.models import DEVICE_KINDS
from kraken_core.bridge.app import create_app
from kraken_core.bridge.mdns import advertised
from kraken_core.bridge.metrics import render_metrics
from kraken_core.bridge.server import server_config
from kraken_core.clock import Clock
from kraken_core.engine.backend import EngineBackend
from kraken_core.engine.engine import Engine
from kraken_core.engine.history import HistorySettings
from kraken_core.engine.hub import DeviceHub
from kraken_core.engine.settings import EngineSettings
from kraken_core.kraken.client import KrakenClient
from kraken_core.store.db import Store

DATABASE_FILE = "history.sqlite3"


@dataclass
class Service:
    """One household's running service: the engine that polls, the backend front doors
    read, and what they stand on."""

    client: KrakenClient
    engine: Engine
    backend: EngineBackend
    store: Store
    clock: Clock

    def snapshot(self) -> dict[str, object]:
        """The documented ``snapshot`` output for the clock's now."""
        order = {kind: index for index, kind in enumerate(DEVICE_KINDS)}
        views = sorted(self.backend.devices(), key=lambda v: (order[v.kind], v.id))
        return {
            "at": to_json_value(self.clock.now()),
            "devices": [
                v.model_dump(include={"id", "kind", "name", "available", "state"}) for v in views
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
    settings_summary: Mapping[str, object] | None = None,
) -> AsyncIterator[Service]:
    """The whole service on ``clock``; ``id_clock`` (default ``clock``) numbers events.

    A demo's scenario clock restarts at the scenario's start every run, so serving passes
    the system clock there to keep event ids rising across restarts."""
    settings = engine_settings or EngineSettings(
        poll_interval=timedelta(minutes=poll_interval_minutes)
    )
    started = time.monotonic()
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
            engine = Engine(client, clock, hub, store, settings, history_settings=history_settings)
            backend = EngineBackend(
                engine,
                data_dir=data_dir,
                settings_summary=settings_summary,
                uptime_s=lambda: time.monotonic() - started,
            )
            backend.load_saved_settings()  # what Homey set, kept across restarts
            yield Service(client, engine, backend, store, clock)
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
    mdns: bool = False,
) -> None:
    """Poll and serve until SIGINT/SIGTERM; open event streams end at once on shutdown."""
    backend = service.backend

    def metrics() -> str:
        return render_metrics(backend.devices(), backend.budget())

    app = create_app(backend, token, metrics=metrics)
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app))
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
        backend.events.close()
        server.should_exit = True
        engine_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await engine_task
        await server_task
