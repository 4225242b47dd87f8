"""The Kraken Backend Homey app, started by the real `homey` SDK (a fake Homey socket)
against the simulator: set up from its settings page, then asked what the Kraken Bridge
app asks, over Homey's app API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.homey_app.fake_homey import FakeHomey
from tests.homey_app.harness import SIMULATOR_API_KEY, BackendUnderTest, running_backend

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "tests" / "scenarios"
DISPATCH_2300 = SCENARIOS / "iog_dispatch_2300.json"  # 22:56; SMART 23:00-23:10; refusal 23:12
SPEED = 60.0  # a simulated minute a second


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[BackendUnderTest]:
    """The app installed, nothing entered on its settings page yet."""
    async with running_backend(DISPATCH_2300, speed=SPEED, data_dir=tmp_path, set_up=False) as b:
        yield b


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[BackendUnderTest]:
    async with running_backend(DISPATCH_2300, speed=SPEED, data_dir=tmp_path) as b:
        yield b


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(0.1)


BRIDGE_EVENTS = ("state", "availability", "trigger", "resync")


def pushed(backend: BackendUnderTest) -> list[tuple[str, dict[str, Any]]]:
    """The bridge's events among everything the app pushed with ``realtime`` (Homey's
    settings manager pushes ``settings.set`` there too)."""
    return [(e, d) for e, d in backend.homey.realtime if e in BRIDGE_EVENTS]


def device_id(devices: list[dict[str, Any]], kind: str) -> str:
    return next(str(d["id"]) for d in devices if d["kind"] == kind)


async def test_before_set_up_every_request_says_what_to_do(fresh: BackendUnderTest) -> None:
    answer = await fresh.call("GET", "/devices")
    assert answer["status"] == 503
    assert "enter your API key and account number" in answer["body"]["detail"]
    shown = await fresh.call("GET", "/credentials")
    assert shown == {
        "status": 200,
        "body": {
            "api_key_set": False,
            "account_number": None,
            "last_check": None,
            "running": False,
        },
    }


async def test_a_wrong_account_is_refused_with_octopus_reason_and_nothing_kept(
    fresh: BackendUnderTest,
) -> None:
    refused = await fresh.call(
        "PUT", "/credentials", {"api_key": SIMULATOR_API_KEY, "account_number": "A-00000000"}
    )
    assert refused["status"] == 422
    assert refused["body"]["detail"].startswith("Not saved: A-00000000 cannot be read")
    malformed = await fresh.call(
        "PUT", "/credentials", {"api_key": SIMULATOR_API_KEY, "account_number": "12345"}
    )
    assert malformed["status"] == 422
    assert "looks like A-1234ABCD" in malformed["body"]["detail"]
    short_key = await fresh.call(
        "PUT", "/credentials", {"api_key": "sk_live", "account_number": "A-1F2E3D4C"}
    )
    assert "starts sk_live_" in short_key["body"]["detail"]
    missing = await fresh.call("PUT", "/credentials", {"api_key": SIMULATOR_API_KEY})
    assert missing == {
        "status": 422,
        "body": {"detail": "Send api_key and account_number, both as text."},
    }
    assert "api_key" not in fresh.homey.settings  # nothing refused is kept
    assert (await fresh.call("GET", "/devices"))["status"] == 503
    last = (await fresh.call("GET", "/credentials"))["body"]["last_check"]
    assert last["ok"] is False
    assert last["message"].startswith("Not saved")


async def test_accepted_credentials_start_the_bridge_and_stay_secret(
    fresh: BackendUnderTest,
) -> None:
    answer = await fresh.set_up()
    account = fresh.scenario.account.number
    assert answer["status"] == 200
    assert answer["body"]["message"].startswith(f"Checked with Octopus: {account}: IMPORT ")
    assert fresh.homey.settings["api_key"] == SIMULATOR_API_KEY  # kept in Homey's settings
    devices = (await fresh.call("GET", "/devices"))["body"]
    assert {d["kind"] for d in devices} >= {"import_tariff", "smart_energy_device"}
    for path in ("/credentials", "/diagnostics", "/settings", "/health", "/budget"):
        answered = await fresh.call("GET", path)
        assert answered["status"] == 200, path
        assert SIMULATOR_API_KEY not in json.dumps(answered), path
    shown = (await fresh.call("GET", "/credentials"))["body"]
    assert shown["api_key_set"] is True
    assert shown["account_number"] == account


async def test_a_backend_that_cannot_start_says_why(tmp_path: Path) -> None:
    blocked = tmp_path / "userdata"
    blocked.write_text("a file where the data folder should be")
    async with running_backend(DISPATCH_2300, speed=SPEED, data_dir=blocked, set_up=False) as b:
        answer = await b.set_up()
        assert answer["status"] == 422
        assert answer["body"]["detail"].startswith("Saved, but the backend could not start")
        devices = await b.call("GET", "/devices")
        assert devices["status"] == 503
        assert "could not start (FileExistsError" in devices["body"]["detail"]


async def test_a_dispatch_moves_the_import_price_and_is_pushed(backend: BackendUnderTest) -> None:
    devices = (await backend.call("GET", "/devices"))["body"]
    tariff = device_id(devices, "import_tariff")

    async def state() -> dict[str, Any]:
        view = await backend.call("GET", f"/devices/{tariff}")
        assert view["status"] == 200
        state: dict[str, Any] = view["body"]["state"]
        return state

    before = await state()
    assert before["rate_source"] == "tariff"
    assert before["unit_rate"] > 20

    async def dispatching() -> bool:
        return bool((await state())["rate_source"] == "smart_dispatch")

    await eventually(dispatching, "the 23:00 dispatch on the import tariff")
    assert (await state())["unit_rate"] < before["unit_rate"]
    states = [
        data["data"]["state"]
        for event, data in pushed(backend)
        if event == "state" and data["data"]["device_id"] == tariff
    ]
    assert any(s.get("rate_source") == "smart_dispatch" for s in states), "pushed by realtime"

    async def started() -> bool:
        cards = [d["data"]["card"] for e, d in pushed(backend) if e == "trigger"]
        return "dispatch_started" in cards

    await eventually(started, "the dispatch_started trigger pushed")


async def test_a_refused_boost_keeps_octopus_sentence(backend: BackendUnderTest) -> None:
    car = device_id((await backend.call("GET", "/devices"))["body"], "smart_energy_device")

    async def unplugged() -> bool:
        view = await backend.call("GET", f"/devices/{car}")
        return bool(view["body"]["state"]["device_state"] == "SMART_CONTROL_NOT_AVAILABLE")

    await eventually(unplugged, "the car unplugged at 23:12", within=40)
    refused = await backend.call("POST", f"/devices/{car}/actions/boost", {})
    assert refused["status"] == 409
    assert "not plugged in" in refused["body"]["detail"]
    unknown = await backend.call("POST", f"/devices/{car}/actions/fly", {})
    assert unknown["status"] == 400
    assert unknown["body"]["detail"].startswith(
        "A smart energy device cannot fly; its actions: boost"
    )


async def test_events_resume_after_the_last_id_seen(backend: BackendUnderTest) -> None:
    first = (await backend.call("GET", "/events"))["body"]["events"]
    assert {e["type"] for e in first} == {"state", "availability"}
    seen = first[0]["id"]
    await eventually(
        lambda: _later_than(backend, seen), "a pushed event after the first read", within=20
    )
    missed = (await backend.call("GET", f"/events?after={seen}"))["body"]["events"]
    pushed_ids = [d["id"] for _, d in pushed(backend) if d["id"] > seen]
    assert [e["id"] for e in missed][: len(pushed_ids)] == pushed_ids[: len(missed)]
    resync = (await backend.call("GET", "/events?after=12"))["body"]["events"]
    assert resync[0]["type"] == "resync"
    assert resync[1]["type"] == "state"


async def _later_than(backend: BackendUnderTest, seen: int) -> bool:
    return any(data["id"] > seen for _, data in pushed(backend))


async def test_a_homey_that_falls_behind_is_told_to_resync(backend: BackendUnderTest) -> None:
    service = backend.hosted.service
    assert service is not None
    bus = service.backend.events
    gate = backend.homey.hold_realtime()
    for n in range(1_100):  # more than a subscriber may have queued (1,000)
        bus.publish("trigger", {"device_id": "test", "card": "test", "tokens": {"n": n}})
    gate.set()

    async def resynced() -> bool:
        return any(event == "resync" for event, _ in pushed(backend))

    await eventually(resynced, "a resync pushed after the overflow", within=10)
    after = bus.publish("trigger", {"device_id": "test", "card": "after", "tokens": {}})

    async def flowing() -> bool:
        return any(data["id"] == after.id for _, data in pushed(backend))

    await eventually(flowing, "pushes flowing again after the resync", within=10)


async def test_a_path_the_manifest_does_not_declare_is_rejected(backend: BackendUnderTest) -> None:
    with pytest.raises(LookupError, match=r"Not Found: GET /history\.csv"):
        await backend.call("GET", "/history.csv")


async def test_a_half_pointed_env_never_mixes_a_test_kraken_with_octopus(tmp_path: Path) -> None:
    """A developer's env.json giving one Kraken address but not the others: the app says
    which are missing and asks no Kraken at all (Octopus's own included)."""
    homey = FakeHomey(
        env={"KRAKEN_DATA_DIR": str(tmp_path), "KRAKEN_GRAPHQL_URL": "http://127.0.0.1:9/v1/"}
    )
    await homey.start()
    try:
        devices = await homey.call("GET", "/devices")
        assert devices["status"] == 503
        detail = devices["body"]["detail"]
        assert "KRAKEN_REST_URL, KRAKEN_BACKEND_GRAPHQL_URL not set" in detail
        refused = await homey.call(
            "PUT",
            "/credentials",
            {"api_key": SIMULATOR_API_KEY, "account_number": "A-1F2E3D4C"},
        )
        assert refused["status"] == 422
        assert refused["body"]["detail"].startswith("Not saved: env.json: KRAKEN_REST_URL")
        assert "api_key" not in homey.settings
    finally:
        await homey.stop()
