"""The simulator as a client sees it: a real HTTP server on loopback, real httpx calls.

Scenarios are the bundled ones, sometimes with a change written to a temporary file; the
GraphQL documents are the client's own (kraken_core/kraken/documents).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.documents import document_source
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import (
    ScenarioError,
    bundled_scenario_path,
    bundled_scenarios,
    load_scenario,
)
from kraken_core.simulator.server import RunningSimulator, run_simulator
from tests.helpers.scenario_checks import assert_refused

DEMO = "iog_export_ev_demo"
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ACCOUNT = "A-1F2E3D4C"
EV = "4f7c1a2e-3b9d-4e61-9a0c-7d2f5b8e1c34"
HOME_MINI = "0A-1B-2C-3D-4E-5F-60-71"
IOG_RATES = (
    "products/INTELLI-VAR-24-10-29/electricity-tariffs/E-1R-INTELLI-VAR-24-10-29-C/"
    "standard-unit-rates/"
)
API_KEY = ("sk_live_simulated", "")

Json = dict[str, Any]
ScenarioEditor = Callable[[Json], None]


def _demo_json() -> Json:
    data: Json = json.loads(bundled_scenario_path(DEMO).read_text(encoding="utf-8"))
    return data


def _write_scenario(directory: Path, data: Json, name: str = "scenario.json") -> Path:
    path = directory / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class Kraken:
    """A tiny client over the running simulator, speaking the project's documents."""

    def __init__(self, running: RunningSimulator, http: httpx.AsyncClient) -> None:
        self.running = running
        self.http = http
        self.token: str | None = None

    @property
    def clock(self) -> SimulatedClock:
        clock = self.running.simulator.clock
        assert isinstance(clock, SimulatedClock)
        return clock

    async def post(
        self, query: str, variables: Json | None = None, **headers: str
    ) -> httpx.Response:
        return await self.http.post(
            self.running.graphql_url,
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )

    async def run(
        self, document: str, variables: Json | None = None, token: str | None = None
    ) -> Json:
        query = document_source(document)
        headers = {"Authorization": token} if token else {}
        response = await self.post(query, variables, **headers)
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def sign_in(self) -> Json:
        body = await self.run("obtain_kraken_token", {"input": {"APIKey": "sk_live_simulated"}})
        issued: Json = body["data"]["obtainKrakenToken"]
        self.token = issued["token"]
        return issued

    async def ask(self, document: str, **variables: Any) -> Json:
        if self.token is None:
            await self.sign_in()
        return await self.run(document, variables, self.token)

    async def rates(self, url: str, **params: str | int) -> httpx.Response:
        return await self.http.get(url, params=params, auth=API_KEY)


def error_codes(body: Json) -> list[str]:
    return [error["extensions"]["errorCode"] for error in body.get("errors", [])]


@pytest.fixture
def scenario_path() -> Path:
    return bundled_scenario_path(DEMO)


@pytest.fixture
async def kraken(scenario_path: Path) -> AsyncIterator[Kraken]:
    scenario = load_scenario(scenario_path)
    simulator = Simulator(scenario, SimulatedClock(scenario.start))
    async with run_simulator(simulator) as running, httpx.AsyncClient(timeout=10) as http:
        yield Kraken(running, http)


# --- tokens ---------------------------------------------------------------------------


async def test_an_api_key_buys_a_token_and_a_week_long_refresh_token(kraken: Kraken) -> None:
    issued = await kraken.sign_in()

    assert issued["token"]
    assert issued["refreshToken"]
    assert issued["refreshExpiresIn"] == int((START + timedelta(days=7)).timestamp())
    body = await kraken.ask("account", accountNumber=ACCOUNT)
    assert body["data"]["account"]["number"] == ACCOUNT


