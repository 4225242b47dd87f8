"""What a user (a Homey flow) can ask a device to do, carried out through the engine.

Every refusal is an :class:`ActionError` whose message is the sentence to show the user:
Octopus's boost refusal reason, a refresh asked for too soon, a device of the wrong kind.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from kraken_core.domain.cheapest import cheapest_window
from kraken_core.domain.timeline import slot_start
from kraken_core.engine.events import to_json_value
from kraken_core.engine.poller import UNIT_RATES, Engine, TariffRates, rate_window
from kraken_core.engine.refresh import RefreshRefused
from kraken_core.kraken.errors import KrakenActionRefused, KrakenError
from kraken_core.kraken.models import DAYS_OF_WEEK, PreferenceSchedule

SMART_ACTIONS = (
    "boost",
    "cancel_boost",
    "refresh_dispatches",
    "plug_in_hint",
    "unplug_hint",
    "set_charge_target",
    "suspend_smart_control",
    "resume_smart_control",
)
TARIFF_ACTIONS = ("find_cheapest_window",)


class ActionError(Exception):
    """An action refused: ``status`` is the HTTP status, the message the user's sentence."""

    def __init__(self, status: int, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_at = retry_at


@dataclass(frozen=True)
class ActionResult:
    status: int
    body: dict[str, Any]


def actions_for(kind: str) -> tuple[str, ...]:
    if kind == "smart_energy_device":
        return SMART_ACTIONS
    if kind in ("import_tariff", "export_tariff"):
        return TARIFF_ACTIONS
    return ()


async def perform(
    engine: Engine, device_id: str, action: str, body: dict[str, Any]
) -> ActionResult:
    """Carry out ``action`` on ``device_id``; ``body`` is already validated for the action."""
    record = engine.hub.devices.get(device_id)
    if record is None:
        raise ActionError(404, f"No device {device_id!r} on this bridge.")
    if action not in actions_for(record.kind):
        allowed = ", ".join(actions_for(record.kind)) or "none"
        raise ActionError(
            400, f"A {record.kind.replace('_', ' ')} cannot {action}; its actions: {allowed}."
        )
    if record.kind == "smart_energy_device":
        return await _smart_action(engine, device_id.split(".", 1)[1], action, body)
    return _cheapest(engine, device_id, body)


async def _smart_action(
    engine: Engine, kraken_id: str, action: str, body: dict[str, Any]
) -> ActionResult:
    if action in ("refresh_dispatches", "plug_in_hint", "unplug_hint"):
        reason = {"refresh_dispatches": "manual", "plug_in_hint": "plug_in"}.get(action, "unplug")
        try:
            runs_at = engine.request_dispatch_refresh(kraken_id, reason)
        except RefreshRefused as exc:
            raise ActionError(429, str(exc), exc.retry_at) from None
        message = {
            "manual": "Refreshing the planned dispatches now.",
            "plug_in": "Looking for the car's new state and charging schedule.",
            "unplug": "The car's state and schedule will be checked in about a minute.",
        }[reason]
        return ActionResult(202, {"message": message, "runs_at": to_json_value(runs_at)})
    client = engine.client
    try:
        if action == "boost":
            await client.boost(kraken_id)
            message = "Boost charging started."
        elif action == "cancel_boost":
            await client.cancel_boost(kraken_id)
            message = "Boost charging cancelled."
        elif action in ("suspend_smart_control", "resume_smart_control"):
            enabled = action == "resume_smart_control"
            await client.set_smart_control(kraken_id, enabled=enabled)
            message = "Smart charging resumed." if enabled else "Smart charging suspended."
        else:
            ready_by = time.fromisoformat(str(body["ready_by"]))
            target = float(body["target_percent"])
            await client.set_device_preferences(
                kraken_id,
                [
                    PreferenceSchedule(
                        day_of_week=day, ready_by=ready_by, max_value=target, min_value=None
                    )
                    for day in DAYS_OF_WEEK
                ],
            )
            message = f"Charge target set: {target:g} % by {ready_by:%H:%M} every day."
    except KrakenActionRefused as exc:
        raise ActionError(409, str(exc)) from None
    except ValueError as exc:
        raise ActionError(422, str(exc)) from None
    except KrakenError as exc:
        raise ActionError(502, f"Octopus could not be asked: {exc}") from None
    # The schedule may change after any of these: look again soon (within the limits).
    with contextlib.suppress(RefreshRefused):  # if refused, regular polling picks it up
        engine.request_dispatch_refresh(kraken_id, "event")
    return ActionResult(200, {"message": message})


def _cheapest(engine: Engine, device_id: str, body: dict[str, Any]) -> ActionResult:
    point = next((p for p in engine.meter_points if p.device_id == device_id), None)
    if point is None:
        raise ActionError(404, f"No tariff {device_id!r} on this bridge.")
    now = engine.clock.now()
    slots = engine.rates.get((point.tariff_code, UNIT_RATES), TariffRates()).slots_for(
        rate_window(now)
    )
    earliest = body.get("from") or slot_start(now)
    latest = body.get("to") or (max(slots) + timedelta(minutes=30) if slots else now)
    duration = timedelta(minutes=int(body["duration_minutes"]))
    found = cheapest_window(slots, duration, earliest, latest)
    if found is None:
        raise ActionError(
            404,
            f"No {int(body['duration_minutes'])}-minute window between {to_json_value(earliest)}"
            f" and {to_json_value(latest)} has known prices yet; tomorrow's prices usually "
            "appear after 16:00.",
        )
    return ActionResult(
        200,
        {
            "start": to_json_value(found.start),
            "end": to_json_value(found.end),
            "average_unit_rate": round(found.average_rate, 4),
        },
    )
