"""Polling cost and freshness: the engine against an every-minute everything poller.

    .venv/bin/python bench/polling.py

Replays a simulated Intelligent Octopus Go day (tests/scenarios/iog_day_plugged_18_to_04
.json: car plugged in 18:00-04:00 with its schedule changing six times through the
night, each day's rates published at 16:07 the day before) twice against the simulator:
- the engine, as the bridge runs it (1-minute polling interval);
- the seed app's schedule: telemetry, device states and every device's planned
  dispatches every minute, account and tariffs every 30 minutes (60 light + 2 heavy
  requests an hour).
It prints Kraken root-field calls per operation for the day (one GraphQL request may
carry several), the lag from a dispatch change in Kraken to the bridge's event, and the
lag from tomorrow's prices appearing to the flag turning true.
Then it runs an Agile day (tests/scenarios/agile_2300_blocks_published_1600.json, the
day-ahead block 23:00 -> 23:00 published at 16:00) and an Economy 7 day
(tests/scenarios/economy7_smart_meter_summer.json, open-ended day and night rates) and
prints the REST requests each makes for rates (products included).
Targets: everything but telemetry <= 0.5x the seed's calls; dispatch lag p95 <= 65 s;
tomorrow's-prices lag <= 5 min; rates requests <= 10 a day on Agile and on Economy 7.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kraken_core.clock import SimulatedClock
from kraken_core.engine.settings import EngineSettings
from kraken_core.kraken.client import KrakenClient
from kraken_core.service import Service, open_service
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import Scenario, load_scenario, parse_scenario
from kraken_core.simulator.server import run_simulator

SCENARIOS = Path(__file__).resolve().parents[1] / "tests/scenarios"
SCENARIO = SCENARIOS / "iog_day_plugged_18_to_04.json"
#: Scenario, and the day (24 hours from its start) whose rates requests are counted.
RATES_DAYS = {
    "Agile": SCENARIOS / "agile_2300_blocks_published_1600.json",
    "Economy 7": SCENARIOS / "economy7_smart_meter_summer.json",
}
# Noon to noon: the whole evening and night the car is plugged in, and 16:00.
DAY = (datetime(2026, 3, 10, 12, tzinfo=UTC), datetime(2026, 3, 11, 12, tzinfo=UTC))
PUBLISHED = datetime(2026, 3, 10, 16, 7, 23, tzinfo=UTC)
CAR = "smart_energy_device.dev-1"
IMPORT = "import_tariff.1900000000001"


def calls_in_day(simulator: Simulator, day: tuple[datetime, datetime] = DAY) -> Counter[str]:
    assert simulator.request_log is not None
    return Counter(field for when, field in simulator.request_log if day[0] <= when < day[1])


def schedule_changes(scenario: Scenario) -> list[tuple[datetime, list[dict[str, Any]]]]:
    """(time, schedule) of every change of planned dispatches while plugged in."""
    device = scenario.devices[0]
    changes = []
    previous: list[dict[str, Any]] | None = None
    for entry in device.timeline:
        schedule = [{"start": d.start, "end": d.end} for d in entry.flexPlannedDispatches]
        honoured = entry.currentState in ("SMART_CONTROL_CAPABLE", "SMART_CONTROL_IN_PROGRESS")
        if honoured and previous is not None and schedule != previous and entry.at > DAY[0]:
            changes.append((entry.at, schedule))
        previous = schedule if honoured else None
    return changes


def z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: The Octoplus part of the --saving-session variant: enrolled, region 12, a session for
#: that region announced at 13:00 for 17:30-18:30 (Octopus announces hours to a day ahead).
SAVING_SESSION = {
    "octoplus_enrolled": True,
    "has_joined_campaign": True,
    "region_id": 12,
    "events": [
        {
            "id": 4001,
            "code": "EVENT_2026_03_10_1730",
            "startAt": "2026-03-10T17:30:00Z",
            "endAt": "2026-03-10T18:30:00Z",
            "rewardPerKwhInOctoPoints": 1800,
            "targetRegion": [{"regionId": 12}],
            "eventType": "TURN_DOWN",
            "announced_at": "2026-03-10T13:00:00Z",
            "rewardGivenInOctoPoints": 410,
        }
    ],
    "wheel_spins": {"electricity": 1},
}


def with_saving_session(path: Path) -> Scenario:
    """The scenario at ``path`` for an Octoplus household with a session announced."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["saving_sessions"] = SAVING_SESSION
    raw["octoplus_points"] = 2400
    return parse_scenario(json.dumps(raw), source=f"{path.name} + saving session")


