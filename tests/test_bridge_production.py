"""The bridge as it runs for months: token, secrets, event-stream resume and shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from kraken_core.api.events import EventBus
from kraken_core.settings import load_settings
from tests.helpers.bridge_process import (
    API_KEY,
    BRIDGE,
    SCENARIOS,
    running_bridge,
    simulator_process,
)

SCENARIO = str(SCENARIOS / "iog_evening_smart_dispatch.json")


def read_events(
    response: httpx.Response, count: int, timeout_s: float = 20
) -> list[tuple[str, str, dict[str, object]]]:
    """(id, type, data) of the next ``count`` events on an open stream."""
    events: list[tuple[str, str, dict[str, object]]] = []
    event_id, kind, data = "", "", ""
    deadline = time.monotonic() + timeout_s
    for line in response.iter_lines():
        if line.startswith("id: "):
            event_id = line.removeprefix("id: ")
        elif line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data += line.removeprefix("data: ")
        elif line == "" and data:  # a blank line dispatches the event
            events.append((event_id, kind, json.loads(data)))
            kind, data = "", ""
            if len(events) >= count:
                break
        assert time.monotonic() < deadline, f"only {len(events)} events arrived"
    return events


def test_real_account_mode_key_from_a_file_never_shows_up(tmp_path: Path) -> None:
    key_file = tmp_path / "api_key"
    key_file.write_text(API_KEY + "\n")
    with simulator_process(tmp_path) as simulator:
        env = {
            "KRAKEN_BRIDGE_API_KEY_FILE": str(key_file),
            "KRAKEN_BRIDGE_ACCOUNT_NUMBER": "a-1234abcd",
            "KRAKEN_BRIDGE_GRAPHQL_URL": f"{simulator}/v1/graphql/",
            "KRAKEN_BRIDGE_BACKEND_GRAPHQL_URL": f"{simulator}/backend/v1/graphql/",
            "KRAKEN_BRIDGE_REST_URL": f"{simulator}/v1/",
        }
        with running_bridge(data_dir=tmp_path / "data", env=env) as bridge:
            devices = httpx.get(f"{bridge.url}/api/v1/devices", headers=bridge.headers).json()
            assert "import_tariff.1900000000001" in {d["id"] for d in devices}
            diagnostics = httpx.get(f"{bridge.url}/api/v1/diagnostics", headers=bridge.headers)
            assert diagnostics.status_code == 200
            text = diagnostics.text
            assert API_KEY not in text
            assert bridge.token not in text
            body = diagnostics.json()
            assert body["settings"]["api_key"] == "set"
            assert body["settings"]["account_number"] == "A-12****CD"
            assert body["requests_sent"]["obtainKrakenToken"] >= 1
            # First start: the token is shown once, then only by `kraken-bridge token`.
            assert any(line.startswith("Token: ") for line in bridge.output)
        with running_bridge(data_dir=tmp_path / "data", env=env, token_line="Token:") as again:
            assert "Token: unchanged (`kraken-bridge token` shows it)" in again.output
        assert all(API_KEY not in line for line in bridge.output + again.output)


def test_rotating_the_token_locks_out_the_old_one(tmp_path: Path) -> None:
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge:
        old_token = bridge.token
    rotated = subprocess.run(
        [str(BRIDGE), "token", "--rotate", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    new_token = rotated.stdout.strip()
    assert new_token != old_token
    assert "restart the bridge" in rotated.stderr
    shown = subprocess.run(
        [str(BRIDGE), "token", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == new_token
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge:
        url = f"{bridge.url}/api/v1/devices"
        assert httpx.get(url, headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
        assert httpx.get(url, headers={"Authorization": f"Bearer {new_token}"}).status_code == 200


def test_every_route_in_the_openapi_but_health_refuses_a_missing_or_wrong_token(
    tmp_path: Path,
) -> None:
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge:
        assert httpx.get(f"{bridge.url}/openapi.json").status_code == 401
        spec = httpx.get(f"{bridge.url}/openapi.json", headers=bridge.headers).json()
        routes = [
            (method.upper(), path.replace("{device_id}", "import_tariff.1900000000001"))
            for path, methods in spec["paths"].items()
            for method in methods
        ]
        assert len(routes) >= 5
        for method, path in routes:
            for headers in ({}, {"Authorization": "Bearer not-the-token-at-all"}):
                answer = httpx.request(method, f"{bridge.url}{path}", headers=headers, json={})
                if path == "/api/v1/health":
                    assert answer.status_code == 200
                else:
                    assert answer.status_code == 401, (method, path)


def test_a_reconnecting_client_gets_what_it_missed_or_a_resync(tmp_path: Path) -> None:
    # 600x: a simulated half-hour passes every 3 s, so slots change while we are away.
    with running_bridge(
        "--demo", "--scenario", SCENARIO, "--speed", "600", data_dir=tmp_path
    ) as bridge:
        url = f"{bridge.url}/api/v1/events"
        with httpx.stream("GET", url, headers=bridge.headers, timeout=20) as stream:
            first = read_events(stream, 8)
        last_seen = first[-1][0]
        time.sleep(4)
        resume = {**bridge.headers, "Last-Event-ID": last_seen}
        with httpx.stream("GET", url, headers=resume, timeout=20) as stream:
            missed = read_events(stream, 1)
        assert int(missed[0][0]) > int(last_seen)
        assert missed[0][1] in {"state", "availability"}
        assert "full" not in missed[0][2]
        future = {**bridge.headers, "Last-Event-ID": "999999999"}
        with httpx.stream("GET", url, headers=future, timeout=20) as stream:
            kinds = [kind for _, kind, _ in read_events(stream, 3)]
        assert kinds[0] == "resync"
        assert "state" in kinds[1:]


def test_shutdown_with_open_streams_takes_under_five_seconds(tmp_path: Path) -> None:
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge:
        opened = threading.Barrier(4)

        ended_cleanly: list[bool] = []

        def listen() -> None:
            with httpx.stream(
                "GET", f"{bridge.url}/api/v1/events", headers=bridge.headers, timeout=30
            ) as stream:
                lines = stream.iter_lines()
                while not next(lines).startswith("data: "):
                    pass
                opened.wait(timeout=10)
                try:
                    for _ in lines:
                        pass
                    ended_cleanly.append(True)
                except httpx.HTTPError:
                    ended_cleanly.append(False)

        listeners = [threading.Thread(target=listen, daemon=True) for _ in range(3)]
        for listener in listeners:
            listener.start()
        opened.wait(timeout=10)
        assert all(listener.is_alive() for listener in listeners)
        started = time.monotonic()
        os.kill(bridge.process.pid, signal.SIGTERM)
        bridge.process.wait(timeout=10)
        elapsed = time.monotonic() - started
        for listener in listeners:
            listener.join(timeout=5)
        assert elapsed < 5, f"shutdown took {elapsed:.1f} s"
        assert not any(listener.is_alive() for listener in listeners)
        assert ended_cleanly == [True, True, True]  # streams closed, not cut


async def test_a_stuck_subscriber_is_dropped_and_others_keep_receiving() -> None:
    bus = EventBus(buffer_size=100, max_queued=10)
    stuck, _ = bus.subscribe()
    reader, _ = bus.subscribe()
    received = []
    for number in range(25):
        bus.publish("state", {"n": number})
        event = await reader.next()
        assert event is not None
        received.append(event.data["n"])
    assert received == list(range(25))
    # The stuck client's stream ends after what it had queued; it resumes from the buffer.
    queued = [await stuck.next() for _ in range(11)]
    assert [e.data["n"] for e in queued[:10] if e] == list(range(10))
    assert queued[10] is None
    missed = bus.since(queued[9].id if queued[9] else 0)
    assert missed is not None
    assert [e.data["n"] for e in missed] == list(range(10, 25))


def test_an_event_id_from_before_a_restart_gets_a_resync(tmp_path: Path) -> None:
    with (
        running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge,
        httpx.stream(
            "GET", f"{bridge.url}/api/v1/events", headers=bridge.headers, timeout=20
        ) as stream,
    ):
        before = read_events(stream, 2)
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=tmp_path) as bridge:
        resume = {**bridge.headers, "Last-Event-ID": before[-1][0]}
        with httpx.stream("GET", f"{bridge.url}/api/v1/events", headers=resume, timeout=20) as s:
            after = read_events(s, 2)
    assert after[0][1] == "resync"
    assert int(after[0][0]) > int(before[-1][0])


def test_a_test_kraken_is_never_mixed_with_octopus(monkeypatch: pytest.MonkeyPatch) -> None:
    """One Kraken address moved (to a simulator, say) and the others left on Octopus: the
    bridge refuses to start and names the ones left behind."""
    monkeypatch.setenv("KRAKEN_BRIDGE_GRAPHQL_URL", "http://127.0.0.1:9/v1/graphql/")
    monkeypatch.setenv("KRAKEN_BRIDGE_REST_URL", "http://127.0.0.1:9/v1/")
    with pytest.raises(ValidationError, match=r"KRAKEN_BRIDGE_BACKEND_GRAPHQL_URL still point"):
        load_settings()
    monkeypatch.setenv("KRAKEN_BRIDGE_BACKEND_GRAPHQL_URL", "http://127.0.0.1:9/backend/v1/")
    assert load_settings().backend_graphql_url == "http://127.0.0.1:9/backend/v1/"
