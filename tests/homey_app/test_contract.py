"""One implementation behind both front doors: the same requests through the REST bridge
(a real uvicorn server on loopback) and through the Homey app's api.py (the real SDK),
both in front of the same running service, answer the same status and the same JSON."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from kraken_core.bridge.app import create_app
from kraken_core.bridge.server import server_config
from kraken_core.serving import bind_socket
from tests.homey_app.harness import BackendUnderTest, running_backend

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "tests" / "scenarios" / "iog_dispatch_2300.json"
TOKEN = "contract-test-token-0123456789"
# Values that move between two requests a moment apart, whichever door answers.
MOVING = {"uptime_s", "now", "jobs", "requests_sent", "budget", "next_refresh", "operations"}

# (method, path after /api/v1 on the bridge and after the app on Homey, body)
REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/health", None),
    ("GET", "/devices", None),
    ("GET", "/devices/import_tariff.nope", None),
    ("GET", "/settings", None),
    ("PUT", "/settings", {"poll_interval_minutes": 2, "allowance_limit_minutes": 90}),
    ("PUT", "/settings", {"poll_interval_minutes": 4}),
    ("PUT", "/settings", {"gas_calorific_value": 12}),
    ("GET", "/budget", None),
    ("GET", "/diagnostics", None),
    ("GET", "/timeline", None),
    ("GET", "/timeline?date=2026-03-10", None),
    ("GET", "/timeline?date=2026-13-01", None),
    ("GET", "/stats", None),
    ("GET", "/stats?period=month&date=2026-03", None),
    ("GET", "/stats?period=year", None),
    ("GET", "/stats/series?by=month&to=2026-03-10", None),
    ("GET", "/stats/series?by=week", None),
]


@pytest.fixture
async def doors(tmp_path: Path) -> AsyncIterator[tuple[BackendUnderTest, httpx.AsyncClient]]:
    async with running_backend(SCENARIO, speed=1.0, data_dir=tmp_path) as backend:
        service = backend.hosted.service
        assert service is not None
        app = create_app(service.backend, TOKEN)
        sock = bind_socket("127.0.0.1", 0)
        server = uvicorn.Server(server_config(app))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=url, headers=headers) as http:
            yield backend, http
        server.should_exit = True
        await task


def steady(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: steady(v) for k, v in value.items() if k not in MOVING}
    if isinstance(value, list):
        return [steady(item) for item in value]
    return value


async def test_both_doors_answer_alike(
    doors: tuple[BackendUnderTest, httpx.AsyncClient],
) -> None:
    backend, http = doors
    devices = (await backend.call("GET", "/devices"))["body"]
    per_device = [("GET", f"/devices/{d['id']}", None) for d in devices]
    car = next(d["id"] for d in devices if d["kind"] == "smart_energy_device")
    actions = [
        ("POST", f"/devices/{car}/actions/fly", {}),
        ("POST", f"/devices/{car}/actions/set_charge_target", {"target_percent": "lots"}),
        ("POST", f"/devices/{car}/actions/boost", [1, 2]),
    ]
    compared = 0
    for method, path, body in REQUESTS + per_device + actions:
        for attempt in range(3):  # a poll may land between the two questions
            rest = await http.request(method, path, json=body)
            homey = await backend.call(method, path, body)
            same = (homey["status"], steady(homey["body"])) == (
                rest.status_code,
                steady(rest.json()),
            )
            if same or attempt == 2:
                break
        assert homey["status"] == rest.status_code, f"{method} {path}"
        assert steady(homey["body"]) == steady(rest.json()), f"{method} {path}"
        compared += 1
    assert compared == len(REQUESTS) + len(devices) + 3