@asynccontextmanager
async def bench_service(
    scenario: Scenario, settings: EngineSettings | None = None
) -> AsyncIterator[tuple[Simulator, Service, SimulatedClock]]:
    """The whole service on ``scenario``'s simulator, a simulated clock and a fresh store."""
    clock = SimulatedClock(scenario.start)
    simulator = Simulator(scenario, clock, keep_request_log=True)
    async with run_simulator(simulator) as sim:
        with tempfile.TemporaryDirectory() as data_dir:
            async with open_service(
                clock=clock,
                api_key="sk_bench",
                account_number=scenario.account.number,
                graphql_url=sim.graphql_url,
                rest_url=sim.rest_url,
                backend_graphql_url=sim.backend_graphql_url,
                data_dir=Path(data_dir),
                engine_settings=settings,
            ) as service:
                yield simulator, service, clock


async def run_engine(
    scenario: Scenario, settings: EngineSettings | None = None
) -> tuple[Counter[str], list[float], float | None]:
    seen: list[tuple[datetime, str, dict[str, Any]]] = []
    async with bench_service(scenario, settings) as (simulator, service, clock):
        engine, bus = service.engine, service.backend.events
        last_id = bus.last_id
        while engine.next_due() < DAY[1]:
            clock.set(max(clock.now(), engine.next_due()))
            await engine.run_due()
            for event in bus.since(last_id) or []:
                seen.append((clock.now(), event.type, event.data))
            last_id = bus.last_id
    lags = []
    for changed_at, schedule in schedule_changes(scenario):
        wanted = {(z(d["start"]), z(d["end"])) for d in schedule if d["end"] > changed_at}
        shown_at = next(
            (
                when
                for when, kind, data in seen
                if when >= changed_at
                and kind == "state"
                and data["device_id"] == CAR
                and "planned_dispatches" in data["state"]
                and {(d["start"], d["end"]) for d in data["state"]["planned_dispatches"]} == wanted
            ),
            None,
        )
        if shown_at is None:
            raise SystemExit(f"the schedule changed at {changed_at} never reached the bridge")
        lags.append((shown_at - changed_at).total_seconds())
    flag = next(
        (
            when
            for when, kind, data in seen
            if kind == "state"
            and data["device_id"] == IMPORT
            and data["state"].get("tomorrow_prices_published") is True
            and when >= PUBLISHED
        ),
        None,
    )
    tomorrow_lag = (flag - PUBLISHED).total_seconds() if flag else None
    return calls_in_day(simulator), lags, tomorrow_lag


