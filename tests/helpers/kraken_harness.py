"""A Kraken client connected to a simulator served on loopback, for the client tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.client import KrakenClient
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import parse_scenario
from kraken_core.simulator.server import run_simulator
from tests.helpers.bridge_process import SCENARIOS

# The key ``client_for`` uses: the tests check it never leaks into logs or reprs.
API_KEY = "sk_live_secret_key_that_must_not_leak"


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


def scenario(faults: list[dict[str, Any]] | None = None) -> Simulator:
    """The simulator on the IOG evening scenario, with ``faults`` instead of its own."""
    raw = json.loads((SCENARIOS / "iog_evening_smart_dispatch.json").read_text())
    raw["faults"] = faults or []
    parsed = parse_scenario(json.dumps(raw))
    return Simulator(parsed, SimulatedClock(parsed.start))


@asynccontextmanager
async def client_for(simulator: Simulator, **kwargs: Any) -> AsyncIterator[KrakenClient]:
    """``client_against`` with ``API_KEY``."""
    async with client_against(simulator, api_key=API_KEY, **kwargs) as client:
        yield client
