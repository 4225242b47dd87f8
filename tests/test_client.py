"""The Kraken client against the real simulator on loopback."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.errors import KrakenAuthError, KrakenThrottled, KrakenUpstreamError
from tests.helpers.kraken_harness import API_KEY, client_for, scenario


async def test_account_devices_dispatches_telemetry_and_rates() -> None:
    simulator = scenario()
    async with client_for(simulator) as client:
        account = await client.account()
        points = {a.meter_point.mpan: a for a in account.electricity_agreements}
        assert points["1900000000001"].meter_point.direction == "IMPORT"
        assert points["1900000000002"].tariff is not None
        meter = points["1900000000001"].meter_point.meters[0]
        assert meter.smart_import_meter is not None
        assert meter.smart_import_meter.device_id == "00-00-00-00-00-00-00-01"
        devices = await client.devices()
        assert [(d.id, d.make, d.status.current_state) for d in devices] == [
            ("dev-1", "Tesla", "SMART_CONTROL_NOT_AVAILABLE")
        ]
        assert isinstance(simulator.clock, SimulatedClock)
        simulator.clock.advance(timedelta(minutes=15))
        planned = await client.planned_dispatches("dev-1")
        assert next((d.start.hour, d.end.hour, d.type) for d in planned) == (19, 20, "SMART")
        readings = await client.telemetry("00-00-00-00-00-00-00-01")
        assert readings
        assert float(str(readings[-1].demand_w)) == 450.0
        start = simulator.clock.now() - timedelta(days=1)
        rows = await client.unit_rates(
            "INTELLI-VAR-24-10-29", "E-1R-INTELLI-VAR-24-10-29-C", start, start + timedelta(days=2)
        )
        assert {row.value_inc_vat for row in rows} == {7.0, 24.5}


async def test_fifty_concurrent_calls_mint_one_token() -> None:
    simulator = scenario()
    async with client_for(simulator) as client:
        await asyncio.gather(*(client.devices() for _ in range(50)))
        assert client.tokens.renewals == 1
        assert client.request_counts["obtainKrakenToken"] == 1


async def test_expired_token_is_reminted_and_the_call_replayed() -> None:
    simulator = scenario()
    async with client_for(simulator) as client:
        await client.devices()
        clock = simulator.clock
        assert isinstance(clock, SimulatedClock)
        # Kraken expires tokens after an hour; make ours look fresh to force a KT-CT-1124.
        clock.advance(timedelta(minutes=61))
        held = client.tokens._held
        assert held is not None
        held.expires_at = clock.now() + timedelta(hours=1)
        devices = await client.devices()
        assert devices
        assert client.tokens.renewals == 2


async def test_throttling_and_auth_faults_become_readable_errors() -> None:
    simulator = scenario(
        [
            {
                "from": "2026-03-10T17:50:00Z",
                "to": "2026-03-10T18:00:00Z",
                "operation": "devices",
                "error_code": "KT-CT-1199",
            },
            {
                "from": "2026-03-10T17:50:00Z",
                "to": "2026-03-10T18:00:00Z",
                "operation": "account",
                "error_code": "KT-CT-1139",
            },
        ]
    )
    async with client_for(simulator) as client:
        with pytest.raises(KrakenThrottled) as throttled:
            await client.devices()
        assert throttled.value.retry_at is not None
        assert "slow down" in str(throttled.value)
        with pytest.raises(KrakenAuthError, match="Check the Octopus API key"):
            await client.account()


async def test_server_errors_are_retried_then_reported(caplog: pytest.LogCaptureFixture) -> None:
    simulator = scenario(
        [
            {
                "from": "2026-03-10T17:50:00Z",
                "to": "2026-03-10T18:00:00Z",
                "operation": "devices",
                "http_status": 502,
            }
        ]
    )
    caplog.set_level(logging.DEBUG)
    async with client_for(simulator, retry_attempts=3) as client:
        with pytest.raises(KrakenUpstreamError, match="HTTP 502"):
            await client.devices()
        assert client.request_counts["devices"] == 3
        token = client.tokens._held.token if client.tokens._held else "no-token"
    assert API_KEY not in caplog.text
    assert token not in caplog.text
    assert API_KEY not in repr(client)
    assert API_KEY not in repr(client.tokens)
