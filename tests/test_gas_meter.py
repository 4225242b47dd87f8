"""The gas meter device: the Home Mini's gas register read half-hourly through the real
engine, client and SQLite store against the simulator on a simulated clock."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from kraken_core.api.models import UserSettings, readable
from kraken_core.bridge.metrics import render_metrics
from kraken_core.domain.registers import gas_m3
from kraken_core.domain.timeline import RatePeriod
from kraken_core.engine.history_queries import CSV_COLUMNS, HistoryQueries
from kraken_core.engine.tariffs import UNIT_RATES, TariffRates
from kraken_core.service import Service
from kraken_core.simulator.scenario import Scenario, load_scenario
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.service_harness import running

GAS = SCENARIOS / "gas_home_mini_steady.json"
GAS_METER = "gas_meter.3000000092"
GAS_TARIFF = "G-1R-VAR-22-11-01-C"
GAS_RATE = 6.5  # p/kWh, as the scenario's gas unit rate


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def gas_scenario(tmp_path: Path, **changes: Any) -> Scenario:
    """The gas scenario, changed; its gas meter reads the scenario's ``telemetry`` (the
    simulator serves it for every meter's device id; once it knows ``gas_telemetry``,
    that key gives the gas meter the same readings)."""
    document = json.loads(GAS.read_text(encoding="utf-8")) | changes
    if "gas_telemetry" in Scenario.model_fields:
        document["gas_telemetry"] = document["telemetry"]
    path = tmp_path / "gas_scenario.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return load_scenario(path)


def shown(service: Service) -> tuple[bool, str | None, dict[str, Any]]:
    view = service.backend.device(GAS_METER)
    assert view is not None
    return view.available, view.unavailable_reason, dict(view.state)


def feed_gas_rates(service: Service) -> None:
    """The gas tariff's rates, through the TariffPoller's own table (as it keeps them)."""
    row = RatePeriod(at("2026-01-01T00:00:00Z"), None, GAS_RATE)
    service.engine.tariffs.rates[(GAS_TARIFF, UNIT_RATES)] = TariffRates(rows=[row])


async def gas_rows(service: Service, start: str, end: str) -> list[dict[str, str]]:
    text = await HistoryQueries(service.engine.store, service.engine.clock).csv(at(start), at(end))
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_gas_meter_shows_its_register_today_and_m3(tmp_path: Path) -> None:
    async with running(gas_scenario(tmp_path), tmp_path) as (_, service, clock):
        feed_gas_rates(service)
        await service.engine.run_until(clock, at("2026-03-10T14:00:00Z"))
        listed = {(d.id, d.kind, d.name) for d in service.backend.devices()}
        assert (GAS_METER, "gas_meter", "Gas meter") in listed
        available, reason, state = shown(service)
        assert (available, reason) == (True, None)
        # 1 kW from 12:00, read at 13:37 plus 5-25 s of jitter: about 1.62 kWh.
        assert 1.618 < state["gas_kwh_total"] < 1.624
        assert state["last_reading_at"].startswith("2026-03-10T13:37:")
        # Today counts from the first register seen (12:07), not from the meter's zero.
        assert state["gas_kwh_today"] == pytest.approx(1.5, abs=0.006)
        assert state["gas_cost_today"] == pytest.approx(state["gas_kwh_today"] * GAS_RATE, abs=0.01)
        assert state["calorific_value"] == 40.0
        assert state["gas_m3_total"] == round(gas_m3(state["gas_kwh_total"], 40.0), 3)
        assert state["gas_m3_total"] == pytest.approx(0.1427, abs=0.001)
        at_40 = state["gas_m3_total"]

        service.backend.update_settings(UserSettings(gas_calorific_value=38.0))
        await service.engine.run_until(clock, at("2026-03-10T14:01:00Z"))
        _, _, state = shown(service)
        assert state["calorific_value"] == 38.0
        assert state["gas_m3_total"] == round(gas_m3(state["gas_kwh_total"], 38.0), 3)
        assert state["gas_m3_total"] > at_40
        assert service.backend.settings().gas_calorific_value == 38.0

        rows = {
            r["slot_start"]: r
            for r in await gas_rows(service, "2026-03-10T12:00:00Z", "2026-03-10T14:00:00Z")
        }
        assert float(rows["2026-03-10T13:00:00Z"]["gas_kwh"]) == 0.5
        assert float(rows["2026-03-10T13:00:00Z"]["gas_cost_p"]) == 0.5 * GAS_RATE
        metrics = render_metrics(service.backend.devices(), service.backend.budget())
        assert f'kraken_gas_kwh_today{{device="{GAS_METER}",kind="gas_meter"}}' in metrics


async def test_a_household_without_gas_keeps_its_csv_and_metrics(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "home_mini_export_null_then_lifetime.json")
    async with running(scenario, tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T13:00:00Z"))
        text = await HistoryQueries(service.engine.store, clock).csv(
            at("2026-03-10T12:00:00Z"), at("2026-03-10T13:00:00Z")
        )
        assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
        metrics = render_metrics(service.backend.devices(), service.backend.budget())
        assert "gas" not in metrics
        assert not [d for d in service.backend.devices() if d.kind == "gas_meter"]


def test_a_calorific_value_that_is_not_gas_is_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError) as refused:
        UserSettings.model_validate({"gas_calorific_value": 3.9})
    message = readable(refused.value)
    assert message.startswith("gas_calorific_value: ")
    assert "between 30 and 50" in message
    assert UserSettings.model_validate({"gas_calorific_value": 39.2}).gas_calorific_value == 39.2


async def test_gas_failing_for_two_hours_takes_the_meter_offline_and_the_hole_is_filled(
    tmp_path: Path,
) -> None:
    fault = {
        "from": "2026-03-10T13:00:00Z",
        "to": "2026-03-10T16:00:00Z",
        "operation": "smartMeterTelemetry",
        "error_code": "KT-GB-4043",
    }
    async with running(gas_scenario(tmp_path, faults=[fault]), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T14:30:00Z"))
        assert shown(service)[:2] == (True, None)  # failing since 13:07, not for 2 hours yet

        await service.engine.run_until(clock, at("2026-03-10T15:20:00Z"))
        available, reason, state = shown(service)
        assert available is False
        assert reason is not None
        assert reason.startswith("No gas meter readings from Octopus since 12:37 (UK time)")
        assert "KT-GB-4043" in reason
        # The last known figures are kept (12:07 to 12:37, jitter aside).
        assert state["gas_kwh_today"] == pytest.approx(0.5, abs=0.006)

        await service.engine.run_until(clock, at("2026-03-10T16:45:00Z"))
        available, reason, state = shown(service)
        assert (available, reason) == (True, None)
        rows = await gas_rows(service, "2026-03-10T13:00:00Z", "2026-03-10T16:00:00Z")
        assert [float(r["gas_kwh"]) for r in rows] == [0.5] * 6


async def test_the_gas_meter_is_read_once_a_half_hour(tmp_path: Path) -> None:
    document = json.loads(GAS.read_text(encoding="utf-8"))
    electricity = [dict(p, telemetry_device_id=None) for p in document["account"]["electricity"]]
    # Without a Home Mini on the electricity meter, every telemetry request is for gas.
    scenario = gas_scenario(tmp_path, account=document["account"] | {"electricity": electricity})
    async with running(scenario, tmp_path) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-03-11T12:00:00Z"))
        asked = simulator.request_counts["smartMeterTelemetry"]
        assert asked == 49  # the start, then :07 and :37 past each hour for 24 hours
        _, _, state = shown(service)
        assert 23.618 <= state["gas_kwh_total"] < 23.624  # read at 11:37 (plus jitter, >= 0)
