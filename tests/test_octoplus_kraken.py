"""Octoplus on the wire: the client's saving sessions, join, points and wheel against the
simulator (which serves them as Kraken does: the backend host for sessions, the main host
for Octoplus), refusals in Kraken's words, parts of a read failing on their own, and the
scenario fields that set it all up."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.errors import KrakenActionRefused, KrakenError
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import ScenarioError, parse_scenario
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.kraken_harness import client_against

EVENING = SCENARIOS / "octoplus_saving_session_evening.json"


def evening_raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(EVENING.read_text(encoding="utf-8"))
    return raw


@asynccontextmanager
async def octoplus(**changes: Any) -> AsyncIterator[tuple[KrakenClient, Simulator]]:
    raw = evening_raw() | changes
    scenario = parse_scenario(json.dumps(raw))
    simulator = Simulator(scenario, SimulatedClock(scenario.start))
    async with client_against(simulator, api_key="sk_live_octoplus_test") as client:
        yield client, simulator


async def test_saving_sessions_as_kraken_lists_them_never_a_test_event() -> None:
    async with octoplus() as (client, simulator):
        early = await client.saving_sessions()
        assert isinstance(simulator.clock, SimulatedClock)
        simulator.clock.advance(timedelta(minutes=10))  # 16:50: two more announced
        later = await client.saving_sessions()

    assert [e.code for e in early.events] == ["EVENT_2026_03_10_R14", "EVENT_2026_03_10_1730"]
    assert [e.code for e in later.events][-2:] == [
        "POWER_UP_2026_03_10_1805",
        "EVENT_2026_03_10_1900",
    ]
    by_code = {e.code: e for e in later.events}
    assert all(not e.dev_event for e in later.events)  # includeDev: false
    assert [r.region_id for r in by_code["EVENT_2026_03_10_R14"].target_regions or []] == [14]
    assert by_code["EVENT_2026_03_10_1900"].target_regions == []
    assert by_code["POWER_UP_2026_03_10_1805"].target_regions is None
    assert by_code["POWER_UP_2026_03_10_1805"].event_type == "TURN_UP"
    assert later.account is not None
    assert later.account.region_id == 12
    assert later.account.has_joined_campaign is True


async def test_joining_answers_the_joined_codes_and_a_refusal_in_krakens_words() -> None:
    async with octoplus() as (client, simulator):
        assert isinstance(simulator.clock, SimulatedClock)
        simulator.clock.advance(timedelta(minutes=10))
        joined = await client.join_saving_session("EVENT_2026_03_10_1730")
        again = await client.join_saving_session("EVENT_2026_03_10_1730")
        with pytest.raises(KrakenActionRefused) as full:
            await client.join_saving_session("EVENT_2026_03_10_1900")
        with pytest.raises(KrakenActionRefused) as unknown:
            await client.join_saving_session("NO_SUCH_EVENT")
        sessions = await client.saving_sessions()
        used = {line.operation: line.used for line in client.budget.status()}

    assert joined == again == ["EVENT_2026_03_10_1730"]
    assert str(full.value) == (
        "Octopus refused to join the saving session: This saving session is full: no more "
        "households can join it (KT-GB-5117)."
    )
    assert full.value.reasons == ("KT-GB-5117",)
    assert "There is no event with the code NO_SUCH_EVENT" in str(unknown.value)
    assert sessions.account is not None
    assert [j.event_id for j in sessions.account.joined_events] == [3003]
    assert used["joinSavingSessionsEvent"] == 2  # the refusals gave their place back


async def test_a_join_outside_the_campaign_is_refused_with_the_reason() -> None:
    sessions = evening_raw()["saving_sessions"] | {"has_joined_campaign": False}
    async with octoplus(saving_sessions=sessions) as (client, _):
        with pytest.raises(KrakenActionRefused, match="has not signed up to saving sessions"):
            await client.join_saving_session("EVENT_2026_03_10_1730")


async def test_a_fault_on_the_join_is_a_refusal_in_its_words() -> None:
    fault = {
        "from": "2026-03-10T16:00:00Z",
        "to": "2026-03-10T18:00:00Z",
        "operation": "joinSavingSessionsEvent",
        "error_code": "KT-GB-5117",
        "message": "This account is not eligible for saving sessions.",
    }
    async with octoplus(faults=[fault]) as (client, _):
        with pytest.raises(KrakenActionRefused, match="not eligible for saving sessions"):
            await client.join_saving_session("EVENT_2026_03_10_1730")


async def test_octoplus_points_and_spins_in_one_request_then_the_spins() -> None:
    async with octoplus() as (client, simulator):
        before = await client.octoplus(with_gas=True)
        prize = await client.spin_wheel("ELECTRICITY")
        with pytest.raises(KrakenActionRefused) as none_left:
            await client.spin_wheel("ELECTRICITY")
        gas_prize = await client.spin_wheel("GAS")
        with pytest.raises(KrakenActionRefused, match="no gas spins left"):
            await client.spin_wheel("GAS")
        after = await client.octoplus(with_gas=False)
        counts = dict(simulator.request_counts)

    assert (before.enrolled, before.points, before.electricity_spins, before.gas_spins) == (
        True,
        1200,
        1,
        1,
    )
    assert prize == gas_prize == 250
    assert str(none_left.value) == (
        "Octopus refused to spin the wheel: There are no electricity spins left this month "
        "(KT-GB-9203)."
    )
    assert (after.points, after.electricity_spins, after.gas_spins) == (1700, 0, None)
    # one request each: enrolment, the points and the spins of each fuel asked together
    assert counts["octoplusAccountInfo"] == counts["loyaltyPointLedgers"] == 2
    assert counts["wheelOfFortuneSpinsAllowed"] == 3


async def test_a_failing_part_of_the_octoplus_read_fails_alone() -> None:
    fault = {
        "from": "2026-03-10T16:00:00Z",
        "to": "2026-03-10T18:00:00Z",
        "operation": "wheelOfFortuneSpinsAllowed",
        "error_code": "KT-CT-1113",
        "message": "Disabled GraphQL field requested.",
    }
    async with octoplus(faults=[fault]) as (client, _):
        status = await client.octoplus(with_gas=False)
    assert (status.enrolled, status.points, status.electricity_spins) == (True, 1200, None)

    fault = fault | {"operation": "octoplusAccountInfo"}
    async with octoplus(faults=[fault]) as (client, _):
        with pytest.raises(KrakenError, match="Disabled GraphQL field"):
            await client.octoplus(with_gas=False)


@pytest.mark.parametrize(
    ("given", "served"),
    [
        (12, [{"regionId": 12}]),
        ({"regionId": 12}, [{"regionId": 12}]),
        ([{"regionId": 12}, {"regionId": 14}], [{"regionId": 12}, {"regionId": 14}]),
        ([], []),
        (None, None),
    ],
)
def test_a_target_region_may_be_written_as_kraken_lists_it_or_as_one_id(
    given: object, served: object
) -> None:
    raw = evening_raw()
    raw["saving_sessions"]["events"][0]["targetRegion"] = given
    event = parse_scenario(json.dumps(raw)).saving_sessions.events[0]  # type: ignore[union-attr]
    shown = None if event.targetRegion is None else [r.model_dump() for r in event.targetRegion]
    assert shown == served


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda s: s["events"][1].update(id=3001), "each event needs its own id and code"),
        (lambda s: s["events"][2].update(endAt="2026-03-10T17:30:00Z"), "endAt must be after"),
        (
            lambda s: s["events"][3].update(announced_at="2026-03-10T18:10:00Z"),
            "announced_at must not be after startAt",
        ),
        (lambda s: s.update(octoplus_points=5), "octoplus_points is given twice"),
        (lambda s: s["events"][0].update(eventType="TURN_SIDEWAYS"), "eventType"),
    ],
)
def test_scenario_saving_sessions_are_checked(change: Any, problem: str) -> None:
    raw = evening_raw()
    change(raw["saving_sessions"])
    with pytest.raises(ScenarioError, match=problem):
        parse_scenario(json.dumps(raw))
