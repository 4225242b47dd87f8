"""A token Kraken no longer takes is replaced at once, once (issue #16, item 5).

Kraken forgets tokens (KT-CT-1111 "Invalid token", e.g. after a restart) as well as
expiring them (KT-CT-1124). The client signs in again and replays the refused request in
the same call; a second refusal is the user's to act on, and a key refused while signing
in ends there. Against the simulator served over HTTP, on its simulated clock.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.budget import DEFAULT_LIMITS
from kraken_core.kraken.client import KrakenClient, LiveAnswer
from kraken_core.kraken.errors import KrakenAuthError
from kraken_core.simulator.app import Simulator
from tests.helpers.kraken_harness import API_KEY, client_for, scenario

EV = "dev-1"
#: The scenario's start (2026-03-10T17:50Z) and a minute on, as fault windows.
START, A_MINUTE_ON = "2026-03-10T17:50:00Z", "2026-03-10T17:51:00Z"


def clock_of(simulator: Simulator) -> SimulatedClock:
    clock = simulator.clock
    assert isinstance(clock, SimulatedClock)
    return clock


def forget_tokens(simulator: Simulator) -> None:
    """What a Kraken restart does: every token it issued is unknown (KT-CT-1111)."""
    simulator.access_tokens.clear()


async def poll(client: KrakenClient) -> LiveAnswer:
    """The engine's light poll: device states and the car's planned dispatches."""
    return await client.live(meter_device_id=None, devices=True, dispatch_device_ids=[EV])


def fault(operation: str, code: str, start: str = START, end: str = A_MINUTE_ON) -> dict[str, Any]:
    return {"from": start, "to": end, "operation": operation, "error_code": code}


async def test_a_forgotten_token_on_a_poll_is_replaced_and_the_poll_succeeds() -> None:
    simulator = scenario()
    async with client_for(simulator) as client:
        await poll(client)
        forget_tokens(simulator)
        answer = await poll(client)

    assert isinstance(answer.devices, list)
    assert [device.id for device in answer.devices] == [EV]
    assert isinstance(answer.dispatches[EV], list)
    assert simulator.request_counts["obtainKrakenToken"] == 2  # the first, and one new
    assert client.tokens.renewals == 2


@pytest.mark.parametrize("operation", ["devices", "completedDispatches"])
async def test_a_forgotten_token_on_a_query_is_replaced_and_the_query_replayed(
    operation: str,
) -> None:
    simulator = scenario()
    async with client_for(simulator) as client:
        await client.devices()
        forget_tokens(simulator)
        if operation == "devices":
            assert await client.devices()
        else:
            await client.completed_dispatches()

    assert simulator.request_counts["obtainKrakenToken"] == 2


async def test_a_token_refused_twice_is_an_auth_error_that_says_what_to_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    simulator = scenario([fault("devices", "KT-CT-1111")])
    async with client_for(simulator) as client:
        with pytest.raises(KrakenAuthError) as refused:
            await client.devices()
        tokens = list(simulator.access_tokens) + list(simulator.refresh_tokens)

    message = str(refused.value)
    assert "KT-CT-1111" in message
    assert "Check the Octopus API key" in message
    assert "just signed in" in message
    assert simulator.request_counts["devices"] == 2  # the request and one replay
    assert simulator.request_counts["obtainKrakenToken"] == 2  # no loop
    for secret in [API_KEY, *tokens]:
        assert secret not in message
        assert secret not in repr(refused.value)
        assert secret not in caplog.text


async def test_a_poll_refused_twice_reports_every_part_and_mints_once_more() -> None:
    simulator = scenario([fault("devices", "KT-CT-1111")])
    async with client_for(simulator) as client:
        answer = await poll(client)

    assert isinstance(answer.devices, KrakenAuthError)
    assert isinstance(answer.dispatches[EV], KrakenAuthError)
    assert "Check the Octopus API key" in str(answer.devices)
    assert API_KEY not in str(answer.devices)
    assert simulator.request_counts["obtainKrakenToken"] == 2


async def test_http_401_on_a_query_is_a_refused_token_too() -> None:
    simulator = scenario(
        [{"from": START, "to": A_MINUTE_ON, "operation": "devices", "http_status": 401}]
    )
    async with client_for(simulator) as client:
        with pytest.raises(KrakenAuthError, match="HTTP 401"):
            await client.devices()

    assert simulator.request_counts["devices"] == 2
    assert simulator.request_counts["obtainKrakenToken"] == 2


async def test_a_key_refused_while_signing_in_again_ends_there() -> None:
    # Kraken forgets the token and the key has been revoked: KT-CT-1139 at minting is
    # the key's failure, reported as it is, without a replay or a second sign-in.
    simulator = scenario(
        [fault("obtainKrakenToken", "KT-CT-1139", A_MINUTE_ON, "2026-03-10T19:00:00Z")]
    )
    async with client_for(simulator) as client:
        await client.devices()
        clock_of(simulator).advance(timedelta(minutes=1))
        forget_tokens(simulator)
        with pytest.raises(KrakenAuthError) as refused:
            await client.devices()

    assert refused.value.code == "KT-CT-1139"
    assert "Check the Octopus API key" in str(refused.value)
    assert API_KEY not in str(refused.value)
    assert simulator.request_counts["obtainKrakenToken"] == 2
    assert simulator.request_counts["devices"] == 2  # the first call, the refused one


async def test_a_lasting_refusal_signs_in_again_only_as_often_as_its_budget_allows() -> None:
    simulator = scenario([fault("devices", "KT-CT-1111", end="2026-03-10T18:50:00Z")])
    clock = clock_of(simulator)
    refusals: list[KrakenAuthError] = []
    async with client_for(simulator) as client:
        for _ in range(40):  # a failing poll every 90 s for an hour
            with pytest.raises(KrakenAuthError) as refused:
                await client.devices()
            refusals.append(refused.value)
            clock.advance(timedelta(seconds=90))

    sign_ins = DEFAULT_LIMITS["obtainKrakenToken"].requests
    assert simulator.request_counts["obtainKrakenToken"] == sign_ins
    assert all("Check the Octopus API key" in str(exc) for exc in refusals)
    assert all(exc.code == "KT-CT-1111" for exc in refusals)


async def test_fifty_polls_refused_at_once_sign_in_again_once() -> None:
    simulator = scenario()
    async with client_for(simulator) as client:
        await client.devices()
        forget_tokens(simulator)
        await asyncio.gather(*(client.devices() for _ in range(50)))

    assert simulator.request_counts["obtainKrakenToken"] == 2
    assert simulator.request_counts["devices"] == 1 + 50 + 50


async def test_no_minute_of_failed_polls_after_kraken_forgets_the_token() -> None:
    """The probe's measure: polls once a minute, the token forgotten at the first
    minute. Before, every poll failed until the renewal came due (54 of 60 here)."""
    simulator = scenario()
    clock = clock_of(simulator)
    failed_minutes = 0
    async with client_for(simulator) as client:
        for minute in range(60):
            if minute == 1:
                forget_tokens(simulator)
            answer = await poll(client)
            failed_minutes += isinstance(answer.devices, KrakenAuthError)
            clock.advance(timedelta(minutes=1))

    assert failed_minutes == 0
    assert simulator.request_counts["obtainKrakenToken"] == 3  # first, re-mint, renewal