async def test_a_token_expires_after_sixty_simulated_minutes(kraken: Kraken) -> None:
    await kraken.sign_in()

    kraken.clock.advance(timedelta(minutes=59, seconds=59))
    assert "errors" not in await kraken.ask("devices", accountNumber=ACCOUNT)
    kraken.clock.advance(timedelta(seconds=1))
    expired = await kraken.ask("devices", accountNumber=ACCOUNT)

    assert error_codes(expired) == ["KT-CT-1124"]
    assert expired["data"] == {"devices": None}


async def test_a_refresh_token_renews_access_until_it_expires(kraken: Kraken) -> None:
    issued = await kraken.sign_in()
    kraken.clock.advance(timedelta(hours=2))

    renewed = await kraken.run(
        "obtain_kraken_token", {"input": {"refreshToken": issued["refreshToken"]}}
    )
    token = renewed["data"]["obtainKrakenToken"]["token"]
    assert token != issued["token"]
    assert "errors" not in await kraken.run("devices", {"accountNumber": ACCOUNT}, token)

    kraken.clock.advance(timedelta(days=7))
    refused = await kraken.run(
        "obtain_kraken_token", {"input": {"refreshToken": issued["refreshToken"]}}
    )
    assert error_codes(refused) == ["KT-CT-1134"]


async def test_requests_without_a_valid_token_are_refused_like_kraken(kraken: Kraken) -> None:
    missing = await kraken.run("account", {"accountNumber": ACCOUNT})
    unknown = await kraken.run("account", {"accountNumber": ACCOUNT}, token="not-a-token")
    empty_key = await kraken.run("obtain_kraken_token", {"input": {"APIKey": ""}})

    assert error_codes(missing) == ["KT-CT-1112"]
    assert missing["data"] == {"account": None}
    assert error_codes(unknown) == ["KT-CT-1111"]
    assert error_codes(empty_key) == ["KT-CT-1135"]


# --- account and devices ----------------------------------------------------------------


async def test_account_lists_import_and_export_agreements_with_the_home_mini(
    kraken: Kraken,
) -> None:
    body = await kraken.ask("account", accountNumber=ACCOUNT)

    agreements = body["data"]["account"]["electricityAgreements"]
    by_direction = {agreement["meterPoint"]["direction"]: agreement for agreement in agreements}
    assert set(by_direction) == {"IMPORT", "EXPORT"}
    assert by_direction["IMPORT"]["tariff"] == {
        "__typename": "StandardTariff",
        "productCode": "INTELLI-VAR-24-10-29",
        "tariffCode": "E-1R-INTELLI-VAR-24-10-29-C",
    }
    assert by_direction["EXPORT"]["tariff"]["tariffCode"] == "E-1R-OUTGOING-VAR-24-10-26-C"
    import_meter = by_direction["IMPORT"]["meterPoint"]["meters"][0]
    assert import_meter["smartImportElectricityMeter"] == {"deviceId": HOME_MINI}
    assert import_meter["serialNumber"] == "23J0412345"
    export_meter = by_direction["EXPORT"]["meterPoint"]["meters"][0]
    assert export_meter["smartExportElectricityMeter"] == {"deviceId": HOME_MINI}


async def test_someone_elses_account_is_unauthorized(kraken: Kraken) -> None:
    body = await kraken.ask("account", accountNumber="A-00000000")

    assert error_codes(body) == ["KT-CT-4177"]
    assert body["data"] == {"account": None}


async def test_the_car_state_follows_the_timeline_as_the_clock_moves(kraken: Kraken) -> None:
    async def state_at(when: datetime) -> str:
        kraken.clock.set(when)
        await kraken.sign_in()
        body = await kraken.ask("devices", accountNumber=ACCOUNT)
        (device,) = body["data"]["devices"]
        assert device["status"]["current"] == "LIVE"
        assert (device["make"], device["model"]) == ("Tesla", "Model 3")
        state: str = device["status"]["currentState"]
        return state

    assert await state_at(START) == "SMART_CONTROL_NOT_AVAILABLE"
    assert await state_at(START.replace(hour=18)) == "SMART_CONTROL_CAPABLE"
    assert await state_at(START.replace(hour=19, minute=30)) == "SMART_CONTROL_IN_PROGRESS"
    assert await state_at(START + timedelta(hours=20)) == "SMART_CONTROL_NOT_AVAILABLE"


