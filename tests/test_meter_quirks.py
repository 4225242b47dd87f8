"""Home Mini quirks through the real engine, store and simulator on a simulated clock:
an ``export`` that is null and then the meter's lifetime register, registers of 0, and
telemetry that Kraken cannot give for a while (KT-GB-4039)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from kraken_core.domain.registers import Known
from kraken_core.engine.history_queries import HistoryQueries
from kraken_core.service import Service
from kraken_core.simulator.scenario import load_scenario
from kraken_core.store.db import MIGRATIONS, Store
from kraken_core.store.history import HistoryStore
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.service_harness import running

QUIRKS = SCENARIOS / "home_mini_export_null_then_lifetime.json"
QUIRKS_ACCOUNT = "energy_account.A-0E0E0E0E"
STEADY = SCENARIOS / "go_steady_home_history.json"
STEADY_ACCOUNT = "energy_account.A-60C0FFEE"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def state(service: Service, device_id: str) -> dict[str, Any]:
    view = service.backend.device(device_id)
    assert view is not None
    return dict(view.state)


async def slot_rows(service: Service, start: str, end: str) -> list[dict[str, str]]:
    queries = HistoryQueries(service.engine.store, service.engine.clock)
    text = await queries.csv(at(start), at(end))
    return list(csv.DictReader(io.StringIO(text)))


async def test_export_turning_from_null_to_a_lifetime_register_is_not_energy(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(QUIRKS)
    async with running(scenario, tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T12:55:00Z"))
        before = state(service, QUIRKS_ACCOUNT)
        # The meter has not reported export: unknown, not 0.
        assert before["export_kwh_total"] is None
        assert before["export_kwh_today"] is None
        assert before["export_value_today"] is None
        assert before["import_kwh_total"] == 1235.2

        await service.engine.run_until(clock, at("2026-03-10T15:25:00Z"))
        after = state(service, QUIRKS_ACCOUNT)
        # 13:00 gave the lifetime register (5,000,050 Wh): a baseline. Then 50 Wh a
        # reading until 15:20: 14 readings, 0.7 kWh, at 15p.
        assert after["export_kwh_total"] == 5000.75
        assert after["export_kwh_today"] == 0.7
        assert after["export_value_today"] == 10.5
        rows = await slot_rows(service, "2026-03-10T11:00:00Z", "2026-03-10T15:00:00Z")
        assert max(float(row["export_kwh"]) for row in rows) == 0.15
        # Consumption 0 at 14:00 and 14:10 was missing, not a reset: the rise from 13:50
        # to 14:20 is shared over those 30 minutes, and no slot is a gap for it.
        by_slot = {row["slot_start"]: row for row in rows}
        assert float(by_slot["2026-03-10T14:00:00Z"]["import_kwh"]) == 0.3
        assert by_slot["2026-03-10T13:30:00Z"]["gap"] == "false"
        assert by_slot["2026-03-10T14:00:00Z"]["gap"] == "false"
        assert after["import_kwh_total"] == 1236.7  # never fell back to 0


async def test_the_registers_rules_hold_across_a_restart(tmp_path: Path) -> None:
    scenario = load_scenario(QUIRKS)
    async with running(scenario, tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T12:45:00Z"))
        assert state(service, QUIRKS_ACCOUNT)["export_kwh_total"] is None
    # The bridge starts again at 13:35 from the same store: export first seen since.
    later = scenario.model_copy(update={"start": at("2026-03-10T13:35:00Z")})
    async with running(later, tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T13:55:00Z"))
        shown = state(service, QUIRKS_ACCOUNT)
        assert shown["export_kwh_total"] == 5000.3
        assert shown["export_kwh_today"] == 0.25  # 13:10 … 13:50, after the baseline
        assert shown["import_kwh_today"] == 1.7  # 11:00 … 13:50 with no hole


def with_telemetry_fault(tmp_path: Path, code: str) -> Path:
    document = json.loads(STEADY.read_text(encoding="utf-8"))
    document["start"] = "2026-01-15T08:00:00Z"
    document["faults"] = [
        {
            "from": "2026-01-15T10:00:00Z",
            "to": "2026-01-15T11:00:00Z",
            "operation": "smartMeterTelemetry",
            "error_code": code,
        }
    ]
    path = tmp_path / f"steady_home_telemetry_{code}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


async def test_telemetry_kraken_cannot_query_for_an_hour_is_backfilled_after(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(with_telemetry_fault(tmp_path, "KT-GB-4039"))
    async with running(scenario, tmp_path) as (simulator, service, clock):
        await service.engine.run_until(clock, at("2026-01-15T10:00:00Z"))
        asked_before = simulator.request_counts["smartMeterTelemetry"]
        await service.engine.run_until(clock, at("2026-01-15T10:59:00Z"))
        asked_in_the_hour = simulator.request_counts["smartMeterTelemetry"] - asked_before
        await service.engine.run_until(clock, at("2026-01-15T11:20:00Z"))
        rows = await slot_rows(service, "2026-01-15T09:00:00Z", "2026-01-15T11:00:00Z")
        # Every slot of the hole is filled (1.2 kW for 30 minutes), none left a gap.
        assert [row["gap"] for row in rows] == ["false"] * 4
        assert [float(row["import_kwh"]) for row in rows] == [0.6] * 4
        # Only the slot the bridge started in (08:00:10) is not fully covered.
        assert state(service, STEADY_ACCOUNT)["telemetry_gap_slots_today"] == 1
    # Kraken is not hammered while it cannot answer: the one-minute live reads back off
    # (1, 2, 3 … minutes), the backfill waits 5 minutes between tries (measured: 23
    # requests in the hour, against about 60 for one-minute reads).
    assert asked_in_the_hour <= 30


async def test_a_store_from_before_the_rules_reads_its_zero_export_as_never_reported(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    async with aiosqlite.connect(path) as old:  # a store as version 2 wrote it
        for number, script in enumerate(MIGRATIONS[:2], start=1):
            await old.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        await old.execute(
            "INSERT INTO telemetry_readings VALUES ('2026-03-10T12:00:00+00:00', 1234.0, 0, 450)"
        )
        await old.commit()
    store = await Store.open(path)
    try:
        registers = await HistoryStore(store).last_registers()
    finally:
        await store.close()
    assert registers.imported == Known(at("2026-03-10T12:00:00Z"), 1234.0)
    assert registers.exported is None
