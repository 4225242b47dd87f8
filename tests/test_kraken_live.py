"""The light transaction: telemetry, device states and dispatches in one request."""

from __future__ import annotations

from datetime import timedelta

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.errors import KrakenThrottled
from tests.helpers.kraken_harness import client_for, scenario

METER = "00-00-00-00-00-00-00-01"


async def test_one_request_carries_every_part_and_kraken_counts_each_root_field() -> None:
    simulator = scenario()
    async with client_for(simulator) as client:
        clock = simulator.clock
        assert isinstance(clock, SimulatedClock)
        clock.advance(timedelta(minutes=15))  # the car is plugged in from 18:00
        answer = await client.live(
            meter_device_id=METER, devices=True, dispatch_device_ids=["dev-1"]
        )
        assert isinstance(answer.telemetry, list)
        assert float(str(answer.telemetry[-1].demand_w)) == 450.0
        assert isinstance(answer.devices, list)
        assert answer.devices[0].status.current_state == "SMART_CONTROL_CAPABLE"
        planned = answer.dispatches["dev-1"]
        assert isinstance(planned, list)
        assert [(d.start.hour, d.end.hour) for d in planned] == [(19, 20), (0, 3)]
        assert simulator.request_counts["smartMeterTelemetry"] == 1
        assert simulator.request_counts["devices"] == 1
        assert simulator.request_counts["flexPlannedDispatches"] == 1
        # Parts that are not due are not asked for, and Kraken does not count them.
        await client.live(meter_device_id=METER, devices=False)
        assert simulator.request_counts["devices"] == 1
        assert simulator.request_counts["smartMeterTelemetry"] == 2


async def test_a_throttled_part_fails_alone() -> None:
    simulator = scenario(
        [
            {
                "from": "2026-03-10T17:50:00Z",
                "to": "2026-03-10T18:30:00Z",
                "operation": "smartMeterTelemetry",
                "error_code": "KT-GB-4042",
            }
        ]
    )
    async with client_for(simulator) as client:
        answer = await client.live(meter_device_id=METER, devices=True)
        assert isinstance(answer.telemetry, KrakenThrottled)
        assert "slow down" in str(answer.telemetry)
        assert isinstance(answer.devices, list)
        assert len(answer.devices) == 1


async def test_a_spent_budget_leaves_the_part_out_without_asking_kraken() -> None:
    simulator = scenario()
    async with client_for(simulator) as client:
        for _ in range(5):
            await client.planned_dispatches("dev-1")
        answer = await client.live(
            meter_device_id=None, devices=True, dispatch_device_ids=["dev-1"]
        )
        refused = answer.dispatches["dev-1"]
        assert isinstance(refused, KrakenThrottled)
        assert refused.retry_at is not None
        assert simulator.request_counts["flexPlannedDispatches"] == 5
        assert isinstance(answer.devices, list)
