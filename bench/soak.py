"""Soak: the whole service polling a simulated month, memory on day 1 against day N.

    .venv/bin/python bench/soak.py [--days 30]

Runs the simulator and the service (client, engine, store, hub) in this process on a
simulated clock: an Intelligent Octopus Go household whose car is plugged in every
evening and charges under SMART dispatches. Prints the process's resident memory after
day 1 and after the last day, and Kraken requests per operation per day.
Target: growth <= 2 MB between day 1 and day 30.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kraken_core.clock import SimulatedClock
from kraken_core.service import open_service
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import parse_scenario
from kraken_core.simulator.server import run_simulator

START = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)  # BST: local = UTC + 1


def z(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def month_scenario(days: int) -> dict[str, Any]:
    rates = []
    timeline = []
    for day in range(-1, days + 2):
        night = START.replace(hour=22, minute=30) + timedelta(days=day)  # 23:30 BST
        rates.append(
            {
                "valid_from": z(night - timedelta(hours=18)),
                "valid_to": z(night),
                "value_inc_vat": 24.5,
            }
        )
        rates.append(
            {
                "valid_from": z(night),
                "valid_to": z(night + timedelta(hours=6)),
                "value_inc_vat": 7.0,
            }
        )
        if day < 0 or day > days:
            continue
        plug_in = START.replace(hour=17) + timedelta(days=day)
        dispatches = [
            {
                "start": z(plug_in + timedelta(hours=2)),
                "end": z(plug_in + timedelta(hours=3)),
                "type": "SMART",
                "energyAddedKwh": 7.0,
            },
            {
                "start": z(night),
                "end": z(night + timedelta(hours=4)),
                "type": "SMART",
                "energyAddedKwh": 28.0,
            },
        ]
        timeline += [
            {
                "at": z(plug_in),
                "currentState": "SMART_CONTROL_CAPABLE",
                "flexPlannedDispatches": dispatches,
            },
            {
                "at": z(plug_in + timedelta(hours=14, minutes=30)),
                "currentState": "SMART_CONTROL_NOT_AVAILABLE",
                "flexPlannedDispatches": [],
            },
        ]
    tariff = "E-1R-INTELLI-VAR-24-10-29-C"
    return {
        "description": f"IOG household, car plugged in every evening, {days} days",
        "start": z(START),
        "account": {
            "number": "A-50AK7E57",
            "electricity": [
                {
                    "mpan": "1900000000001",
                    "direction": "IMPORT",
                    "product_code": "INTELLI-VAR-24-10-29",
                    "tariff_code": tariff,
                    "serial_number": "23J0000001",
                    "telemetry_device_id": "00-00-00-00-00-00-00-01",
                }
            ],
        },
        "unit_rates": {tariff: sorted(rates, key=lambda r: r["valid_from"], reverse=True)},
        "standing_charges": {
            tariff: [
                {"valid_from": "2026-01-01T00:00:00Z", "valid_to": None, "value_inc_vat": 53.0}
            ]
        },
        "telemetry": {"demand_w": 450},
        "devices": [
            {
                "id": "ev-1",
                "deviceType": "ELECTRIC_VEHICLES",
                "make": "Tesla",
                "model": "Model Y",
                "timeline": [
                    {
                        "at": z(START),
                        "currentState": "SMART_CONTROL_NOT_AVAILABLE",
                        "flexPlannedDispatches": [],
                    },
                    *timeline,
                ],
            }
        ],
        "faults": [],
    }


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def soak(days: int) -> None:
    scenario = parse_scenario(json.dumps(month_scenario(days)), "soak scenario")
    clock = SimulatedClock(scenario.start)
    rows: list[tuple[int, float, float, Counter[str]]] = []
    async with run_simulator(Simulator(scenario, clock)) as sim:
        with tempfile.TemporaryDirectory() as data_dir:
            async with open_service(
                clock=clock,
                api_key="sk_soak",
                account_number=scenario.account.number,
                graphql_url=sim.graphql_url,
                rest_url=sim.rest_url,
                backend_graphql_url=sim.backend_graphql_url,
                data_dir=Path(data_dir),
            ) as service:
                started = time.perf_counter()
                previous: Counter[str] = Counter()
                for day in range(1, days + 1):
                    await service.engine.run_until(clock, scenario.start + timedelta(days=day))
                    counts = Counter(service.client.request_counts)
                    gc.collect()
                    rows.append((day, rss_mb(), time.perf_counter() - started, counts - previous))
                    previous = counts
    first, last = rows[0], rows[-1]
    print(f"simulated {days} days of polling (1-minute live polls) in {last[2]:.0f} s")
    print(f"{'day':>4} {'RSS MB':>8}   requests that day")
    for day, rss, _, counts in rows:
        if day in (1, 2, days // 2, days) or day == days:
            print(f"{day:>4} {rss:>8.1f}   {dict(sorted(counts.items()))}")
    print(f"growth day 1 -> day {days}: {last[1] - first[1]:+.2f} MB (target <= 2 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    asyncio.run(soak(parser.parse_args().days))


if __name__ == "__main__":
    main()
