"""The real bridge process on loopback against the real simulator (``serve --demo``)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx

from tests.helpers.bridge_process import SCENARIOS, running_bridge

SCENARIO = str(SCENARIOS / "iog_evening_smart_dispatch.json")
IMPORT_ID = "import_tariff.1900000000001"


def test_demo_serves_devices_with_the_simulators_prices(tmp_path: Path) -> None:
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge:
        health = httpx.get(f"{bridge.url}/api/v1/health").json()
        assert health["status"] == "ok"
        assert health["account_linked"] is True

        devices = httpx.get(f"{bridge.url}/api/v1/devices", headers=bridge.headers).json()
        assert {(d["id"], d["kind"]) for d in devices} == {
            (IMPORT_ID, "import_tariff"),
            ("export_tariff.1900000000002", "export_tariff"),
            ("energy_account.A-1234ABCD", "energy_account"),
            ("smart_energy_device.dev-1", "smart_energy_device"),
        }
        device = httpx.get(f"{bridge.url}/api/v1/devices/{IMPORT_ID}", headers=bridge.headers)
        body = device.json()
        assert body["available"] is True
        # 17:50 GMT on an IOG day: peak now and next, off-peak from 23:30.
        state = body["state"]
        assert state["unit_rate"] == 24.5
        assert state["tariff_unit_rate"] == 24.5
        assert state["next_unit_rate"] == 24.5
        assert state["slot_start"] == "2026-03-10T17:30:00Z"
        assert state["slot_end"] == "2026-03-10T18:00:00Z"
        assert state["rate_source"] == "tariff"
        assert state["standing_charge"] == 53.0
        assert state["tariff_code"] == "E-1R-INTELLI-VAR-24-10-29-C"
        export = httpx.get(
            f"{bridge.url}/api/v1/devices/export_tariff.1900000000002", headers=bridge.headers
        ).json()
        assert export["state"]["unit_rate"] == 15.0


def test_every_route_but_health_needs_the_token(tmp_path: Path) -> None:
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge:
        for path in ("/api/v1/devices", f"/api/v1/devices/{IMPORT_ID}", "/api/v1/events"):
            for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}):
                answer = httpx.get(f"{bridge.url}{path}", headers=headers)
                assert answer.status_code == 401, path
                assert "token" in answer.json()["detail"]
        missing = httpx.get(f"{bridge.url}/api/v1/devices/nope", headers=bridge.headers)
        assert missing.status_code == 404
        assert "/api/v1/devices" in missing.json()["detail"]
        token_file = tmp_path / "bridge-token"
        assert token_file.read_text().strip() == bridge.token
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_event_stream_starts_with_every_devices_full_state(tmp_path: Path) -> None:
    with (
        running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge,
        httpx.stream(
            "GET", f"{bridge.url}/api/v1/events", headers=bridge.headers, timeout=10
        ) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        events: list[tuple[str, dict[str, object]]] = []
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
            if len(events) == 8:
                break
        states = {e["device_id"]: e["state"] for k, e in events if k == "state"}
        assert states[IMPORT_ID]["unit_rate"] == 24.5  # type: ignore[index]
        available = {e["device_id"]: e["available"] for k, e in events if k == "availability"}
        assert available[IMPORT_ID] is True
        assert len(states) == 4


def test_serve_without_an_account_says_what_to_set(tmp_path: Path) -> None:
    import subprocess

    from tests.helpers.bridge_process import BRIDGE

    result = subprocess.run(
        [str(BRIDGE), "serve", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "KRAKEN_BRIDGE_API_KEY" in result.stderr
    assert "--demo" in result.stderr
