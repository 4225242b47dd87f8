"""Actions, settings and the request budget, through a real bridge on a real simulator."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.helpers.bridge_process import API_KEY, SCENARIOS, running_bridge, simulator_process

CAR = "smart_energy_device.dev-1"
IMPORT = "import_tariff.1900000000001"


def scenario_at(tmp_path: Path, start: str) -> str:
    """The IOG evening scenario, started later (the car is plugged in from 18:00)."""
    raw = json.loads((SCENARIOS / "iog_evening_smart_dispatch.json").read_text())
    raw["start"] = start
    timeline = raw["devices"][0]["timeline"]
    begun = [entry for entry in timeline if entry["at"] <= start]
    raw["devices"][0]["timeline"] = [
        {**begun[-1], "at": start},
        *(entry for entry in timeline if entry["at"] > start),
    ]
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(raw))
    return str(path)


def act(
    bridge_url: str, headers: dict[str, str], device: str, action: str, body: object = None
) -> httpx.Response:
    return httpx.post(
        f"{bridge_url}/api/v1/devices/{device}/actions/{action}",
        headers=headers,
        json=body if body is not None else {},
        timeout=20,
    )


def test_boost_refused_while_unplugged_reaches_the_user_in_words(tmp_path: Path) -> None:
    scenario = scenario_at(tmp_path, "2026-03-10T17:50:00Z")
    with running_bridge("--demo", "--scenario", scenario, data_dir=tmp_path) as bridge:
        refused = act(bridge.url, bridge.headers, CAR, "boost")
        assert refused.status_code == 409
        assert "Octopus refused the boost" in refused.json()["detail"]
        assert "plugged in" in refused.json()["detail"]


def test_boost_charge_target_and_smart_control_while_plugged_in(tmp_path: Path) -> None:
    scenario = scenario_at(tmp_path, "2026-03-10T18:05:00Z")
    with running_bridge("--demo", "--scenario", scenario, data_dir=tmp_path) as bridge:
        boosted = act(bridge.url, bridge.headers, CAR, "boost")
        assert boosted.status_code == 200, boosted.text
        assert boosted.json()["message"] == "Boost charging started."
        target = act(
            bridge.url,
            bridge.headers,
            CAR,
            "set_charge_target",
            {"target_percent": 80, "ready_by": "07:30"},
        )
        assert target.status_code == 200, target.text
        assert "80 % by 07:30" in target.json()["message"]
        too_late = act(
            bridge.url,
            bridge.headers,
            CAR,
            "set_charge_target",
            {"target_percent": 80, "ready_by": "12:00"},
        )
        assert too_late.status_code == 422
        assert "04:00 to 11:00" in too_late.json()["detail"]
        missing = act(bridge.url, bridge.headers, CAR, "set_charge_target", {})
        assert missing.status_code == 422
        assert "target_percent" in missing.json()["detail"]
        suspended = act(bridge.url, bridge.headers, CAR, "suspend_smart_control")
        assert suspended.json() == {"message": "Smart charging suspended."}


def test_refused_boosts_do_not_spend_the_budget_and_cancel_is_always_allowed(
    tmp_path: Path,
) -> None:
    # Issue #16: eleven boosts tried within the hour while the car was unplugged once
    # spent the bridge's own budget, and then even cancel_boost got a 502.
    scenario = scenario_at(tmp_path, "2026-03-10T17:50:00Z")
    with running_bridge("--demo", "--scenario", scenario, data_dir=tmp_path) as bridge:
        refused = [act(bridge.url, bridge.headers, CAR, "boost") for _ in range(11)]
        cancelled = act(bridge.url, bridge.headers, CAR, "cancel_boost")
        once_more = act(bridge.url, bridge.headers, CAR, "boost")

    assert [answer.status_code for answer in refused] == [409] * 11
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {"message": "Boost charging cancelled."}
    assert once_more.status_code == 409  # Kraken's no again, not the bridge's budget
    assert "plugged in" in once_more.json()["detail"]


def test_a_spent_boost_budget_is_429_with_retry_after_and_cancel_still_works(
    tmp_path: Path,
) -> None:
    scenario = scenario_at(tmp_path, "2026-03-10T18:05:00Z")
    with running_bridge("--demo", "--scenario", scenario, data_dir=tmp_path) as bridge:
        for _ in range(10):  # the bridge's own allowance: 10 boosts an hour
            assert act(bridge.url, bridge.headers, CAR, "boost").status_code == 200
            assert act(bridge.url, bridge.headers, CAR, "cancel_boost").status_code == 200
        spent = act(bridge.url, bridge.headers, CAR, "boost")
        cancelled = act(bridge.url, bridge.headers, CAR, "cancel_boost")

    assert spent.status_code == 429, spent.text
    assert "try again after" in spent.json()["detail"]
    assert 3000 <= int(spent.headers["Retry-After"]) <= 3600
    assert cancelled.status_code == 200, cancelled.text


def test_a_manual_refresh_is_refused_within_a_minute_with_when_it_can_run(
    tmp_path: Path,
) -> None:
    scenario = scenario_at(tmp_path, "2026-03-10T18:05:00Z")
    with running_bridge("--demo", "--scenario", scenario, data_dir=tmp_path) as bridge:
        first = act(bridge.url, bridge.headers, CAR, "refresh_dispatches")
        assert first.status_code == 202
        assert first.json()["runs_at"].startswith("2026-03-10T18:0")
        again = act(bridge.url, bridge.headers, CAR, "refresh_dispatches")
        assert again.status_code == 429
        assert "can run at" in again.json()["detail"]
        assert 1 <= int(again.headers["Retry-After"]) <= 60
        hint = act(bridge.url, bridge.headers, CAR, "plug_in_hint")
        assert hint.status_code == 202


def test_cheapest_window_and_wrong_actions(tmp_path: Path) -> None:
    with running_bridge(
        "--demo",
        "--scenario",
        str(SCENARIOS / "iog_evening_smart_dispatch.json"),
        data_dir=tmp_path,
    ) as bridge:
        found = act(
            bridge.url, bridge.headers, IMPORT, "find_cheapest_window", {"duration_minutes": 120}
        )
        assert found.status_code == 200, found.text
        assert found.json() == {
            "start": "2026-03-10T23:30:00Z",
            "end": "2026-03-11T01:30:00Z",
            "average_unit_rate": 7.0,
            "includes_now": False,
            "range_start": "2026-03-10T17:30:00Z",  # the current slot
            "range_end": "2026-03-12T00:00:00Z",  # the last price known
        }
        later = act(
            bridge.url,
            bridge.headers,
            IMPORT,
            "find_cheapest_window",
            {"duration_minutes": 120, "from": "2026-03-11T04:00:00Z"},
        )
        assert later.status_code == 200, later.text
        assert later.json()["start"] >= "2026-03-11T04:00:00Z"
        # Bounds far beyond the known prices search the two known days, and answer.
        far = act(
            bridge.url,
            bridge.headers,
            IMPORT,
            "find_cheapest_window",
            {"duration_minutes": 120, "from": "2000-01-01T00:00:00Z", "to": "2099-12-31T23:00Z"},
        )
        assert far.status_code == 200, far.text
        assert far.json()["average_unit_rate"] == 7.0
        wrong_kind = act(
            bridge.url, bridge.headers, CAR, "find_cheapest_window", {"duration_minutes": 60}
        )
        assert wrong_kind.status_code == 400
        assert "its actions: boost" in wrong_kind.json()["detail"]
        unknown = act(bridge.url, bridge.headers, IMPORT, "boost")
        assert unknown.status_code == 400
        bad = act(
            bridge.url, bridge.headers, IMPORT, "find_cheapest_window", {"duration_minutes": 5}
        )
        assert bad.status_code == 422
        assert "duration_minutes" in bad.json()["detail"]
        not_json = httpx.post(
            f"{bridge.url}/api/v1/devices/{IMPORT}/actions/find_cheapest_window",
            headers={**bridge.headers, "Content-Type": "application/json"},
            content=b"{nope",
        )
        assert not_json.status_code == 422
        assert isinstance(not_json.json()["detail"], str)


def test_budget_shows_limits_and_next_reads(tmp_path: Path) -> None:
    with running_bridge(
        "--demo",
        "--scenario",
        str(SCENARIOS / "iog_evening_smart_dispatch.json"),
        data_dir=tmp_path,
    ) as bridge:
        budget = httpx.get(f"{bridge.url}/api/v1/budget", headers=bridge.headers).json()
    operations = {entry["operation"]: entry for entry in budget["operations"]}
    assert operations["flexPlannedDispatches"]["limit"] == 5
    assert operations["flexPlannedDispatches"]["window_s"] == 60
    assert operations["smartMeterTelemetry"]["used"] >= 1
    assert (
        operations["smartMeterTelemetry"]["remaining"] < operations["smartMeterTelemetry"]["limit"]
    )
    assert set(budget["next_refresh"]) == {
        "account",
        "tariffs",
        "telemetry",
        "devices",
        "dispatches",
        "saving_sessions",
        "octoplus",
    }
    assert budget["next_refresh"]["telemetry"] is not None


def test_settings_from_homey_apply_and_survive_a_restart(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY)
    with simulator_process(tmp_path) as simulator:
        env = {
            "KRAKEN_BRIDGE_API_KEY_FILE": str(key_file),
            "KRAKEN_BRIDGE_ACCOUNT_NUMBER": "A-1234ABCD",
            "KRAKEN_BRIDGE_GRAPHQL_URL": f"{simulator}/v1/graphql/",
            "KRAKEN_BRIDGE_BACKEND_GRAPHQL_URL": f"{simulator}/backend/v1/graphql/",
            "KRAKEN_BRIDGE_REST_URL": f"{simulator}/v1/",
            "KRAKEN_BRIDGE_TOKEN": "a-test-token-of-enough-length",
        }
        headers = {"Authorization": f"Bearer {env['KRAKEN_BRIDGE_TOKEN']}"}
        with running_bridge(data_dir=tmp_path / "data", env=env, token_line="Token:") as bridge:
            url = f"{bridge.url}/api/v1/settings"
            assert httpx.get(url, headers=headers).json() == {
                "poll_interval_minutes": 1,
                "allowance_limit_minutes": 360,
                "allowance_day_start": "12:00",
                "gas_calorific_value": 40.0,
                "telemetry_stale_minutes": 15,
                "auto_join_saving_sessions": False,
            }
            changed = httpx.put(
                url,
                headers=headers,
                json={
                    "poll_interval_minutes": 5,
                    "allowance_limit_minutes": 0,
                    "telemetry_stale_minutes": 30,
                },
            )
            assert changed.status_code == 200
            assert changed.json()["poll_interval_minutes"] == 5
            bad = httpx.put(url, headers=headers, json={"poll_interval_minutes": 4})
            assert bad.status_code == 422
            assert "poll_interval_minutes" in bad.json()["detail"]
        with running_bridge(data_dir=tmp_path / "data", env=env, token_line="Token:") as again:
            kept = httpx.get(f"{again.url}/api/v1/settings", headers=headers).json()
    assert kept["poll_interval_minutes"] == 5
    assert kept["allowance_limit_minutes"] == 0
    assert kept["telemetry_stale_minutes"] == 30


def test_allowance_settings_from_the_environment_reach_the_engine(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY)
    token = "another-test-token-long-enough"
    with simulator_process(tmp_path) as simulator:
        env = {
            "KRAKEN_BRIDGE_API_KEY_FILE": str(key_file),
            "KRAKEN_BRIDGE_ACCOUNT_NUMBER": "A-1234ABCD",
            "KRAKEN_BRIDGE_GRAPHQL_URL": f"{simulator}/v1/graphql/",
            "KRAKEN_BRIDGE_BACKEND_GRAPHQL_URL": f"{simulator}/backend/v1/graphql/",
            "KRAKEN_BRIDGE_REST_URL": f"{simulator}/v1/",
            "KRAKEN_BRIDGE_TOKEN": token,
            "KRAKEN_BRIDGE_ALLOWANCE_LIMIT_MINUTES": "0",
            "KRAKEN_BRIDGE_ALLOWANCE_DAY_START": "11:30",
        }
        with running_bridge(data_dir=tmp_path / "data", env=env, token_line="Token:") as bridge:
            headers = {"Authorization": f"Bearer {token}"}
            shown = httpx.get(f"{bridge.url}/api/v1/settings", headers=headers).json()
            tariff = httpx.get(f"{bridge.url}/api/v1/devices/{IMPORT}", headers=headers).json()
    assert shown["allowance_limit_minutes"] == 0
    assert shown["allowance_day_start"] == "11:30"
    assert tariff["state"]["allowance_left_minutes"] is None  # no cap


def test_the_demo_takes_the_same_engine_settings_from_the_environment(tmp_path: Path) -> None:
    env = {"KRAKEN_BRIDGE_ALLOWANCE_LIMIT_MINUTES": "0", "KRAKEN_BRIDGE_POLL_INTERVAL_MINUTES": "2"}
    with running_bridge(
        "--demo",
        "--scenario",
        str(SCENARIOS / "iog_evening_smart_dispatch.json"),
        data_dir=tmp_path,
        env=env,
    ) as bridge:
        shown = httpx.get(f"{bridge.url}/api/v1/settings", headers=bridge.headers).json()
    assert shown["allowance_limit_minutes"] == 0
    assert shown["poll_interval_minutes"] == 2


def test_cheapest_window_on_economy7_is_the_smart_meters_gmt_night(tmp_path: Path) -> None:
    """In July a smart meter's Economy 7 night is 01:30-08:30 BST (00:30-07:30 GMT)."""
    with running_bridge(
        "--demo",
        "--scenario",
        str(SCENARIOS / "economy7_smart_meter_summer.json"),
        data_dir=tmp_path,
    ) as bridge:
        found = act(
            bridge.url,
            bridge.headers,
            "import_tariff.1900000000701",
            "find_cheapest_window",
            {"duration_minutes": 120},
        )
    assert found.status_code == 200, found.text
    assert {key: found.json()[key] for key in ("start", "end", "average_unit_rate")} == {
        "start": "2026-07-15T00:30:00Z",
        "end": "2026-07-15T02:30:00Z",
        "average_unit_rate": 13.1,
    }
