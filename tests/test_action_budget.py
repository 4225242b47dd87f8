"""The bridge's own budget for changes to a device (issue #16, item 6).

A boost Kraken refuses changed nothing and gives back what it spent; a cancel is never
held back by the bridge's own budget; a spent budget says when to ask again. Against
the simulator served over HTTP, on its simulated clock.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.budget import DEFAULT_LIMITS, BudgetStatus
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.errors import KrakenActionRefused, KrakenBudgetSpent
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import parse_scenario
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.kraken_harness import client_for

EV = "dev-1"
BOOSTS_AN_HOUR = DEFAULT_LIMITS["updateBoostCharge"].requests


def evening(start: str) -> Simulator:
    """The IOG evening scenario from ``start``: unplugged before 18:00, plugged in after."""
    raw = json.loads((SCENARIOS / "iog_evening_smart_dispatch.json").read_text())
    raw["start"] = start
    raw["faults"] = []
    scenario = parse_scenario(json.dumps(raw))
    return Simulator(scenario, SimulatedClock(scenario.start))


def boost_budget(client: KrakenClient) -> BudgetStatus:
    return next(s for s in client.budget.status() if s.operation == "updateBoostCharge")


async def test_refused_boosts_leave_the_budget_and_a_cancel_goes_through() -> None:
    simulator = evening("2026-03-10T17:50:00Z")  # the car is not plugged in
    async with client_for(simulator) as client:
        for _ in range(BOOSTS_AN_HOUR + 1):
            with pytest.raises(KrakenActionRefused, match="not plugged in"):
                await client.boost(EV)
        used = boost_budget(client).used
        await client.cancel_boost(EV)

    assert used == 0
    assert simulator.request_counts["updateBoostCharge"] == BOOSTS_AN_HOUR + 2


async def test_a_spent_boost_budget_says_when_and_still_lets_a_boost_be_cancelled() -> None:
    simulator = evening("2026-03-10T18:05:00Z")  # plugged in: every boost is accepted
    clock = simulator.clock
    assert isinstance(clock, SimulatedClock)
    first_boost = clock.now()
    async with client_for(simulator) as client:
        for _ in range(BOOSTS_AN_HOUR):
            await client.boost(EV)
            clock.advance(timedelta(minutes=1))
            await client.cancel_boost(EV)
        with pytest.raises(KrakenBudgetSpent) as spent:
            await client.boost(EV)
        for _ in range(3):  # cancels are never held back, however many
            await client.cancel_boost(EV)
        used = boost_budget(client).used

    assert spent.value.retry_at == first_boost + timedelta(hours=1)
    assert "2026-03-10T19:05:00Z" in str(spent.value)
    assert used == BOOSTS_AN_HOUR
    assert simulator.request_counts["updateBoostCharge"] == 2 * BOOSTS_AN_HOUR + 3
