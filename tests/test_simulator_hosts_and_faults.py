"""The simulator's second host, its REST routes per fuel and register, and its new faults,
as a plain HTTP client sees them (no project client in between)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import (
    ScenarioError,
    bundled_scenario_path,
    load_scenario,
    parse_scenario,
)
from kraken_core.simulator.server import RunningSimulator, run_simulator

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SAVING_SESSIONS = "query { savingSessions { events { code } } }"


@pytest.fixture
async def flux() -> AsyncIterator[tuple[RunningSimulator, httpx.AsyncClient, str]]:
    scenario = load_scenario(bundled_scenario_path("flux_solar_battery"))
    simulator = Simulator(scenario, SimulatedClock(scenario.start))
    async with run_simulator(simulator) as running, httpx.AsyncClient(timeout=5) as http:
        signed_in = await http.post(
            running.graphql_url,
            json={
                "query": "mutation($k: String) { obtainKrakenToken(input: {APIKey: $k}) "
                "{ token } }",
                "variables": {"k": "sk_live_x"},
            },
        )
        yield running, http, signed_in.json()["data"]["obtainKrakenToken"]["token"]


async def test_saving_sessions_live_on_the_backend_host_only(
    flux: tuple[RunningSimulator, httpx.AsyncClient, str],
) -> None:
    running, http, token = flux
    headers = {"Authorization": token}
    main = await http.post(running.graphql_url, json={"query": SAVING_SESSIONS}, headers=headers)
    backend = await http.post(
        running.backend_graphql_url, json={"query": SAVING_SESSIONS}, headers=headers
    )

    assert main.status_code == 400
    assert "Cannot query field 'savingSessions'" in main.text
    assert backend.status_code == 200
    assert [e["code"] for e in backend.json()["data"]["savingSessions"]["events"]] == [
        "EVENT_2026_03_10",
        "EVENT_2026_03_11",
    ]


async def test_rest_rates_are_served_per_fuel_and_register() -> None:
    scenario = load_scenario(bundled_scenario_path("economy7_gas"))
    simulator = Simulator(scenario, SimulatedClock(scenario.start))
    auth = ("sk_live_x", "")
    async with run_simulator(simulator) as running, httpx.AsyncClient(timeout=5) as http:
        base = running.rest_url + "products/VAR-22-11-01/"
        night = await http.get(
            base + "electricity-tariffs/E-2R-VAR-22-11-01-C/night-unit-rates/", auth=auth
        )
        gas = await http.get(base + "gas-tariffs/G-1R-VAR-22-11-01-C/standing-charges/", auth=auth)
        gas_as_electricity = await http.get(
            base + "electricity-tariffs/G-1R-VAR-22-11-01-C/standard-unit-rates/", auth=auth
        )

    assert sorted(r["value_inc_vat"] for r in night.json()["results"]) == [13.1, 13.76]
    assert {r["payment_method"] for r in gas.json()["results"]} == {
        "DIRECT_DEBIT",
        "NON_DIRECT_DEBIT",
    }
    assert gas_as_electricity.status_code == 404


def _scenario_with(fault: dict[str, Any]) -> str:
    raw = json.loads(bundled_scenario_path("iog_export_ev_demo").read_text(encoding="utf-8"))
    raw["faults"] = [
        {"from": "2026-03-10T12:00:00Z", "to": "2026-03-10T13:00:00Z", **fault},
    ]
    return json.dumps(raw)


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        (
            {"operation": "devices", "http_status": 503, "retry_after": 30},
            "retry_after goes with http_status 429",
        ),
        (
            {"operation": "standing-charges", "removed_field": "value_inc_vat"},
            "REST: error codes and removed fields are GraphQL only",
        ),
        (
            {"operation": "devices", "malformed": True, "timeout": 3},
            "exactly one of error_code, http_status, timeout, malformed or removed_field",
        ),
    ],
    ids=["retry-after-without-429", "removed-field-on-rest", "two-failures"],
)
def test_a_fault_that_cannot_happen_is_refused(fault: dict[str, Any], problem: str) -> None:
    with pytest.raises(ScenarioError, match=problem):
        parse_scenario(_scenario_with(fault))


async def test_a_malformed_fault_cuts_the_body_off() -> None:
    scenario = parse_scenario(_scenario_with({"operation": "obtainKrakenToken", "malformed": True}))
    simulator = Simulator(scenario, SimulatedClock(scenario.start))
    async with run_simulator(simulator) as running, httpx.AsyncClient(timeout=5) as http:
        answer = await http.post(
            running.graphql_url,
            json={"query": 'mutation { obtainKrakenToken(input: {APIKey: "k"}) { token } }'},
        )

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.text)
