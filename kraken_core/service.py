"""The composition root: assembles the Kraken client, store, engine and backend. The one
module besides the CLI and the front doors' start-up (:mod:`kraken_core.serving`, the
Homey app) that knows the engine's parts. It imports no web server: the Homey Python app
runs it without FastAPI or uvicorn."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from kraken_core.api.events import EventBus, to_json_value
from kraken_core.api.models import DEVICE_KINDS
from kraken_core.clock import Clock
from kraken_core.engine.backend import EngineBackend
from kraken_core.engine.engine import Engine
from kraken_core.engine.history import HistorySettings
from kraken_core.engine.hub import DeviceHub
from kraken_core.engine.settings import EngineSettings
from kraken_core.kraken.client import OCTOPUS_BACKEND_GRAPHQL_URL, KrakenClient
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
    backend_graphql_url: str = OCTOPUS_BACKEND_GRAPHQL_URL,
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
            backend_graphql_url=backend_graphql_url,
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