async def test_a_vehicle_is_served_as_a_smartflex_vehicle(kraken: Kraken) -> None:
    await kraken.sign_in()
    assert kraken.token is not None
    response = await kraken.post(
        "query($n: String!) { devices(accountNumber: $n) { __typename id status { __typename } } }",
        {"n": ACCOUNT},
        Authorization=kraken.token,
    )

    assert response.json()["data"]["devices"] == [
        {
            "__typename": "SmartFlexVehicle",
            "id": EV,
            "status": {"__typename": "SmartFlexVehicleStatus"},
        }
    ]


async def test_planned_dispatches_drop_out_once_they_have_ended(kraken: Kraken) -> None:
    async def dispatch_starts(when: datetime) -> list[str]:
        kraken.clock.set(when)
        await kraken.sign_in()
        body = await kraken.ask("flex_planned_dispatches", deviceId=EV)
        return [dispatch["start"] for dispatch in body["data"]["flexPlannedDispatches"]]

    assert await dispatch_starts(START) == []
    evening, first_night, second_night = (
        "2026-03-10T19:00:00+00:00",
        "2026-03-10T23:30:00+00:00",
        "2026-03-11T03:30:00+00:00",
    )
    assert await dispatch_starts(START.replace(hour=18)) == [evening, first_night, second_night]
    assert await dispatch_starts(START.replace(hour=19, minute=59)) == [
        evening,
        first_night,
        second_night,
    ]
    assert await dispatch_starts(START.replace(hour=20)) == [first_night, second_night]
    assert await dispatch_starts(START + timedelta(hours=17)) == []


async def test_a_dispatch_carries_its_type_end_and_energy(kraken: Kraken) -> None:
    kraken.clock.set(START.replace(hour=18))
    body = await kraken.ask("flex_planned_dispatches", deviceId=EV)

    assert body["data"]["flexPlannedDispatches"][0] == {
        "start": "2026-03-10T19:00:00+00:00",
        "end": "2026-03-10T20:00:00+00:00",
        "type": "SMART",
        "energyAddedKwh": "6.8",
    }


async def test_dispatches_of_an_unknown_device_are_refused(kraken: Kraken) -> None:
    body = await kraken.ask("flex_planned_dispatches", deviceId="no-such-device")

    assert error_codes(body) == ["KT-CT-4301"]


# --- telemetry --------------------------------------------------------------------------


async def test_latest_telemetry_integrates_demand_from_the_scenario_start(kraken: Kraken) -> None:
    kraken.clock.advance(timedelta(hours=1))
    body = await kraken.ask("smart_meter_telemetry", deviceId=HOME_MINI)

    (reading,) = body["data"]["smartMeterTelemetry"]
    assert reading["readAt"] == "2026-03-10T13:00:00+00:00"
    assert Decimal(reading["demand"]) == 450
    assert Decimal(reading["consumption"]) == 450  # Wh: 450 W for one hour
    assert Decimal(reading["export"]) == 35


async def test_meter_registers_never_go_down(kraken: Kraken) -> None:
    consumption: list[Decimal] = []
    for _ in range(6):
        kraken.clock.advance(timedelta(minutes=7, seconds=13))
        await kraken.sign_in()
        body = await kraken.ask("smart_meter_telemetry", deviceId=HOME_MINI)
        consumption.append(Decimal(body["data"]["smartMeterTelemetry"][0]["consumption"]))

    assert consumption == sorted(consumption)
    assert consumption[0] < consumption[-1]


