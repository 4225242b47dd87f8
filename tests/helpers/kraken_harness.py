"""A Kraken client connected to a simulator served on loopback, for the client tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.client import KrakenClient
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.server import run_simulator


@asynccontextmanager
async def client_against(
    simulator: Simulator, *, api_key: str, **client_options: Any
) -> AsyncIterator[KrakenClient]:
    """The client for the scenario's account, on the simulator's (simulated) clock."""
    clock = simulator.clock
    assert isinstance(clock, SimulatedClock)
    async with (
        run_simulator(simulator) as running,
        KrakenClient(
            api_key=api_key,
            account_number=simulator.scenario.account.number,
            clock=clock,
            graphql_url=running.graphql_url,
            backend_graphql_url=running.backend_graphql_url,
            rest_url=running.rest_url,
            **client_options,
        ) as client,
    ):
        yield client
