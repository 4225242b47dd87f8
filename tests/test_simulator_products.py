"""Real tariff shapes in the simulator (DESIGN.md, "Real tariff shapes"), asked over HTTP.

Products given by a scenario or derived from its tariff codes decide which rates a tariff
answers; the account shows the tariff's ``__typename`` and the meter's ``meterType``; a gas
meter's device id answers ``gas_telemetry``. Each test runs the simulator as a real server.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from graphql import GraphQLUnionType

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.documents import document_source
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.graphql_schema import load_subset_schema
from kraken_core.simulator.products import ElectricityTariffTypename
from kraken_core.simulator.scenario import ScenarioError, bundled_scenario_path, load_scenario
from kraken_core.simulator.server import run_simulator
from tests.helpers.scenario_checks import assert_refused
from tests.helpers.simulator_http import SimulatorHttp

Json = dict[str, Any]

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
OCTOPUS = "https://api.octopus.energy"
E7 = ("VAR-22-11-01", "E-2R-VAR-22-11-01-C", "G-1R-VAR-22-11-01-C")
E7_HOME_MINI, GAS_HOME_MINI = "0A-1B-2C-3D-4E-5F-60-71", "0A-1B-2C-3D-4E-5F-60-73"
IOG = ("IOG-SMB-TOU-25-12-12", "E-1R-IOG-SMB-TOU-25-12-12-E")
IOG_HOME_MINI = "00-00-00-00-00-00-00-01"

TARIFF_QUERY = """
query($n: String!) {
  account(accountNumber: $n) {
    electricityAgreements(active: true) {
      tariff {
        __typename
        ... on TariffType { productCode tariffCode }
        ... on StandardTariff { unitRate }
        ... on DayNightTariff { dayRate nightRate }
        ... on FourRateEvTariff { dayRate nightRate evDevicePeakRate evDeviceOffPeakRate }
      }
      meterPoint { mpan meters { serialNumber meterType } }
    }
    gasAgreements { tariff { tariffCode unitRate } }
  }
}
"""


def _bundled(name: str) -> Json:
    data: Json = json.loads(bundled_scenario_path(name).read_text(encoding="utf-8"))
    return data


def _rows(*rows: tuple[str, str | None, float, str | None]) -> list[Json]:
    return [
        {"valid_from": start, "valid_to": end, "value_inc_vat": value, "payment_method": method}
        for start, end, value, method in rows
    ]


def _four_rate_ev() -> Json:
    """Intelligent Octopus Go as a four-rate EV tariff, its product given as Octopus writes
    it (with fields the simulator does not use), day/night rows and EV rates; plus
    standard rows the product does not link, which must never be served."""
    data = _bundled("iog_four_rate_ev_product")
    data["unit_rates"] = {IOG[1]: _rows(("2026-01-01T00:00:00Z", None, 99.0, None))}
    return data


class Kraken(SimulatorHttp):
    """The running simulator asked over HTTP: REST as anyone, GraphQL signed in."""

    async def get(self, url: str, **headers: str) -> httpx.Response:
        return await self.http.get(url, headers=headers)

    async def product(self, code: str) -> httpx.Response:
        return await self.get(f"{self.running.rest_url}products/{code}/")

    async def rates(
        self, product: str, tariff: str, resource: str, fuel: str = "electricity"
    ) -> httpx.Response:
        return await self.get(
            f"{self.running.rest_url}products/{product}/{fuel}-tariffs/{tariff}/{resource}/"
        )

    async def graphql(self, query: str, authorization: str | None = None, **variables: Any) -> Json:
        if not self.token:
            signed_in = await self.http.post(
                self.running.graphql_url,
                json={
                    "query": document_source("obtain_kraken_token"),
                    "variables": {"input": {"APIKey": "sk_live_simulated"}},
                },
            )
            self.token = signed_in.json()["data"]["obtainKrakenToken"]["token"]
        response = await self.http.post(
            self.running.graphql_url,
            json={"query": query, "variables": variables},
            headers={"Authorization": self.token if authorization is None else authorization},
        )
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def tariffs(self) -> Json:
        number = self.running.simulator.scenario.account.number
        body = await self.graphql(TARIFF_QUERY, n=number)
        assert "errors" not in body, body
        account: Json = body["data"]["account"]
        return account


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, data: Json) -> AsyncIterator[Kraken]:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    scenario = load_scenario(path)
    simulator = Simulator(scenario, SimulatedClock(scenario.start))
    async with run_simulator(simulator) as running, httpx.AsyncClient(timeout=10) as http:
        yield Kraken(running, http)


def _links(tariff_entry: Json) -> dict[str, str]:
    return {link["rel"]: link["href"] for link in tariff_entry["links"]}


# --- products -------------------------------------------------------------------------


async def test_an_economy7_and_gas_product_is_derived_from_the_rate_tables(
    tmp_path: Path,
) -> None:
    product, electricity, gas = E7
    async with serving(tmp_path, _bundled("economy7_gas")) as kraken:
        response = await kraken.product(product)
        body = response.json()
        followed = {
            rel: (await kraken.get(href)).json()
            for tariffs in (
                body["dual_register_electricity_tariffs"],
                body["single_register_gas_tariffs"],
            )
            for rel, href in _links(tariffs["_C"]["direct_debit_monthly"]).items()
            if rel != "standing_charges"
        }
        counts = dict(kraken.running.simulator.request_counts)
        base = kraken.running.url

    assert response.status_code == 200
    assert body["code"] == product
    assert body["single_register_electricity_tariffs"] == {}
    assert body["four_rate_ev_electricity_tariffs"] == {}
    dual = body["dual_register_electricity_tariffs"]["_C"]["direct_debit_monthly"]
    assert dual["code"] == electricity
    assert _links(dual) == {
        rel: f"{base}/v1/products/{product}/electricity-tariffs/{electricity}/{resource}/"
        for rel, resource in (
            ("day_unit_rates", "day-unit-rates"),
            ("night_unit_rates", "night-unit-rates"),
            ("standing_charges", "standing-charges"),
        )
    }
    gas_tariff = body["single_register_gas_tariffs"]["_C"]["direct_debit_monthly"]
    assert gas_tariff["code"] == gas
    gas_url = f"{base}/v1/products/{product}/gas-tariffs/{gas}"
    assert _links(gas_tariff) == {
        "standard_unit_rates": f"{gas_url}/standard-unit-rates/",
        "standing_charges": f"{gas_url}/standing-charges/",
    }
    assert sorted(row["value_inc_vat"] for row in followed["day_unit_rates"]["results"]) == [
        27.9,
        29.3,
    ]
    assert sorted(row["value_inc_vat"] for row in followed["night_unit_rates"]["results"]) == [
        13.1,
        13.76,
    ]
    assert sorted(row["value_inc_vat"] for row in followed["standard_unit_rates"]["results"]) == [
        6.24,
        6.55,
    ]
    assert counts["rest:product"] == 1


async def test_an_agile_product_is_single_register_in_the_tariff_codes_region(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path, _bundled("agile_tomorrow_published")) as kraken:
        body = (await kraken.product("AGILE-24-10-01")).json()

    (region,) = body["single_register_electricity_tariffs"]
    assert region == "_C"
    tariff = body["single_register_electricity_tariffs"]["_C"]["direct_debit_monthly"]
    assert tariff["code"] == "E-1R-AGILE-24-10-01-C"
    assert set(_links(tariff)) == {"standard_unit_rates", "standing_charges"}
    assert body["dual_register_electricity_tariffs"] == {}


async def test_a_given_product_is_served_as_written_with_links_pointing_here(
    tmp_path: Path,
) -> None:
    product = IOG[0]
    given = _four_rate_ev()["products"][product]
    async with serving(tmp_path, _four_rate_ev()) as kraken:
        response = await kraken.product(product)
        base = kraken.running.url

    body = response.json()
    assert response.status_code == 200
    assert {key: body[key] for key in ("full_name", "is_variable", "brand", "available_from")} == {
        "full_name": "Intelligent Octopus Go",
        "is_variable": True,
        "brand": "OCTOPUS_ENERGY",
        "available_from": "2025-12-12T00:00:00Z",
    }
    assert "dual_register_electricity_tariffs" not in body  # left out by the file, left out
    entry = body["four_rate_ev_electricity_tariffs"]["_E"]["direct_debit_monthly"]
    assert entry["standing_charge_inc_vat"] == 49.01
    assert entry["links"] == [
        {**link, "href": link["href"].replace(OCTOPUS, base)}
        for link in given["four_rate_ev_electricity_tariffs"]["_E"]["direct_debit_monthly"]["links"]
    ]
    assert body["links"][0]["href"] == f"{base}/v1/products/{product}/?tariffs_active_at=2026-03-10"
    assert OCTOPUS not in json.dumps(body)


async def test_a_four_rate_ev_tariff_serves_day_and_night_rows_and_no_standard_rates(
    tmp_path: Path,
) -> None:
    product, tariff = IOG
    async with serving(tmp_path, _four_rate_ev()) as kraken:
        entry = (await kraken.product(product)).json()["four_rate_ev_electricity_tariffs"]
        links = _links(entry["_E"]["direct_debit_monthly"])
        day = (await kraken.get(links["day_unit_rates"])).json()
        night = (await kraken.get(links["night_unit_rates"])).json()
        standard = await kraken.rates(product, tariff, "standard-unit-rates")

    assert sorted(row["value_inc_vat"] for row in day["results"]) == [28.6, 30.1]
    assert [row["value_inc_vat"] for row in night["results"]] == [7.0]
    assert standard.status_code == 200
    assert standard.json() == {"count": 0, "next": None, "previous": None, "results": []}


async def test_standard_unit_rates_of_an_economy7_tariff_are_an_empty_list(
    tmp_path: Path,
) -> None:
    product, electricity, gas = E7
    async with serving(tmp_path, _bundled("economy7_gas")) as kraken:
        standard = await kraken.rates(product, electricity, "standard-unit-rates")
        gas_day = await kraken.rates(product, gas, "day-unit-rates", fuel="gas")
        gas_as_electricity = await kraken.rates(product, gas, "standard-unit-rates")

    empty: dict[str, object] = {"count": 0, "next": None, "previous": None, "results": []}
    assert (standard.status_code, standard.json()) == (200, empty)
    assert (gas_day.status_code, gas_day.json()) == (200, empty)
    assert gas_as_electricity.status_code == 404


async def test_unknown_products_and_tariffs_no_product_lists_are_not_found(
    tmp_path: Path,
) -> None:
    product, tariff = IOG
    data = _four_rate_ev()
    # Rows for a code the given product does not list: still no such tariff.
    data["unit_rates"][f"E-1R-{product}-A"] = _rows(("2026-01-01T00:00:00Z", None, 20.0, None))
    async with serving(tmp_path, data) as kraken:
        unknown = await kraken.product("NO-SUCH-PRODUCT")
        unlisted = await kraken.rates(product, f"E-1R-{product}-A", "standard-unit-rates")
        listed = await kraken.rates(product, tariff, "day-unit-rates")
        counts = dict(kraken.running.simulator.request_counts)

    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No Product matches the given query."}
    assert unlisted.status_code == 404
    assert listed.status_code == 200
    assert counts["rest:product"] == 1
    assert counts["rest:standard-unit-rates"] == 1


async def test_products_and_rates_need_no_key_but_refuse_a_wrong_one(tmp_path: Path) -> None:
    data = _bundled("agile_tomorrow_published")
    data["api_key"] = "sk_live_right"

    def basic(user: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:".encode()).decode()

    async with serving(tmp_path, data) as kraken:
        url = kraken.running.rest_url + "products/AGILE-24-10-01/"
        anonymous = await kraken.get(url)
        right = await kraken.get(url, Authorization=basic("sk_live_right"))
        wrong = await kraken.get(url, Authorization=basic("sk_live_wrong"))
        bearer = await kraken.get(url, Authorization="Bearer sk_live_right")
        wrong_rates = await kraken.get(
            kraken.running.rest_url
            + "products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/"
            "standard-unit-rates/",
            Authorization=basic("sk_live_wrong"),
        )

    assert anonymous.status_code == 200
    assert right.status_code == 200
    assert right.json() == anonymous.json()
    assert wrong.status_code == 401
    assert bearer.status_code == 401
    assert wrong_rates.status_code == 401


# --- GraphQL: tokens, preferences ------------------------------------------------------


@pytest.mark.parametrize("scheme", ["JWT", "Bearer", "bearer", "jwt"])
async def test_a_token_is_accepted_after_a_jwt_or_bearer_scheme(
    tmp_path: Path, scheme: str
) -> None:
    async with serving(tmp_path, _bundled("economy7_gas")) as kraken:
        await kraken.graphql("{ __typename }")
        prefixed = await kraken.graphql(
            "query($n: String!) { account(accountNumber: $n) { number } }",
            authorization=f"{scheme} {kraken.token}",
            n="A-5E6F7A8B",
        )
        forged = await kraken.graphql(
            "query($n: String!) { account(accountNumber: $n) { number } }",
            authorization=f"{scheme} not-a-token",
            n="A-5E6F7A8B",
        )

    assert prefixed == {"data": {"account": {"number": "A-5E6F7A8B"}}}
    assert [e["extensions"]["errorCode"] for e in forged["errors"]] == ["KT-CT-1111"]


PREFERENCES = """
query($n: String!) { devices(accountNumber: $n) { preferences { schedules { dayOfWeek time } } } }
"""
SET_PREFERENCES = """
mutation($input: SmartFlexDevicePreferencesInput!) {
  setDevicePreferences(input: $input) { preferences { schedules { dayOfWeek time } } }
}
"""
DAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


async def test_ready_by_times_are_served_as_hh_mm_ss_and_taken_with_or_without_seconds(
    tmp_path: Path,
) -> None:
    data = _bundled("iog_unplugged_spurious_dispatch")
    device = data["devices"][0]["id"]
    number = data["account"]["number"]
    schedules = [
        {"dayOfWeek": day, "time": "08:00" if index % 2 else "08:30:00", "max": 80}
        for index, day in enumerate(DAYS)
    ]
    async with serving(tmp_path, data) as kraken:
        before = await kraken.graphql(PREFERENCES, n=number)
        changed = await kraken.graphql(
            SET_PREFERENCES,
            input={
                "deviceId": device,
                "mode": "CHARGE",
                "unit": "PERCENTAGE",
                "schedules": schedules,
            },
        )
        after = await kraken.graphql(PREFERENCES, n=number)
        schedules[0]["time"] = "8am"
        refused = await kraken.http.post(
            kraken.running.graphql_url,
            json={
                "query": SET_PREFERENCES,
                "variables": {
                    "input": {
                        "deviceId": device,
                        "mode": "CHARGE",
                        "unit": "PERCENTAGE",
                        "schedules": schedules,
                    }
                },
            },
            headers={"Authorization": kraken.token},
        )

    (given,) = before["data"]["devices"]
    assert {s["time"] for s in given["preferences"]["schedules"]} == {"07:30:00"}
    assert "errors" not in changed, changed
    (device_after,) = after["data"]["devices"]
    assert {s["dayOfWeek"]: s["time"] for s in device_after["preferences"]["schedules"]} == {
        day: "08:00:00" if index % 2 else "08:30:00" for index, day in enumerate(DAYS)
    }
    assert refused.status_code == 400
    assert "8am" in refused.text


SUSPEND = """
mutation($input: SmartControlInput!) {
  updateDeviceSmartControl(input: $input) { status { currentState isSuspended } }
}
"""
STATUS = """
query($n: String!) { devices(accountNumber: $n) { id status { current currentState isSuspended } } }
"""


async def test_a_suspended_device_answers_is_suspended_in_smart_control_off_until_resumed(
    tmp_path: Path,
) -> None:
    # iog_boost_evening: the charger is plugged in (SMART_CONTROL_CAPABLE) from 17:30.
    data = _bundled("iog_boost_evening")
    device = data["devices"][0]["id"]
    number = data["account"]["number"]
    async with serving(tmp_path, data) as kraken:
        kraken.clock.set(datetime(2026, 3, 10, 17, 45, tzinfo=UTC))
        suspended = await kraken.graphql(SUSPEND, input={"deviceId": device, "action": "SUSPEND"})
        read = await kraken.graphql(STATUS, n=number)
        # 18:00 the scenario boosts and 19:00 it is smart-charging again: the household's
        # suspension holds through both.
        kraken.clock.set(datetime(2026, 3, 10, 19, 5, tzinfo=UTC))
        kraken.token = ""  # an hour on: sign in again
        later = await kraken.graphql(STATUS, n=number)
        resumed = await kraken.graphql(SUSPEND, input={"deviceId": device, "action": "UNSUSPEND"})

    off = {"currentState": "SMART_CONTROL_OFF", "isSuspended": True}
    assert suspended == {"data": {"updateDeviceSmartControl": {"status": off}}}
    assert read["data"]["devices"] == [{"id": device, "status": {"current": "LIVE", **off}}]
    assert later["data"]["devices"][0]["status"] == {"current": "LIVE", **off}
    # Resumed: the charger's own state at 19:05, as the scenario has it.
    assert resumed["data"]["updateDeviceSmartControl"]["status"] == {
        "currentState": "SMART_CONTROL_CAPABLE",
        "isSuspended": False,
    }


async def test_preferences_kraken_cannot_take_are_kt_ct_4321(tmp_path: Path) -> None:
    data = _bundled("iog_unplugged_spurious_dispatch")
    device = data["devices"][0]["id"]
    five_days = [{"dayOfWeek": day, "time": "07:00", "max": 80} for day in DAYS[:5]]
    noon = [{"dayOfWeek": day, "time": "12:00", "max": 80} for day in DAYS]
    async with serving(tmp_path, data) as kraken:
        answers = [
            await kraken.graphql(
                SET_PREFERENCES,
                input={
                    "deviceId": device,
                    "mode": "CHARGE",
                    "unit": "PERCENTAGE",
                    "schedules": schedules,
                },
            )
            for schedules in (five_days, noon)
        ]

    for answer, why in zip(answers, ("all seven days", "04:00 to 11:00"), strict=True):
        (error,) = answer["errors"]
        assert error["message"] == "Serializer validation error."
        assert error["extensions"]["errorCode"] == "KT-CT-4321"
        assert why in error["extensions"]["validationErrors"][0]


# --- account: meterType, tariff __typename, four-rate EV rates ---------------------------


async def test_meter_type_defaults_to_a_smart_meter_when_there_is_a_home_mini(
    tmp_path: Path,
) -> None:
    data = _bundled("iog_export_ev_demo")
    import_point, export_point = data["account"]["electricity"]
    import_point["meter_type"] = "S1"
    export_point["telemetry_device_id"] = None
    async with serving(tmp_path, data) as kraken:
        overridden = await kraken.tariffs()
    async with serving(tmp_path, _bundled("iog_export_ev_demo")) as kraken:
        defaulted = await kraken.tariffs()

    def meter_types(account: Json) -> list[str | None]:
        return [
            agreement["meterPoint"]["meters"][0]["meterType"]
            for agreement in account["electricityAgreements"]
        ]

    assert meter_types(overridden) == ["S1", None]
    assert meter_types(defaulted) == ["S2ADE", "S2ADE"]


@pytest.mark.parametrize(
    ("scenario", "typename"),
    [
        ("economy7_gas", "DayNightTariff"),
        ("agile_tomorrow_published", "HalfHourlyTariff"),
        ("go_overnight_ev", "StandardTariff"),
    ],
)
async def test_the_tariff_typename_follows_the_products_register_group(
    tmp_path: Path, scenario: str, typename: str
) -> None:
    async with serving(tmp_path, _bundled(scenario)) as kraken:
        account = await kraken.tariffs()

    assert [a["tariff"]["__typename"] for a in account["electricityAgreements"]] == [typename]


async def test_a_given_tariff_typename_is_served(tmp_path: Path) -> None:
    data = _bundled("go_overnight_ev")
    data["account"]["electricity"][0]["tariff_typename"] = "PrepayTariff"
    async with serving(tmp_path, data) as kraken:
        account = await kraken.tariffs()

    (agreement,) = account["electricityAgreements"]
    assert agreement["tariff"]["__typename"] == "PrepayTariff"


async def test_day_night_rates_in_force_prefer_direct_debit(tmp_path: Path) -> None:
    async with serving(tmp_path, _bundled("economy7_gas")) as kraken:
        account = await kraken.tariffs()

    (agreement,) = account["electricityAgreements"]
    assert (agreement["tariff"]["dayRate"], agreement["tariff"]["nightRate"]) == (27.9, 13.1)
    assert account["gasAgreements"] == [{"tariff": {"tariffCode": E7[2], "unitRate": 6.24}}]


async def test_a_four_rate_ev_tariff_shows_its_day_night_and_ev_rates(tmp_path: Path) -> None:
    async with serving(tmp_path, _four_rate_ev()) as kraken:
        account = await kraken.tariffs()
        client_view = await kraken.graphql(document_source("account"), accountNumber="A-4EV00001")

    (agreement,) = account["electricityAgreements"]
    assert agreement["tariff"] == {
        "__typename": "FourRateEvTariff",
        "productCode": IOG[0],
        "tariffCode": IOG[1],
        "dayRate": 28.6,
        "nightRate": 7.0,
        "evDevicePeakRate": 27.5,
        "evDeviceOffPeakRate": 7.5,
    }
    assert "errors" not in client_view
    (seen,) = client_view["data"]["account"]["electricityAgreements"]
    assert seen["tariff"]["__typename"] == "FourRateEvTariff"
    assert seen["tariff"]["evDeviceOffPeakRate"] == 7.5


async def test_ev_rates_are_null_when_the_scenario_does_not_give_them(tmp_path: Path) -> None:
    data = _four_rate_ev()
    point = data["account"]["electricity"][0]
    del point["ev_device_peak_rate"], point["ev_device_off_peak_rate"]
    async with serving(tmp_path, data) as kraken:
        account = await kraken.tariffs()

    tariff = account["electricityAgreements"][0]["tariff"]
    assert (tariff["evDevicePeakRate"], tariff["evDeviceOffPeakRate"]) == (None, None)


def test_every_tariff_typename_a_scenario_may_give_is_in_the_subset_union() -> None:
    union = load_subset_schema().type_map["ElectricityTariffType"]
    assert isinstance(union, GraphQLUnionType)

    assert set(get_args(ElectricityTariffTypename)) == {member.name for member in union.types}


# --- telemetry -------------------------------------------------------------------------

TELEMETRY = """
query($d: String!, $s: DateTime, $e: DateTime, $g: TelemetryGrouping) {
  smartMeterTelemetry(deviceId: $d, start: $s, end: $e, grouping: $g) {
    readAt consumption consumptionDelta demand export
  }
}
"""


async def test_gas_telemetry_is_integrated_into_its_own_register(tmp_path: Path) -> None:
    data = _bundled("economy7_gas")
    data["gas_telemetry"] = {"demand_w": 1200}
    async with serving(tmp_path, data) as kraken:
        kraken.clock.advance(timedelta(hours=1))
        gas = await kraken.graphql(TELEMETRY, d=GAS_HOME_MINI)
        electricity = await kraken.graphql(TELEMETRY, d=E7_HOME_MINI)
        kraken.clock.advance(timedelta(hours=1))
        kraken.token = ""  # an hour on: sign in again
        halves = await kraken.graphql(
            TELEMETRY,
            d=GAS_HOME_MINI,
            s="2026-03-10T12:00:00Z",
            e="2026-03-10T14:00:00Z",
            g="HALF_HOURLY",
        )

    (gas_now,) = gas["data"]["smartMeterTelemetry"]
    assert gas_now["readAt"] == "2026-03-10T13:00:00+00:00"
    assert Decimal(gas_now["consumption"]) == 1200  # Wh: 1.2 kW for an hour
    assert Decimal(gas_now["demand"]) == 1200
    assert gas_now["export"] is None
    (electricity_now,) = electricity["data"]["smartMeterTelemetry"]
    assert Decimal(electricity_now["consumption"]) == 350
    rows = halves["data"]["smartMeterTelemetry"]
    assert [Decimal(row["consumptionDelta"]) for row in rows] == [600] * 4
    assert [Decimal(row["consumption"]) for row in rows] == [600, 1200, 1800, 2400]


async def test_a_gas_meter_without_gas_telemetry_has_no_readings(tmp_path: Path) -> None:
    data = _bundled("economy7_gas")
    del data["gas_telemetry"]
    async with serving(tmp_path, data) as kraken:
        kraken.clock.advance(timedelta(hours=1))
        gas = await kraken.graphql(TELEMETRY, d=GAS_HOME_MINI)

    assert gas == {"data": {"smartMeterTelemetry": []}}


async def test_recorded_readings_keep_a_null_export_and_a_zero_register(tmp_path: Path) -> None:
    data = _bundled("economy7_gas")
    data["telemetry"] = {
        "readings": [
            {"readAt": "2026-03-10T12:00:00Z", "consumption": 81234, "export": None, "demand": 410},
            {
                "readAt": "2026-03-10T12:10:00Z",
                "consumption": 0,
                "consumptionDelta": 12,
                "export": 0,
            },
        ]
    }
    data["gas_telemetry"] = {
        "readings": [{"readAt": "2026-03-10T12:00:00Z", "consumption": 0, "export": None}]
    }
    async with serving(tmp_path, data) as kraken:
        kraken.clock.advance(timedelta(minutes=15))
        latest = await kraken.graphql(TELEMETRY, d=E7_HOME_MINI)
        ranged = await kraken.graphql(
            TELEMETRY,
            d=E7_HOME_MINI,
            s="2026-03-10T12:00:00Z",
            e="2026-03-10T13:00:00Z",
            g="TEN_SECONDS",
        )
        gas = await kraken.graphql(TELEMETRY, d=GAS_HOME_MINI)

    assert latest["data"]["smartMeterTelemetry"] == [
        {
            "readAt": "2026-03-10T12:10:00+00:00",
            "consumption": "0",
            "consumptionDelta": "12",
            "demand": None,
            "export": "0",
        }
    ]
    first, second = ranged["data"]["smartMeterTelemetry"]
    assert (first["consumption"], first["export"], first["consumptionDelta"]) == (
        "81234",
        None,
        None,
    )
    assert second["consumption"] == "0"
    assert gas["data"]["smartMeterTelemetry"][0]["consumption"] == "0"
    assert gas["data"]["smartMeterTelemetry"][0]["export"] is None


# --- strict loading -------------------------------------------------------------------


def _four_rate_entry(data: Json) -> Json:
    product, _tariff = IOG
    entry: Json = data["products"][product]["four_rate_ev_electricity_tariffs"]["_E"][
        "direct_debit_monthly"
    ]
    return entry


def _bad_region(data: Json) -> None:
    groups = data["products"][IOG[0]]["four_rate_ev_electricity_tariffs"]
    groups["_Z"] = groups.pop("_E")


def _bad_payment_method(data: Json) -> None:
    regions = data["products"][IOG[0]]["four_rate_ev_electricity_tariffs"]["_E"]
    regions["monthly"] = regions.pop("direct_debit_monthly")


def _misspelt_tariff_map(data: Json) -> None:
    product = data["products"][IOG[0]]
    product["four_rate_ev_electricty_tariffs"] = product.pop("four_rate_ev_electricity_tariffs")


def _bad_link_rel(data: Json) -> None:
    _four_rate_entry(data)["links"][0]["rel"] = "day_rates"


def _key_not_code(data: Json) -> None:
    data["products"][IOG[0]]["code"] = "IOG-SMB-TOU-25-12-13"


def _agreement_not_in_product(data: Json) -> None:
    _four_rate_entry(data)["code"] = "E-1R-IOG-SMB-TOU-25-12-12-A"


def _ev_rates_without_four_rate(data: Json) -> None:
    data["account"]["electricity"][0]["tariff_typename"] = "StandardTariff"


def _bad_meter_type(data: Json) -> None:
    data["account"]["electricity"][0]["meter_type"] = "SMETS2"


def _three_rate_typo(data: Json) -> None:
    data["account"]["electricity"][0]["tariff_typename"] = "ThreeRatesTariff"


def _gas_exports(data: Json) -> None:
    data["gas_telemetry"] = {"demand_w": 500, "export_w": 10}


def _single_and_dual(data: Json) -> None:
    del data["products"]
    data["account"]["electricity"][0].pop("ev_device_peak_rate")
    data["account"]["electricity"][0].pop("ev_device_off_peak_rate")


@pytest.mark.parametrize(
    ("edit", "path", "hint"),
    [
        (_bad_region, f"$.products.{IOG[0]}.four_rate_ev_electricity_tariffs", "region _A to _P"),
        (_bad_payment_method, f"$.products.{IOG[0]}.four_rate_ev_electricity_tariffs", "varying"),
        (_misspelt_tariff_map, f"$.products.{IOG[0]}", "four_rate_ev_electricity_tariffs"),
        (
            _bad_link_rel,
            f"$.products.{IOG[0]}.four_rate_ev_electricity_tariffs._E.direct_debit_monthly"
            ".links[0].rel",
            "day_unit_rates",
        ),
        (_key_not_code, "$", "make them the same"),
        (_agreement_not_in_product, "$", f"electricity tariffs of products.{IOG[0]}"),
        (_ev_rates_without_four_rate, "$", "only a FourRateEvTariff has"),
        (_bad_meter_type, "$.account.electricity[0].meter_type", "S2ADE"),
        (_three_rate_typo, "$.account.electricity[0].tariff_typename", "ThreeRateTariff"),
        (_gas_exports, "$.gas_telemetry", "does not export"),
        (_single_and_dual, "$", "single-register (unit_rates) or dual-register"),
    ],
    ids=[
        "region",
        "payment-method",
        "tariff-map",
        "link-rel",
        "product-code",
        "agreement-not-listed",
        "ev-rates",
        "meter-type",
        "typename",
        "gas-export",
        "single-and-dual",
    ],
)
def test_a_wrong_tariff_shape_is_refused_with_path_and_fix(
    tmp_path: Path, edit: Any, path: str, hint: str
) -> None:
    data = _four_rate_ev()
    edit(data)
    assert_refused(tmp_path, data, path, hint)


def test_a_gas_meter_may_not_share_the_electricity_meters_device_id(tmp_path: Path) -> None:
    data = _bundled("economy7_gas")
    data["account"]["gas"][0]["telemetry_device_id"] = E7_HOME_MINI
    file = tmp_path / "shared_id.json"
    file.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(ScenarioError, match=r"account\.gas\[0\]\.telemetry_device_id"):
        load_scenario(file)