async def test_telemetry_over_a_range_comes_in_grouping_intervals(kraken: Kraken) -> None:
    kraken.clock.advance(timedelta(hours=2))
    body = await kraken.ask(
        "smart_meter_telemetry",
        deviceId=HOME_MINI,
        start="2026-03-10T12:00:00Z",
        end="2026-03-10T14:00:00Z",
        grouping="HALF_HOURLY",
    )

    readings = body["data"]["smartMeterTelemetry"]
    assert [reading["readAt"][11:16] for reading in readings] == [
        "12:00",
        "12:30",
        "13:00",
        "13:30",
    ]
    assert [Decimal(reading["consumptionDelta"]) for reading in readings] == [225] * 4
    registers = [Decimal(reading["consumption"]) for reading in readings]
    assert registers == sorted(registers)


async def test_a_range_into_the_future_stops_at_now(kraken: Kraken) -> None:
    kraken.clock.advance(timedelta(minutes=45))
    body = await kraken.ask(
        "smart_meter_telemetry",
        deviceId=HOME_MINI,
        start="2026-03-10T12:00:00Z",
        end="2026-03-10T18:00:00Z",
        grouping="HOURLY",
    )

    (reading,) = body["data"]["smartMeterTelemetry"]
    assert Decimal(reading["consumptionDelta"]) == Decimal("337.5")  # 45 minutes at 450 W


async def test_telemetry_range_needs_start_end_and_grouping_together(kraken: Kraken) -> None:
    body = await kraken.ask(
        "smart_meter_telemetry", deviceId=HOME_MINI, start="2026-03-10T12:00:00Z"
    )

    assert error_codes(body) == ["KT-GB-4040"]
    assert body["data"] == {"smartMeterTelemetry": None}


async def test_telemetry_of_an_unknown_meter_is_refused(kraken: Kraken) -> None:
    body = await kraken.ask("smart_meter_telemetry", deviceId="FF-FF-FF-FF-FF-FF-FF-FF")

    assert error_codes(body) == ["KT-GB-4050"]


async def test_recorded_readings_are_served_as_given_within_the_range(
    tmp_path: Path,
) -> None:
    data = _demo_json()
    data["telemetry"] = {
        "readings": [
            {
                "readAt": f"2026-03-10T12:{minute:02d}:00Z",
                "consumption": 1000 + minute,
                "demand": "300.0",
            }
            for minute in range(0, 60, 10)
        ]
    }
    clock = SimulatedClock(START + timedelta(minutes=35))
    simulator = Simulator(load_scenario(_write_scenario(tmp_path, data)), clock)
    async with run_simulator(simulator) as running, httpx.AsyncClient() as http:
        kraken = Kraken(running, http)
        latest = await kraken.ask("smart_meter_telemetry", deviceId=HOME_MINI)
        ranged = await kraken.ask(
            "smart_meter_telemetry",
            deviceId=HOME_MINI,
            start="2026-03-10T12:10:00Z",
            end="2026-03-10T13:00:00Z",
            grouping="ONE_MINUTE",
        )

    assert latest["data"]["smartMeterTelemetry"][0]["consumption"] == "1030"
    assert [row["readAt"][14:16] for row in ranged["data"]["smartMeterTelemetry"]] == [
        "10",
        "20",
        "30",
    ]


# --- REST rates -------------------------------------------------------------------------


