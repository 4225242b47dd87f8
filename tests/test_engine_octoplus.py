"""Octoplus through the real engine against the simulator: when saving sessions are read
(rarely, more often near a session), the triggers each firing once after the state they
describe, joining automatically (and a refusal in Kraken's words), the actions with their
refusals, backoff and staleness, and the settings."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kraken_core.api.models import ActionError, UserSettings
from kraken_core.engine.settings import EngineSettings
from kraken_core.kraken.budget import DEFAULT_LIMITS
from kraken_core.service import Service
from kraken_core.simulator.scenario import Scenario, load_scenario, parse_scenario
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.service_harness import running

EVENING = SCENARIOS / "octoplus_saving_session_evening.json"
ACCOUNT = "energy_account.A-0C70F001"
OURS, FULL = "EVENT_2026_03_10_1730", "EVENT_2026_03_10_1900"


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-03-10T{text}:00+00:00").astimezone(UTC)


def evening(**changes: Any) -> Scenario:
    raw = json.loads(EVENING.read_text(encoding="utf-8"))
    raw.update(changes)
    return parse_scenario(json.dumps(raw))


def triggers(service: Service) -> list[dict[str, Any]]:
    return [e.data for e in service.backend.events.buffered() if e.type == "trigger"]


def account_state(service: Service) -> dict[str, Any]:
    device = next(d for d in service.backend.devices() if d.kind == "energy_account")
    return device.state


async def test_each_trigger_fires_once_after_the_state_it_describes(tmp_path: Path) -> None:
    async with running(evening(), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("18:30"))
        fired = [t for t in triggers(service) if t["device_id"] == ACCOUNT]
        events = service.backend.events.buffered()

    named = [
        f"{t['card']}:{t['tokens']['minutes']}"
        if t["card"] == "saving_session_starts_in"
        else f"{t['card']}:{t['tokens']['code']}"
        for t in fired
    ]
    power_up = "POWER_UP_2026_03_10_1805"
    assert named == [
        f"power_up_announced:{power_up}",
        f"saving_session_announced:{FULL}",
        "saving_session_starts_in:30",  # ours, 17:00
        "saving_session_starts_in:120",  # the full one, 17:00
        "saving_session_starts_in:15",
        "saving_session_starts_in:10",
        "saving_session_starts_in:5",
        f"saving_session_started:{OURS}",
        "saving_session_starts_in:60",  # the full one, 18:00
        f"saving_session_ended:{OURS}",
        f"power_up_started:{power_up}",
        f"power_up_ended:{power_up}",
        "saving_session_starts_in:30",  # the full one, 18:30
    ]
    ended = next(t for t in fired if t["card"] == "saving_session_ended")
    assert ended["tokens"] == {
        "code": OURS,
        "start": "2026-03-10T17:30:00Z",
        "end": "2026-03-10T18:00:00Z",
        "duration_minutes": 30,
        "reward_per_kwh": 1800,
        "joined": False,
        "points": None,  # not joined: Kraken gives none
        "points_reported": False,
    }
    active = next(
        e.id
        for e in events
        if e.type == "state" and e.data["state"].get("saving_session_active") is True
    )
    started = next(
        e.id for e in events if e.type == "trigger" and e.data["card"] == "saving_session_started"
    )
    assert active < started


async def test_saving_sessions_are_read_hourly_and_often_only_near_a_session(
    tmp_path: Path,
) -> None:
    """From 06:00: hourly until an hour before the 17:30 session, then every 15 minutes,
    just after its start and its end; the budget is never the limit."""
    scenario = evening(start="2026-03-10T06:00:00Z")
    async with running(scenario, tmp_path, keep_request_log=True) as (simulator, service, clock):
        await service.engine.run_until(clock, at("20:00"))
        budget = service.client.budget
        assert simulator.request_log is not None
        reads = [when for when, field in simulator.request_log if field == "savingSessions"]
        octoplus = [w for w, field in simulator.request_log if field == "octoplusAccountInfo"]
        refused = [line for line in budget.status() if line.remaining == 0]

    quiet = [w for w in reads if w < at("16:00")]
    near = [w for w in reads if at("16:30") <= w <= at("18:01")]
    assert len(quiet) == 10  # 06:00, then hourly
    assert all(b - a >= timedelta(minutes=59) for a, b in itertools.pairwise(quiet))
    assert len(near) >= 6
    assert all(b - a <= timedelta(minutes=15, seconds=30) for a, b in itertools.pairwise(near))
    assert any(at("17:30") <= w < at("17:31") for w in reads), "a read just after the start"
    assert any(at("18:00") <= w < at("18:01") for w in reads), "a read just after the end"
    hourly = Counter(w.replace(minute=0, second=0) for w in reads)
    assert max(hourly.values()) <= DEFAULT_LIMITS["savingSessions"].requests
    assert len(octoplus) <= 6  # every 3 hours
    assert refused == []


async def test_an_account_outside_octoplus_is_looked_at_four_times_a_day(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "iog_day_plugged_18_to_04.json")
    async with running(scenario, tmp_path, keep_request_log=True) as (simulator, service, clock):
        await service.engine.run_until(clock, scenario.start + timedelta(days=1))
        assert simulator.request_log is not None
        calls = Counter(field for _, field in simulator.request_log)
        state = account_state(service)

    assert calls["savingSessions"] == 4
    assert calls["octoplusAccountInfo"] == 4
    assert state["octoplus_enrolled"] is False
    assert state["saving_session_active"] is False
    assert state["next_saving_session_start"] is None


async def test_joining_automatically_joins_ours_and_tells_a_refusal_once(tmp_path: Path) -> None:
    settings = EngineSettings(auto_join_saving_sessions=True)
    async with running(evening(), tmp_path, settings, keep_request_log=True) as (
        simulator,
        service,
        clock,
    ):
        await service.engine.run_until(clock, at("16:45"))
        joined_first = account_state(service)["next_saving_session_joined"]
        await service.engine.run_until(clock, at("18:30"))
        fired = triggers(service)
        assert simulator.request_log is not None
        joins = [f for _, f in simulator.request_log if f == "joinSavingSessionsEvent"]
        joined_ids = set(simulator.joined_event_ids)
        state = account_state(service)

    assert joined_first is True
    assert joined_ids == {3003}
    assert len(joins) == 2  # ours; the full one once, not at every read
    refused = [t for t in fired if t["card"] == "saving_session_join_refused"]
    assert [t["tokens"]["code"] for t in refused] == [FULL]
    assert "This saving session is full" in refused[0]["tokens"]["reason"]
    announced = next(t for t in fired if t["card"] == "saving_session_announced")
    assert announced["tokens"]["joined"] is False
    ended = next(t for t in fired if t["card"] == "saving_session_ended")
    assert (ended["tokens"]["joined"], ended["tokens"]["points"]) == (True, 240)
    assert state["octoplus_points"] == 1440  # 1200 and the session's 240


async def test_join_and_spin_actions_with_octopus_refusals_in_words(tmp_path: Path) -> None:
    async with running(evening(), tmp_path) as (_, service, clock):
        backend = service.backend
        await service.engine.run_until(clock, at("16:42"))
        joined = await backend.perform(ACCOUNT, "join_saving_session", {})
        with pytest.raises(ActionError) as nothing:
            await backend.perform(ACCOUNT, "join_saving_session", None)
        with pytest.raises(ActionError) as unknown:
            await backend.perform(ACCOUNT, "join_saving_session", {"event_code": "NOPE"})
        prize = await backend.perform(ACCOUNT, "spin_wheel", {"fuel": "electricity"})
        with pytest.raises(ActionError) as no_spin:
            await backend.perform(ACCOUNT, "spin_wheel", {})
        with pytest.raises(ActionError) as bad_fuel:
            await backend.perform(ACCOUNT, "spin_wheel", {"fuel": "OIL"})
        with pytest.raises(ActionError) as wrong_kind:
            await backend.perform("import_tariff.1900000000031", "spin_wheel", {})
        await service.engine.run_until(clock, at("17:00"))
        with pytest.raises(ActionError) as full:
            await backend.perform(ACCOUNT, "join_saving_session", {})
        again = await backend.perform(ACCOUNT, "join_saving_session", {"event_code": OURS})
        state = account_state(service)
        budget = {line.operation: line for line in service.client.budget.status()}

    assert joined.status == 200
    assert joined.body["code"] == OURS
    assert joined.body["message"] == "Joined the saving session Tue 10 Mar 17:30-18:00 (UK time)."
    assert (nothing.value.status, nothing.value.message) == (
        409,
        "Every saving session announced for this household is joined already.",
    )
    assert unknown.value.status == 404
    assert prize.body == {
        "message": "The wheel gave 250 OctoPoints.",
        "prize": 250,
        "fuel": "ELECTRICITY",
    }
    assert no_spin.value.status == 409
    assert no_spin.value.message == (
        "Octopus refused to spin the wheel: There are no electricity spins left this month "
        "(KT-GB-9203)."
    )
    assert bad_fuel.value.status == 422
    assert "fuel" in bad_fuel.value.message
    assert wrong_kind.value.status == 400
    assert full.value.status == 409
    assert full.value.message.startswith(
        "Octopus refused to join the saving session: This saving session is full"
    )
    assert again.body["message"] == "Already joined the Tue 10 Mar 17:30-18:00 (UK time) session."
    assert state["next_saving_session_joined"] is True
    assert state["octoplus_points"] == 1450
    # refusals gave their place in the bridge's allowance back
    assert budget["joinSavingSessionsEvent"].used == 1
    assert budget["spinWheelOfFortune"].used == 1


async def test_a_late_join_shows_krakens_reason(tmp_path: Path) -> None:
    async with running(evening(), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("17:31"))
        with pytest.raises(ActionError) as late:
            await service.backend.perform(ACCOUNT, "join_saving_session", {"event_code": OURS})
        with pytest.raises(ActionError) as nothing_left:
            await service.backend.perform(ACCOUNT, "join_saving_session", {})

    assert late.value.status == 409
    assert late.value.message == (
        "Octopus refused to join the saving session: The event EVENT_2026_03_10_1730 has "
        "already started, so it can no longer be joined (KT-GB-5117)."
    )
    # the full one (19:00) is next: Octopus refuses it in its own words
    assert "This saving session is full" in nothing_left.value.message


async def test_a_failing_backend_backs_off_and_goes_stale_but_the_account_stays(
    tmp_path: Path,
) -> None:
    fault = {
        "from": "2026-03-10T16:00:00Z",
        "to": "2026-03-10T22:00:00Z",
        "operation": "savingSessions",
        "http_status": 502,
    }
    async with running(evening(faults=[fault]), tmp_path, keep_request_log=True) as (
        simulator,
        service,
        clock,
    ):
        await service.engine.run_until(clock, at("20:00"))
        health = service.backend.health()
        device = service.backend.device(ACCOUNT)
        assert simulator.request_log is not None
        tries = [w for w, f in simulator.request_log if f == "savingSessions"]

    assert device is not None
    assert device.available
    assert "saving_sessions" in health.stale
    assert "No saving sessions from Octopus since" in health.stale["saving_sessions"]
    # each read tries 3 times (a 502 is transient); reads 5, 10, 15 … minutes apart (at
    # most an hour), and never more tries in an hour than the bridge's own budget allows
    reads = sorted({w.replace(second=0, microsecond=0) for w in tries})
    assert len(reads) <= 9
    gaps = [b - a for a, b in itertools.pairwise(reads)]
    assert gaps[:3] == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=15)]
    limit = DEFAULT_LIMITS["savingSessions"]
    assert all(
        sum(1 for w in tries if start <= w < start + limit.window) <= limit.requests
        for start in tries
    )
    assert device.state["saving_session_active"] is False


async def test_the_auto_join_setting_round_trips_and_joins_at_once(tmp_path: Path) -> None:
    async with running(evening(), tmp_path) as (simulator, service, clock):
        await service.engine.run_until(clock, at("16:45"))
        assert service.backend.settings().auto_join_saving_sessions is False
        view = service.backend.update_settings(UserSettings(auto_join_saving_sessions=True))
        assert view.auto_join_saving_sessions is True
        assert service.engine.next_due() <= clock.now()
        await service.engine.run_due()
        assert simulator.joined_event_ids == {3003}
        saved = json.loads((tmp_path / "homey-settings.json").read_text(encoding="utf-8"))
    assert saved["auto_join_saving_sessions"] is True
