"""Successive agreements on one meter point: the scenario's optional
``electricity[].valid_from``/``valid_to``, the simulator's ``electricityAgreements``
(``active: true`` lists only what is in force at the simulator clock's now), and the
engine's ``tariff_product_changed`` when the account read after the switch shows the new
product. The scenario is the one the Homey end-to-end test runs
(tests/scenarios/agile_to_iog_1900.json): Agile until 19:00, then IOG.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.documents import document_source
from kraken_core.service import open_service
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import load_scenario
from kraken_core.simulator.server import run_simulator
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.scenario_checks import assert_refused
from tests.helpers.simulator_http import SimulatorHttp

SCENARIO = SCENARIOS / "agile_to_iog_1900.json"
ACCOUNT = "A-0E2E0003"
MPAN = "1900000000001"
AGILE = ("AGILE-24-10-01", "E-1R-AGILE-24-10-01-C")
IOG = ("INTELLI-VAR-24-10-29", "E-1R-INTELLI-VAR-24-10-29-C")
SWITCH = datetime(2026, 3, 10, 19, 0, tzinfo=UTC)

Json = dict[str, Any]

# Every agreement, whatever its dates (no ``active`` argument).
ALL_AGREEMENTS = """
query AllAgreements($accountNumber: String!) {
  account(accountNumber: $accountNumber) {
    electricityAgreements {
      validFrom
      validTo
      tariff { ... on TariffType { productCode tariffCode } }
      meterPoint { id mpan direction }
    }
  }
}
"""


def _scenario_json() -> Json:
    data: Json = json.loads(SCENARIO.read_text(encoding="utf-8"))
    return data


class Kraken(SimulatorHttp):
    """The running simulator, signed in, asked with the client's own documents."""

    async def query(self, query: str, **variables: Any) -> Json:
        headers = {"Authorization": self.token} if self.token else {}
        response = await self.http.post(
            self.running.graphql_url,
            json={"query": query, "variables": variables},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        body: Json = response.json()
        assert "errors" not in body, body
        return body

    async def sign_in(self) -> None:
        body = await self.query(
            document_source("obtain_kraken_token"), input={"APIKey": "sk_live_simulated"}
        )
        self.token = body["data"]["obtainKrakenToken"]["token"]

    async def active_agreements(self) -> list[Json]:
        body = await self.query(document_source("account"), accountNumber=ACCOUNT)
        agreements: list[Json] = body["data"]["account"]["electricityAgreements"]
        return agreements

    async def all_agreements(self) -> list[Json]:
        body = await self.query(ALL_AGREEMENTS, accountNumber=ACCOUNT)
        agreements: list[Json] = body["data"]["account"]["electricityAgreements"]
        return agreements


@pytest.fixture
async def kraken() -> AsyncIterator[Kraken]:
    scenario = load_scenario(SCENARIO)
    simulator = Simulator(scenario, SimulatedClock(scenario.start))
    async with run_simulator(simulator) as running, httpx.AsyncClient(timeout=10) as http:
        client = Kraken(running, http)
        await client.sign_in()
        yield client


def _tariff(agreement: Json) -> tuple[str, str]:
    return agreement["tariff"]["productCode"], agreement["tariff"]["tariffCode"]


# --- the simulator ------------------------------------------------------------------------


async def test_before_the_switch_only_the_agile_agreement_is_active(kraken: Kraken) -> None:
    (agreement,) = await kraken.active_agreements()

    assert _tariff(agreement) == AGILE
    assert agreement["meterPoint"]["mpan"] == MPAN
    assert agreement["validFrom"] == "2025-11-01T00:00:00+00:00"
    assert agreement["validTo"] == "2026-03-10T19:00:00+00:00"


async def test_from_the_switch_on_only_the_iog_agreement_is_active(kraken: Kraken) -> None:
    kraken.clock.set(SWITCH - timedelta(seconds=1))
    (still_agile,) = await kraken.active_agreements()
    kraken.clock.set(SWITCH)
    (agreement,) = await kraken.active_agreements()

    assert _tariff(still_agile) == AGILE
    assert _tariff(agreement) == IOG
    assert agreement["meterPoint"]["mpan"] == MPAN
    assert agreement["validFrom"] == "2026-03-10T19:00:00+00:00"
    assert agreement["validTo"] is None


async def test_without_active_every_agreement_is_listed_on_one_meter_point(
    kraken: Kraken,
) -> None:
    agreements = await kraken.all_agreements()

    assert [_tariff(a) for a in agreements] == [AGILE, IOG]
    assert {a["meterPoint"]["id"] for a in agreements} == {"1"}
    assert [a["validTo"] for a in agreements] == ["2026-03-10T19:00:00+00:00", None]


async def test_an_account_without_dates_is_always_active(tmp_path: Path) -> None:
    data = _scenario_json()
    del data["account"]["electricity"][1]
    for key in ("valid_from", "valid_to"):
        del data["account"]["electricity"][0][key]
    path = tmp_path / "static.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    scenario = load_scenario(path)
    simulator = Simulator(scenario, SimulatedClock(scenario.start + timedelta(days=30)))
    async with run_simulator(simulator) as running, httpx.AsyncClient(timeout=10) as http:
        kraken = Kraken(running, http)
        await kraken.sign_in()
        (agreement,) = await kraken.active_agreements()

    assert _tariff(agreement) == AGILE
    assert agreement["validTo"] is None
    # as before: the first known rate or standing charge row
    assert agreement["validFrom"] == "2025-11-01T00:00:00+00:00"


# --- the scenario file --------------------------------------------------------------------


def _overlap(data: Json) -> None:
    del data["account"]["electricity"][1]["valid_from"]


def _other_direction(data: Json) -> None:
    data["account"]["electricity"][1]["direction"] = "EXPORT"


def _backwards(data: Json) -> None:
    data["account"]["electricity"][0]["valid_to"] = "2025-10-01T00:00:00Z"


@pytest.mark.parametrize(
    ("edit", "path", "hint"),
    [
        (_overlap, "$.account.electricity", "overlap: give them valid_from/valid_to"),
        (_other_direction, "$.account.electricity", "different directions"),
        (_backwards, "$.account.electricity[0]", "must be after valid_from"),
    ],
    ids=["overlapping", "direction-changes", "ends-before-it-starts"],
)
def test_agreements_that_cannot_follow_each_other_are_refused(
    tmp_path: Path, edit: Callable[[Json], None], path: str, hint: str
) -> None:
    data = _scenario_json()
    edit(data)
    assert_refused(tmp_path, data, path, hint)


# --- the engine ---------------------------------------------------------------------------


async def test_the_engine_fires_tariff_product_changed_once_after_the_switch(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(SCENARIO)
    clock = SimulatedClock(scenario.start)
    simulator = Simulator(scenario, clock)
    async with (
        run_simulator(simulator) as sim,
        open_service(
            clock=clock,
            api_key="sk_test_agreements",
            account_number=ACCOUNT,
            graphql_url=sim.graphql_url,
            rest_url=sim.rest_url,
            backend_graphql_url=sim.backend_graphql_url,
            data_dir=tmp_path,
        ) as service,
    ):

        def changes() -> list[Json]:
            return [
                event.data
                for event in service.backend.events.buffered()
                if event.type == "trigger" and event.data["card"] == "tariff_product_changed"
            ]

        await service.engine.run_until(clock, SWITCH + timedelta(minutes=1))
        tariff = service.backend.device(f"import_tariff.{MPAN}")
        assert tariff is not None
        # The account was read at 18:05, when Agile was in force; the next read is an
        # hour (+ jitter) later.
        assert changes() == []
        assert tariff.state["tariff_code"] == AGILE[1]

        await service.engine.run_until(clock, SWITCH + timedelta(minutes=30))
        assert changes() == [
            {
                "device_id": f"import_tariff.{MPAN}",
                "card": "tariff_product_changed",
                "tokens": {
                    "previous_product_code": AGILE[0],
                    "previous_tariff_code": AGILE[1],
                    "product_code": IOG[0],
                    "tariff_code": IOG[1],
                },
            }
        ]
        tariff = service.backend.device(f"import_tariff.{MPAN}")
        assert tariff is not None
        assert (tariff.state["product_code"], tariff.state["tariff_code"]) == IOG
        assert tariff.state["unit_rate"] == 27.83  # IOG's peak rate, fetched on the switch