async def test_unit_rates_page_newest_first_and_next_leads_to_the_end(kraken: Kraken) -> None:
    url: str | None = kraken.running.rest_url + IOG_RATES + "?page_size=5"
    rows: list[Json] = []
    counts: set[int] = set()
    pages = 0
    while url is not None:
        response = await kraken.http.get(url, auth=API_KEY)
        assert response.status_code == 200, response.text
        page = response.json()
        counts.add(page["count"])
        rows.extend(page["results"])
        url = page["next"]
        assert url is None or url.startswith(kraken.running.url)
        pages += 1

    assert counts == {len(rows)}
    assert pages == -(-len(rows) // 5) > 2
    starts = [row["valid_from"] for row in rows]
    assert starts == sorted(starts, reverse=True)
    assert len(set(starts)) == len(starts)
    assert rows[0]["valid_from"].endswith("Z")


async def test_unit_rates_overlapping_the_period_are_served(kraken: Kraken) -> None:
    response = await kraken.rates(
        kraken.running.rest_url + IOG_RATES,
        period_from="2026-03-10T12:00:00Z",
        period_to="2026-03-11T00:00:00Z",
    )

    assert response.json()["results"] == [
        {
            "value_exc_vat": 6.6667,
            "value_inc_vat": 7.0,
            "valid_from": "2026-03-10T23:30:00Z",
            "valid_to": "2026-03-11T05:30:00Z",
            "payment_method": None,
        },
        {
            "value_exc_vat": 23.3333,
            "value_inc_vat": 24.5,
            "valid_from": "2026-03-10T05:30:00Z",
            "valid_to": "2026-03-10T23:30:00Z",
            "payment_method": None,
        },
    ]


async def test_fixed_export_rate_is_open_ended(kraken: Kraken) -> None:
    response = await kraken.rates(
        kraken.running.rest_url
        + "products/OUTGOING-VAR-24-10-26/electricity-tariffs/E-1R-OUTGOING-VAR-24-10-26-C/"
        "standard-unit-rates/",
        period_from="2026-03-10T00:00:00Z",
    )

    (rate,) = response.json()["results"]
    assert rate["valid_to"] is None
    assert rate["value_inc_vat"] == 15.0


async def test_standing_charges_are_served_per_payment_method(kraken: Kraken) -> None:
    response = await kraken.rates(
        kraken.running.rest_url
        + "products/INTELLI-VAR-24-10-29/electricity-tariffs/E-1R-INTELLI-VAR-24-10-29-C/"
        "standing-charges/",
        period_from="2026-03-10T00:00:00Z",
        period_to="2026-03-11T00:00:00Z",
    )

    charges = {row["payment_method"]: row["value_inc_vat"] for row in response.json()["results"]}
    assert charges == {"DIRECT_DEBIT": 48.79, "NON_DIRECT_DEBIT": 51.23}


@pytest.mark.parametrize("scenario_path", [bundled_scenario_path("agile_tomorrow_published")])
async def test_tomorrows_agile_prices_appear_at_four_pm(kraken: Kraken) -> None:
    url = (
        kraken.running.rest_url
        + "products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/standard-unit-rates/"
    )
    tomorrow = {"period_from": "2026-03-13T00:00:00Z", "period_to": "2026-03-14T00:00:00Z"}

    at_noon = (await kraken.rates(url, **tomorrow)).json()
    kraken.clock.set(datetime(2026, 3, 12, 16, 0, tzinfo=UTC))
    at_four = (await kraken.rates(url, **tomorrow)).json()

    assert at_noon["count"] == 0
    assert at_four["count"] == 48
    assert min(row["value_inc_vat"] for row in at_four["results"]) < 0


async def test_rates_are_public_but_refuse_a_malformed_header_and_an_unknown_tariff(
    kraken: Kraken,
) -> None:
    anonymous = await kraken.http.get(kraken.running.rest_url + IOG_RATES)
    with_key = await kraken.rates(kraken.running.rest_url + IOG_RATES)
    malformed = await kraken.http.get(
        kraken.running.rest_url + IOG_RATES, headers={"Authorization": "Basic %%%"}
    )
    not_basic = await kraken.http.get(
        kraken.running.rest_url + IOG_RATES, headers={"Authorization": "Token abc"}
    )
    unknown = await kraken.rates(
        kraken.running.rest_url
        + "products/INTELLI-VAR-24-10-29/electricity-tariffs/E-1R-NOPE-C/standard-unit-rates/"
    )

    assert anonymous.status_code == 200
    assert anonymous.json() == with_key.json()
    assert anonymous.json()["count"] > 0
    assert malformed.status_code == 401
    assert not_basic.status_code == 401
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No ElectricityTariff matches the given query."}


# --- faults -----------------------------------------------------------------------------


def _with_faults(tmp_path: Path, *faults: Json) -> Path:
    data = _demo_json()
    data["faults"] = list(faults)
    return _write_scenario(tmp_path, data)


@pytest.fixture
def faulty_scenario(tmp_path: Path) -> Path:
    return _with_faults(
        tmp_path,
        {
            "from": "2026-03-10T13:00:00Z",
            "to": "2026-03-10T13:10:00Z",
            "operation": "flexPlannedDispatches",
            "error_code": "KT-CT-4340",
        },
        {
            "from": "2026-03-10T14:00:00Z",
            "to": "2026-03-10T15:00:00Z",
            "operation": "smartMeterTelemetry",
            "http_status": 503,
        },
        {
            "from": "2026-03-10T14:00:00Z",
            "to": "2026-03-10T15:00:00Z",
            "operation": "standard-unit-rates",
            "http_status": 502,
        },
        {
            "from": "2026-03-10T16:00:00Z",
            "to": "2026-03-10T17:00:00Z",
            "operation": "devices",
            "timeout": 2,
        },
    )


@pytest.fixture
async def faulty(faulty_scenario: Path) -> AsyncIterator[Kraken]:
    simulator = Simulator(load_scenario(faulty_scenario))
    async with run_simulator(simulator) as running, httpx.AsyncClient(timeout=10) as http:
        yield Kraken(running, http)


async def test_an_error_code_fault_answers_only_inside_its_window(faulty: Kraken) -> None:
    faulty.clock.set(START.replace(hour=13, minute=5))
    inside = await faulty.ask("flex_planned_dispatches", deviceId=EV)
    faulty.clock.set(START.replace(hour=13, minute=10))
    after = await faulty.ask("flex_planned_dispatches", deviceId=EV)

    assert error_codes(inside) == ["KT-CT-4340"]
    assert inside["data"] == {"flexPlannedDispatches": None}
    assert "errors" not in after


async def test_a_faulted_field_fails_alone_in_a_request_with_several_fields(
    faulty: Kraken,
) -> None:
    faulty.clock.set(START.replace(hour=13, minute=5))
    await faulty.sign_in()
    assert faulty.token is not None
    response = await faulty.post(
        "query($n: String!, $d: String!) { devices(accountNumber: $n) { id } "
        "flexPlannedDispatches(deviceId: $d) { start } }",
        {"n": ACCOUNT, "d": EV},
        Authorization=faulty.token,
    )

    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"devices": [{"id": EV}], "flexPlannedDispatches": None}
    assert [error["path"] for error in body["errors"]] == [["flexPlannedDispatches"]]


