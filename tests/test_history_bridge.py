"""A bridge killed mid-day and started again loses nothing (real processes, real SQLite).

The household draws a steady 1.2 kW and exports 0.1 kW (its registers start at 23:00 the
evening before), recorded as one-minute Home Mini readings, so the simulator of the second
run (which starts later in the day, as if the bridge had been off) serves the same
registers as the first.
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.bridge_process import SCENARIOS, RunningBridge, running_bridge

ACCOUNT = "energy_account.A-60C0FFEE"
MIDNIGHT = datetime(2026, 1, 15, tzinfo=UTC)
METER_START = MIDNIGHT - timedelta(hours=1)
IMPORT_W, EXPORT_W = 1200, 100
SPEED = "600"  # a simulated hour every 6 s


def scenario_file(tmp_path: Path, start: datetime) -> Path:
    scenario = json.loads((SCENARIOS / "go_steady_home_history.json").read_text())
    scenario["start"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    scenario["telemetry"] = {
        "readings": [
            {
                "readAt": (METER_START + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "consumption": IMPORT_W * m / 60,
                "consumptionDelta": IMPORT_W / 60 if m else 0,
                "demand": IMPORT_W,
                "export": EXPORT_W * m / 60,
            }
            for m in range(25 * 60)
        ]
    }
    path = tmp_path / f"steady_home_from_{start:%H%M}.json"
    path.write_text(json.dumps(scenario))
    return path


def account(bridge: RunningBridge) -> dict[str, Any]:
    answer = httpx.get(f"{bridge.url}/api/v1/devices/{ACCOUNT}", headers=bridge.headers)
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def wait_for(bridge: RunningBridge, ready: Any, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        device = account(bridge)
        if device["available"] and ready(device["state"]):
            return device
        assert time.monotonic() < deadline, f"gave up waiting; last state {device['state']}"
        time.sleep(0.2)


def slot_rows(bridge: RunningBridge) -> list[dict[str, str]]:
    answer = httpx.get(
        f"{bridge.url}/api/v1/history.csv",
        params={"from": "2026-01-15", "to": "2026-01-15"},
        headers=bridge.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_killed_mid_day_and_restarted_the_bridge_keeps_and_backfills_its_history(
    tmp_path: Path,
) -> None:
    morning = scenario_file(tmp_path, MIDNIGHT - timedelta(minutes=10))
    with running_bridge(
        "--demo", "--scenario", str(morning), "--speed", SPEED, data_dir=tmp_path
    ) as first:
        before = wait_for(first, lambda s: (s["import_kwh_today"] or 0) >= 1.5)["state"]
        rows_before = [r for r in slot_rows(first) if r["gap"] == "false"]
        first.process.kill()  # no clean shutdown: SIGKILL
        first.process.wait(10)
    assert (tmp_path / "demo" / "history.sqlite3").is_file()
    # Back at 05:00: the bridge was off for about three and a half hours.
    restart = MIDNIGHT + timedelta(hours=5)
    later = scenario_file(tmp_path, restart)
    with running_bridge(
        "--demo", "--scenario", str(later), "--speed", SPEED, data_dir=tmp_path
    ) as second:
        first_seen = account(second)["state"]
        # The registers survive the restart before any new reading and never go down.
        assert first_seen["import_kwh_total"] >= before["import_kwh_total"]
        assert first_seen["export_kwh_total"] >= before["export_kwh_total"]
        after = wait_for(second, lambda s: s["import_kwh_today"] >= 6.1)["state"]
        rows = slot_rows(second)

    # Registers are the meter's: 1.2 kWh and 0.1 kWh an hour since 23:00.
    hours = after["import_kwh_total"] / 1.2
    assert 6 < hours < 7
    assert abs(after["export_kwh_total"] - hours * 0.1) <= 0.002
    # Today's totals count every half-hour since midnight: the gap was backfilled.
    assert after["telemetry_gap_slots_today"] == 0, [r for r in rows if r["gap"] != "false"]
    assert abs(after["import_kwh_today"] - (after["import_kwh_total"] - 1.2)) <= 0.002
    assert abs(after["export_kwh_today"] - (after["export_kwh_total"] - 0.1)) <= 0.002
    # The slot history: every half-hour from midnight, 0.6 kWh each, priced by Go's rates.
    ended = [r for r in rows if r["slot_start"] < "2026-01-15T05:00"]
    assert [r["slot_start"][11:16] for r in ended] == [
        f"{h:02d}:{m:02d}" for h in range(5) for m in (0, 30)
    ]
    for row in ended:
        assert row["gap"] == "false", row
        # A live reading is stamped at its readAt, a backfilled one at the end of its
        # bucket: where the two meet, up to a minute's energy moves to the next slot.
        assert abs(float(row["import_kwh"]) - 0.6) <= 0.0201, row
        assert abs(float(row["export_kwh"]) - 0.05) <= 0.0018, row
        off_peak = "00:30" <= row["slot_start"][11:16] < "05:30"
        assert float(row["import_price"]) == (8.5 if off_peak else 27.0), row
        assert row["price_quadrant"] == ("0" if off_peak else "3"), row
        assert row["export_price"] == "15.0000"
    # What the first run recorded is still there, unchanged.
    kept = {r["slot_start"]: r for r in rows}
    for row in rows_before[:-1]:  # the last one was still filling when the bridge died
        assert kept[row["slot_start"]]["import_kwh"] == row["import_kwh"]
    # Today's cost: each slot's energy at its price (00:00 at 27p, then 8.5p off-peak).
    cost = 0.6 * 27.0 + 9 * 0.6 * 8.5 + (after["import_kwh_today"] - 6.0) * 8.5
    assert abs(after["import_cost_today"] - cost) <= 0.05
    assert abs(after["export_value_today"] - after["export_kwh_today"] * 15.0) <= 0.05


def test_stats_history_and_metrics_over_http(tmp_path: Path) -> None:
    scenario = scenario_file(tmp_path, MIDNIGHT + timedelta(hours=1))
    with running_bridge(
        "--demo", "--scenario", str(scenario), "--speed", SPEED, data_dir=tmp_path
    ) as bridge:
        wait_for(bridge, lambda s: (s["import_kwh_today"] or 0) >= 1.8)

        def get(path: str, **params: str) -> httpx.Response:
            return httpx.get(f"{bridge.url}{path}", params=params, headers=bridge.headers)

        day = get("/api/v1/stats", period="day", date="2026-01-15").json()
        assert (day["from"], day["to"]) == ("2026-01-15", "2026-01-15")
        assert day["import_kwh"] >= 1.8
        assert day["minimum_price"] == 8.5
        assert day["kwh_by_quadrant"][1] == day["kwh_by_quadrant"][2] == 0.0  # Go: two rates
        assert day["score_percent"] is not None
        month = get("/api/v1/stats", period="month", date="2026-01").json()
        assert (month["from"], month["to"]) == ("2026-01-01", "2026-01-31")
        assert get("/api/v1/stats", period="12m").json()["to"] == "2026-01-15"

        for params, words in [
            ({"period": "week"}, "use day, month or 12m"),
            ({"date": "15/01/2026"}, "use YYYY-MM-DD"),
        ]:
            refused = get("/api/v1/stats", **params)
            assert refused.status_code == 400
            assert words in refused.json()["detail"]
        for params, words in [
            ({"from": "2026-01-15"}, "give from and to"),
            ({"from": "2026-01-16", "to": "2026-01-15"}, "must be after"),
            ({"from": "2026-01-15T00:00:00", "to": "2026-01-16"}, "time with a zone"),
            ({"from": "2025-01-01", "to": "2026-01-15"}, "at most 366 days"),
        ]:
            refused = get("/api/v1/history.csv", **params)
            assert refused.status_code == 400, params
            assert words in refused.json()["detail"]
        window = get(
            "/api/v1/history.csv", **{"from": "2026-01-15T00:00:00Z", "to": "2026-01-15T01:00:00Z"}
        )
        assert [r["slot_start"] for r in csv.DictReader(io.StringIO(window.text))] == [
            "2026-01-15T00:00:00Z",
            "2026-01-15T00:30:00Z",
        ]

        assert httpx.get(f"{bridge.url}/metrics").status_code == 401
        metrics = get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        lines = metrics.text.splitlines()
        assert "# TYPE kraken_import_kwh_total counter" in lines
        assert any(
            line.startswith(f'kraken_import_kwh_total{{device="{ACCOUNT}"') for line in lines
        )
        assert any(line.startswith("kraken_unit_rate_pence{") for line in lines)
        assert any(line.startswith("kraken_price_quadrant{") for line in lines)
        assert any(
            line.startswith("kraken_power_watts{") and line.endswith(" 1200") for line in lines
        )
        assert any(line.startswith("kraken_requests_sent_total{") for line in lines)
