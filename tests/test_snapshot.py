"""``kraken-bridge snapshot``: the documented JSON, from a real run on a simulated clock."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from kraken_core.simulator.scenario import bundled_scenario_path
from tests.helpers.bridge_process import BRIDGE, SCENARIOS

EVENING = str(SCENARIOS / "iog_evening_smart_dispatch.json")


def snapshot(scenario: str, at: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BRIDGE), "snapshot", "--scenario", scenario, "--at", at],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def devices_by_kind(output: str) -> dict[str, dict[str, Any]]:
    document = json.loads(output)
    assert set(document) == {"at", "devices"}
    for device in document["devices"]:
        assert set(device) == {"id", "kind", "name", "available", "state"}
    return {device["kind"]: device for device in document["devices"]}


def test_smart_dispatch_in_progress_makes_the_peak_slot_off_peak() -> None:
    result = snapshot(EVENING, "2026-03-10T19:15:00Z")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["at"] == "2026-03-10T19:15:00Z"
    devices = devices_by_kind(result.stdout)
    tariff = devices["import_tariff"]["state"]
    assert tariff["unit_rate"] == 7.0
    assert tariff["tariff_unit_rate"] == 24.5
    assert tariff["rate_source"] == "smart_dispatch"
    assert (tariff["slot_start"], tariff["slot_end"]) == (
        "2026-03-10T19:00:00Z",
        "2026-03-10T19:30:00Z",
    )
    car = devices["smart_energy_device"]["state"]
    assert car["device_state"] == "SMART_CONTROL_IN_PROGRESS"
    assert car["dispatching"] is True
    assert car["next_dispatch_end"] == "2026-03-10T20:00:00Z"
    assert devices["energy_account"]["state"]["power_w"] == 450.0
    assert devices["export_tariff"]["state"]["unit_rate"] == 15.0


def test_after_the_dispatch_the_price_is_peak_again_until_23_30() -> None:
    result = snapshot(EVENING, "2026-03-10T23:10:00Z")
    assert result.returncode == 0, result.stderr
    tariff = devices_by_kind(result.stdout)["import_tariff"]["state"]
    assert (tariff["unit_rate"], tariff["rate_source"]) == (24.5, "tariff")
    assert tariff["next_unit_rate"] == 7.0  # 23:30 starts the off-peak block
    assert tariff["price_quadrant"] == 3


def test_bundled_demo_scenario_prints_the_four_kinds() -> None:
    path = bundled_scenario_path("iog_export_ev_demo")
    start = json.loads(path.read_text())["start"]
    result = snapshot(str(path), start)
    assert result.returncode == 0, result.stderr
    devices = devices_by_kind(result.stdout)
    assert set(devices) == {
        "import_tariff",
        "export_tariff",
        "energy_account",
        "smart_energy_device",
    }
    assert isinstance(devices["import_tariff"]["state"]["unit_rate"], float)
    # Kraken lists the standing charge per payment method; a household pays direct debit's.
    assert devices["import_tariff"]["state"]["standing_charge"] == 48.79


def test_a_time_without_zone_is_refused_with_a_hint() -> None:
    result = snapshot(EVENING, "2026-03-10T19:15:00")
    assert result.returncode == 2
    assert "time zone" in result.stderr
    assert "Z" in result.stderr
    early = snapshot(EVENING, "2026-03-09T19:15:00Z")
    assert early.returncode == 2
    assert "before the scenario's start" in early.stderr