async def run_seed_poller(scenario: Scenario) -> tuple[Counter[str], list[float], float | None]:
    """The hand-written schedule users had: everything every minute, heavy half-hourly."""
    clock = SimulatedClock(scenario.start)
    simulator = Simulator(scenario, clock, keep_request_log=True)
    meter = scenario.account.electricity[0]
    async with (
        run_simulator(simulator) as sim,
        KrakenClient(
            api_key="sk_bench",
            account_number=scenario.account.number,
            clock=clock,
            graphql_url=sim.graphql_url,
            rest_url=sim.rest_url,
            limits={},
        ) as client,
    ):
        minute = 0
        tomorrow_seen: datetime | None = None
        while clock.now() < DAY[1]:
            now = clock.now()
            if minute % 30 == 0:
                await client.account()
                today = DAY[0].replace(hour=0) + timedelta(days=minute // 1440)
                end = today + timedelta(days=2)
                rows = await client.unit_rates(meter.product_code, meter.tariff_code, today, end)
                await client.standing_charges(meter.product_code, meter.tariff_code, today, end)
                tomorrow = DAY[0].replace(hour=0) + timedelta(days=1)
                if tomorrow_seen is None and any(r.valid_from >= tomorrow for r in rows):
                    tomorrow_seen = now
            await client.telemetry(meter.telemetry_device_id or "")
            for device in await client.devices():
                await client.planned_dispatches(device.id)
            minute += 1
            clock.set(scenario.start + timedelta(minutes=minute))
    # A schedule change is seen at the next whole minute.
    lags = [
        60.0 - changed.second if changed.second else 0.0
        for changed, _ in schedule_changes(scenario)
    ]
    lag = (tomorrow_seen - PUBLISHED).total_seconds() if tomorrow_seen else None
    return calls_in_day(simulator), lags, lag


async def rates_requests(scenario: Scenario) -> Counter[str]:
    """REST requests (products and rates) of the bridge in the 24 hours from the start."""
    day = (scenario.start, scenario.start + timedelta(days=1))
    async with bench_service(scenario) as (simulator, service, clock):
        await service.engine.run_until(clock, day[1])
    calls = calls_in_day(simulator, day)
    return Counter({op: n for op, n in calls.items() if op.startswith("rest:")})


def print_rates_days() -> None:
    print()
    print(f"{'rates requests in a day':<28} {'total':>8}  by resource")
    for name, path in RATES_DAYS.items():
        calls = asyncio.run(rates_requests(load_scenario(path)))
        detail = ", ".join(f"{op.removeprefix('rest:')} {n}" for op, n in sorted(calls.items()))
        print(f"{name:<28} {sum(calls.values()):>8}  {detail}  (target <= 10)")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--saving-session",
        action="store_true",
        help="the IOG day for an Octoplus household with a saving session announced",
    )
    args = parser.parse_args()
    if args.saving_session:
        scenario = with_saving_session(SCENARIO)
        settings = EngineSettings(auto_join_saving_sessions=True)
        title = f"{SCENARIO.name}, Octoplus, a saving session announced and joined"
    else:
        scenario, settings, title = load_scenario(SCENARIO), None, SCENARIO.name
    engine_calls, engine_lags, engine_tomorrow = asyncio.run(run_engine(scenario, settings))
    seed_calls, seed_lags, seed_tomorrow = asyncio.run(run_seed_poller(scenario))
    operations = sorted(set(engine_calls) | set(seed_calls))
    print(f"Kraken root-field calls in one simulated IOG day ({title})")
    print(f"{'operation':<28} {'bridge':>8} {'seed':>8} {'ratio':>7}")
    for operation in operations:
        ours, theirs = engine_calls[operation], seed_calls[operation]
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        print(f"{operation:<28} {ours:>8} {theirs:>8} {ratio:>7}")
    ours = sum(n for op, n in engine_calls.items() if op != "smartMeterTelemetry")
    theirs = sum(n for op, n in seed_calls.items() if op != "smartMeterTelemetry")
    print(
        f"{'all but telemetry':<28} {ours:>8} {theirs:>8} {ours / theirs:>7.2f}  (target <= 0.50)"
    )
    print()
    print(f"{'freshness':<28} {'bridge':>8} {'seed':>8}")
    print(
        f"{'dispatch lag p50 (s)':<28} {statistics.median(engine_lags):>8.0f} "
        f"{statistics.median(seed_lags):>8.0f}"
    )
    print(
        f"{'dispatch lag p95 (s)':<28} {percentile(engine_lags, 0.95):>8.0f} "
        f"{percentile(seed_lags, 0.95):>8.0f}  (target <= 65, {len(engine_lags)} changes)"
    )
    print(
        f"{'tomorrow prices lag (s)':<28} {engine_tomorrow or float('nan'):>8.0f} "
        f"{seed_tomorrow or float('nan'):>8.0f}  (target <= 300)"
    )
    if not args.saving_session:
        print_rates_days()


if __name__ == "__main__":
    main()
