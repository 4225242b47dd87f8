"""The whole service (client, engine, store, hub) against a simulator served on loopback,
both on one simulated clock, in process: for the engine tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from kraken_core.clock import SimulatedClock
from kraken_core.engine.settings import EngineSettings
from kraken_core.service import Service, open_service
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import Scenario
from kraken_core.simulator.server import run_simulator


@asynccontextmanager
async def running(
    scenario: Scenario,
    data_dir: Path,
    settings: EngineSettings | None = None,
    *,
    keep_request_log: bool = False,
) -> AsyncIterator[tuple[Simulator, Service, SimulatedClock]]:
    """The simulator on ``scenario`` and the whole service against it, on one
    simulated clock."""
    clock = SimulatedClock(scenario.start)
    simulator = Simulator(scenario, clock, keep_request_log=keep_request_log)
    async with (
        run_simulator(simulator) as sim,
        open_service(
            clock=clock,
            api_key="sk_test_triggers",
            account_number=scenario.account.number,
            graphql_url=sim.graphql_url,
            rest_url=sim.rest_url,
            backend_graphql_url=sim.backend_graphql_url,
            data_dir=data_dir,
            engine_settings=settings,
        ) as service,
    ):
        yield simulator, service, clock