async def test_an_http_status_fault_fails_the_whole_request(faulty: Kraken) -> None:
    await faulty.sign_in()
    faulty.clock.set(START.replace(hour=14, minute=30))
    query = document_source("smart_meter_telemetry")
    assert faulty.token is not None
    graphql = await faulty.post(query, {"deviceId": HOME_MINI}, Authorization=faulty.token)
    rest = await faulty.rates(faulty.running.rest_url + IOG_RATES)

    assert graphql.status_code == 503
    assert rest.status_code == 502


async def test_a_timeout_fault_outlasts_a_short_client_timeout(faulty: Kraken) -> None:
    await faulty.sign_in()
    faulty.clock.set(START.replace(hour=16, minute=30))

    with pytest.raises(httpx.ReadTimeout):
        await faulty.http.post(
            faulty.running.graphql_url,
            json={
                "query": document_source("devices"),
                "variables": {"accountNumber": ACCOUNT},
            },
            headers={"Authorization": faulty.token or ""},
            timeout=0.3,
        )


async def test_the_server_stops_promptly_while_a_timeout_fault_holds_a_request(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(
        _with_faults(
            tmp_path,
            {
                "from": "2026-03-10T00:00:00Z",
                "to": "2026-03-11T00:00:00Z",
                "operation": "standard-unit-rates",
                "timeout": True,
            },
        )
    )
    async with httpx.AsyncClient() as http:
        async with run_simulator(Simulator(scenario)) as running:
            with pytest.raises(httpx.ReadTimeout):
                await http.get(running.rest_url + IOG_RATES, auth=API_KEY, timeout=0.2)
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 3


# --- request counts, validation ---------------------------------------------------------


async def test_requests_are_counted_per_root_field(kraken: Kraken) -> None:
    await kraken.sign_in()
    assert kraken.token is not None
    await kraken.post(
        "query($n: String!) { account(accountNumber: $n) { number } "
        "devices(accountNumber: $n) { id } }",
        {"n": ACCOUNT},
        Authorization=kraken.token,
    )
    await kraken.ask("devices", accountNumber=ACCOUNT)
    await kraken.rates(kraken.running.rest_url + IOG_RATES)

    assert kraken.running.simulator.request_counts == {
        "obtainKrakenToken": 1,
        "account": 1,
        "devices": 2,
        "rest:standard-unit-rates": 1,
    }


async def test_a_document_invalid_on_kraken_is_refused_as_a_whole(kraken: Kraken) -> None:
    response = await kraken.post('{ account(accountNumber: "A-1F2E3D4C") { balanceInPounds } }')

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert "Cannot query field 'balanceInPounds' on type 'AccountType'." in [
        error["message"] for error in body["errors"]
    ]


# --- scenario files -----------------------------------------------------------------------


def test_every_bundled_scenario_loads() -> None:
    names = bundled_scenarios()

    assert {"iog_export_ev_demo", "agile_tomorrow_published"} <= set(names)
    for name in names:
        assert load_scenario(bundled_scenario_path(name)).start.tzinfo is not None


def _break(data: Json, edit: ScenarioEditor) -> Json:
    edit(data)
    return data


def _naive_timeline_time(data: Json) -> None:
    data["devices"][0]["timeline"][1]["at"] = "2026-03-10T18:00:00"


def _unknown_key(data: Json) -> None:
    data["account"]["electricity"][0]["tarrif_code"] = "E-1R-X"


def _wrong_type(data: Json) -> None:
    data["unit_rates"]["E-1R-INTELLI-VAR-24-10-29-C"][2]["value_inc_vat"] = "cheap"


def _fault_without_failure(data: Json) -> None:
    data["faults"] = [
        {"from": "2026-03-10T13:00:00Z", "to": "2026-03-10T14:00:00Z", "operation": "devices"}
    ]


@pytest.mark.parametrize(
    ("edit", "path", "hint"),
    [
        (_naive_timeline_time, "$.devices[0].timeline[1].at", "no timezone"),
        (_unknown_key, "$.account.electricity[0].tarrif_code", "unknown key"),
        (_wrong_type, "$.unit_rates.E-1R-INTELLI-VAR-24-10-29-C[2].value_inc_vat", "'cheap'"),
        (_fault_without_failure, "$.faults[0]", "exactly one of error_code, http_status"),
    ],
    ids=["naive-datetime", "unknown-key", "wrong-type", "fault-without-failure"],
)
def test_a_broken_scenario_is_refused_with_file_path_and_fix(
    tmp_path: Path, edit: ScenarioEditor, path: str, hint: str
) -> None:
    assert_refused(tmp_path, _break(_demo_json(), edit), path, hint)


def test_a_scenario_that_is_not_json_says_where(tmp_path: Path) -> None:
    file = tmp_path / "broken.json"
    file.write_text('{"start": "2026-03-10T12:00:00Z",\n  "account": }', encoding="utf-8")

    with pytest.raises(ScenarioError, match=r"broken\.json: not valid JSON at line 2"):
        load_scenario(file)
