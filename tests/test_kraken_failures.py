"""Every failure Kraken produces, through the simulator's ``faults``, as the client reports it.

For each class of failure: the exception type, the message a user would see, how many
requests reached the simulator (retries only for transient failures), and that no
secret shows up in logs, messages or reprs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.client import KrakenClient, RetryPolicy
from kraken_core.kraken.errors import (
    KrakenAuthError,
    KrakenError,
    KrakenNoData,
    KrakenSchemaError,
    KrakenThrottled,
    KrakenUpstreamError,
)
from kraken_core.kraken.models import PlannedDispatch, parse_answer
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import bundled_scenario_path, parse_scenario
from tests.helpers.kraken_harness import client_against

API_KEY = "sk_live_failure_test_key_0123456789"
SCENARIO = "iog_export_ev_demo"
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
EV = "4f7c1a2e-3b9d-4e61-9a0c-7d2f5b8e1c34"
HOME_MINI = "0A-1B-2C-3D-4E-5F-60-71"
IOG = ("INTELLI-VAR-24-10-29", "E-1R-INTELLI-VAR-24-10-29-C")
#: Quick retries for tests; the waits run on the simulated clock anyway.
RETRY = RetryPolicy(attempts=3, wait_initial_s=1.0, wait_max_s=4.0, wait_jitter_s=0.5)


def fault(operation: str, minutes: int = 60, **failure: Any) -> dict[str, Any]:
    return {
        "from": "2026-03-10T12:00:00Z",
        "to": (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "operation": operation,
        **failure,
    }


class Faulty:
    def __init__(self, client: KrakenClient, simulator: Simulator, clock: SimulatedClock) -> None:
        self.client = client
        self.simulator = simulator
        self.clock = clock

    def sent(self, operation: str) -> int:
        return self.simulator.request_counts[operation]


@asynccontextmanager
async def faulty(
    *faults: dict[str, Any],
    api_key: str = API_KEY,
    scenario_api_key: str | None = None,
    **client_options: Any,
) -> AsyncIterator[Faulty]:
    raw = json.loads(bundled_scenario_path(SCENARIO).read_text(encoding="utf-8"))
    raw["faults"] = list(faults)
    if scenario_api_key is not None:
        raw["api_key"] = scenario_api_key
    scenario = parse_scenario(json.dumps(raw))
    clock = SimulatedClock(scenario.start)
    simulator = Simulator(scenario, clock)
    client_options.setdefault("retry", RETRY)
    async with client_against(simulator, api_key=api_key, **client_options) as client:
        yield Faulty(client, simulator, clock)


# --- authentication -----------------------------------------------------------------------


async def test_a_wrong_api_key_tells_the_user_to_check_it_and_is_not_retried() -> None:
    async with faulty(api_key="sk_live_typo", scenario_api_key=API_KEY) as f:
        with pytest.raises(KrakenAuthError) as refused:
            await f.client.devices()
        sent = f.sent("obtainKrakenToken")

    message = str(refused.value)
    assert "KT-CT-1139" in message
    assert "Check the Octopus API key" in message
    assert "sk_live_typo" not in message
    assert sent == 1
    assert f.sent("devices") == 0


@pytest.mark.parametrize("code", ["KT-CT-1111", "KT-CT-1143"])
async def test_kraken_auth_codes_on_a_query_are_auth_errors(code: str) -> None:
    # A refused token is first taken as stale: one new sign-in, one replay, then the error.
    async with faulty(fault("account", error_code=code)) as f:
        with pytest.raises(KrakenAuthError, match="Check the Octopus API key"):
            await f.client.account()
        assert f.sent("account") == 2
        assert f.sent("obtainKrakenToken") == 2


async def test_http_401_on_rates_is_an_auth_error() -> None:
    async with faulty(fault("standard-unit-rates", http_status=401)) as f:
        with pytest.raises(KrakenAuthError, match=r"HTTP 401.*Check the Octopus API key"):
            await f.client.unit_rates(*IOG, START, START + timedelta(days=1))
        assert f.sent("rest:standard-unit-rates") == 1


async def test_fifty_concurrent_calls_after_expiry_renew_once_with_the_refresh_token() -> None:
    async with faulty() as f:
        await asyncio.gather(*(f.client.devices() for _ in range(50)))
        f.clock.advance(timedelta(minutes=56))  # inside the renew-before-expiry margin
        await asyncio.gather(*(f.client.devices() for _ in range(50)))
        grants = sorted(issued.grant for issued in f.simulator.access_tokens.values())

    assert f.client.tokens.renewals == 2
    assert f.sent("obtainKrakenToken") == 2
    assert f.sent("devices") == 100
    assert grants == ["API-KEY", "REFRESH-TOKEN"]


# --- throttling ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "code"),
    [
        ("devices", "KT-CT-1199"),
        ("smartMeterTelemetry", "KT-GB-4042"),
        ("account", "KT-CT-1188"),
        ("completedDispatches", "KT-CT-1189"),
    ],
)
async def test_throttle_codes_say_when_to_come_back_and_are_not_retried(
    operation: str, code: str
) -> None:
    calls = {
        "devices": lambda c: c.devices(),
        "smartMeterTelemetry": lambda c: c.telemetry(HOME_MINI),
        "account": lambda c: c.account(),
        "completedDispatches": lambda c: c.completed_dispatches(),
    }
    async with faulty(fault(operation, error_code=code)) as f:
        with pytest.raises(KrakenThrottled) as throttled:
            await calls[operation](f.client)
        sent = f.sent(operation)

    assert throttled.value.code == code
    assert throttled.value.retry_at == START + timedelta(minutes=15)
    assert "slow down" in str(throttled.value)
    assert "2026-03-10T12:15:00Z" in str(throttled.value)
    assert sent == 1


async def test_http_429_uses_the_retry_after_header() -> None:
    async with faulty(fault("flexPlannedDispatches", http_status=429, retry_after=120)) as f:
        with pytest.raises(KrakenThrottled, match="HTTP 429") as throttled:
            await f.client.planned_dispatches(EV)
        sent = f.sent("flexPlannedDispatches")

    assert throttled.value.retry_at == START + timedelta(seconds=120)
    assert sent == 1


async def test_the_bridges_own_budget_refuses_before_kraken_would() -> None:
    async with faulty() as f:
        for _ in range(5):
            await f.client.planned_dispatches(EV)
        with pytest.raises(KrakenThrottled, match="budget for flexPlannedDispatches") as spent:
            await f.client.planned_dispatches(EV)
        sent = f.sent("flexPlannedDispatches")

    assert spent.value.retry_at == START + timedelta(minutes=1)
    assert sent == 5


# --- no data ------------------------------------------------------------------------------


async def test_unable_to_fetch_planned_dispatches_is_no_data_not_a_failure() -> None:
    async with faulty(fault("flexPlannedDispatches", error_code="KT-CT-4340")) as f:
        with pytest.raises(KrakenNoData, match="keeping what is known"):
            await f.client.planned_dispatches(EV)
        assert f.sent("flexPlannedDispatches") == 1


# --- upstream failures: the only ones retried --------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried_with_backoff_then_reported(status: int) -> None:
    async with faulty(fault("devices", http_status=status)) as f:
        with pytest.raises(KrakenUpstreamError, match=f"HTTP {status}"):
            await f.client.devices()
        sent, retries, now = f.sent("devices"), f.client.retries["devices"], f.clock.now()

    assert sent == 3
    assert retries == 2
    # Backoff waited on the simulated clock: 1 s + 2 s, plus at most 0.5 s jitter each.
    assert START + timedelta(seconds=3) <= now <= START + timedelta(seconds=4)


async def test_a_short_server_error_is_ridden_out_by_a_retry() -> None:
    brief = fault("devices", http_status=503)
    brief["to"] = "2026-03-10T12:00:01Z"
    async with faulty(brief) as f:
        devices = await f.client.devices()
        assert [d.id for d in devices] == [EV]
        assert f.sent("devices") == 2


async def test_rest_server_errors_are_retried_too() -> None:
    async with faulty(fault("standing-charges", http_status=502)) as f:
        with pytest.raises(KrakenUpstreamError, match="HTTP 502"):
            await f.client.standing_charges(*IOG, START, START + timedelta(days=1))
        assert f.sent("rest:standing-charges") == 3


async def test_a_request_kraken_holds_past_the_timeout_is_retried_then_reported() -> None:
    async with faulty(
        fault("smartMeterTelemetry", timeout=5),
        timeout_s=0.5,
        retry=RetryPolicy(attempts=2, wait_initial_s=1.0, wait_jitter_s=0.0),
    ) as f:
        with pytest.raises(KrakenUpstreamError) as late:
            await f.client.telemetry(HOME_MINI)
        sent = f.sent("smartMeterTelemetry")

    assert "did not answer smartMeterTelemetry within 0.5 s" in str(late.value)
    assert late.value.code == "timeout"
    assert sent == 2


@pytest.mark.parametrize("operation", ["account", "standard-unit-rates"])
async def test_a_cut_off_body_is_an_upstream_error_and_retried(operation: str) -> None:
    async with faulty(fault(operation, malformed=True)) as f:
        call = (
            f.client.account()
            if operation == "account"
            else f.client.unit_rates(*IOG, START, START + timedelta(days=1))
        )
        with pytest.raises(KrakenUpstreamError, match=r"not (GraphQL )?JSON"):
            await call
        key = operation if operation == "account" else f"rest:{operation}"
        assert f.sent(key) == 3


# --- schema drift -------------------------------------------------------------------------


async def test_a_field_kraken_dropped_is_named_and_not_retried() -> None:
    async with faulty(fault("flexPlannedDispatches", removed_field="energyAddedKwh")) as f:
        with pytest.raises(KrakenSchemaError) as drift:
            await f.client.planned_dispatches(EV)
        sent = f.sent("flexPlannedDispatches")

    assert "SmartFlexDispatch.energyAddedKwh" in str(drift.value)
    assert "needs an update" in str(drift.value)
    assert sent == 1


def test_an_answer_missing_a_field_names_the_field() -> None:
    answer = {"start": "2026-03-10T18:00:00+00:00", "end": "2026-03-10T19:00:00+00:00"}
    with pytest.raises(KrakenSchemaError) as drift:
        parse_answer(PlannedDispatch, answer, operation="flexPlannedDispatches")
    assert "field flexPlannedDispatches.type is missing" in str(drift.value)


# --- anything else Kraken refuses ---------------------------------------------------------


async def test_an_unknown_device_is_a_plain_kraken_error_with_kraken_words() -> None:
    async with faulty() as f:
        with pytest.raises(KrakenError, match="KT-CT-4301") as refused:
            await f.client.planned_dispatches("no-such-device")
        assert type(refused.value) is KrakenError
        assert f.sent("flexPlannedDispatches") == 1


# --- secrets ------------------------------------------------------------------------------


async def test_no_secret_reaches_logs_messages_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    failures: list[KrakenError] = []
    async with faulty(
        fault("devices", http_status=503),
        fault("account", error_code="KT-CT-1139"),
        fault("standard-unit-rates", malformed=True),
    ) as f:
        await f.client.telemetry(HOME_MINI)
        for call in (
            f.client.devices(),
            f.client.account(),
            f.client.unit_rates(*IOG, START, START + timedelta(days=1)),
        ):
            try:
                await call
            except KrakenError as exc:
                failures.append(exc)
        f.clock.advance(timedelta(minutes=58))
        await f.client.planned_dispatches(EV)  # renews with the refresh token
        held = f.client.tokens._held
        assert held is not None
        secrets = [API_KEY, held.token, held.refresh_token or "no-refresh-token"]
        secrets += list(f.simulator.access_tokens) + list(f.simulator.refresh_tokens)
        shown = [caplog.text, repr(f.client), repr(f.client.tokens), repr(held)]
        shown += [f"{exc!s} {exc!r}" for exc in failures]

    assert len(failures) == 3
    assert "retry 1 of 2" in caplog.text
    for secret in secrets:
        for text in shown:
            assert secret not in text
