"""What every front door answers, written once.

The REST bridge (:mod:`kraken_core.bridge`) and the Homey app API (``homey_backend/api.py``)
both call these functions, so a request gets the same JSON body, the same status and the
same refusal sentence through either door. A refusal is a :class:`Refusal`: the REST
bridge turns it into an HTTP error with ``{"detail": sentence}``, the Homey app API into
the envelope ``{"status", "body": {"detail": sentence}}`` (:meth:`Answer.envelope`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from kraken_core.api.backend import Backend
from kraken_core.api.events import BridgeEvent, to_json_value
from kraken_core.api.models import (
    ActionError,
    Budget,
    DeviceSummary,
    DeviceView,
    Health,
    SettingsView,
    Stats,
    StatsSeries,
    Timeline,
    UserSettings,
    readable,
)
from kraken_core.domain.efficiency import PERIODS

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
# An event id is a run's start in microseconds plus a count: 16 or 17 digits for ages.
EVENT_ID = re.compile(r"[0-9]{1,20}")


class Refusal(Exception):
    """A request refused: ``status`` is the HTTP status, ``detail`` the sentence to show."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Answer:
    """A whole answer, for a front door without HTTP of its own."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, value: object, status: int = 200) -> Answer:
        return cls(status, as_json(value))

    @classmethod
    def refused(cls, refusal: Refusal) -> Answer:
        return cls(refusal.status, {"detail": refusal.detail}, refusal.headers)

    def envelope(self) -> dict[str, Any]:
        """``{"status", "body"}`` (and ``"headers"`` when there are any)."""
        out: dict[str, Any] = {"status": self.status, "body": self.body}
        if self.headers:
            out["headers"] = dict(self.headers)
        return out


def as_json(value: object) -> Any:
    """A read model (or a list of them) as the JSON the REST bridge sends."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list):
        return [as_json(item) for item in value]
    return to_json_value(value)


def bad_request(message: str) -> Refusal:
    return Refusal(400, message)


def parse_day(text: str, name: str, *, month: bool = False) -> date:
    """YYYY-MM-DD (or, where ``month``, YYYY-MM: its first day), 2000 to 2099."""
    try:
        day = date.fromisoformat(f"{text}-01" if month and len(text) == 7 else text)
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        example = "2026-03-10" + (" (or 2026-03 for a month)" if month else "")
        raise bad_request(
            f"{name}={text!r} is not a day between 2000 and 2099: use YYYY-MM-DD, e.g. {example}"
        )
    return day


# --- reading ------------------------------------------------------------------------------


def devices(backend: Backend) -> list[DeviceSummary]:
    return [DeviceSummary(id=view.id, kind=view.kind, name=view.name) for view in backend.devices()]


def device(backend: Backend, device_id: str) -> DeviceView:
    view = backend.device(device_id)
    if view is None:
        raise Refusal(
            404, f"No device {device_id!r} on this bridge; GET /api/v1/devices lists them."
        )
    return view


def health(backend: Backend) -> Health:
    return backend.health()


def diagnostics(backend: Backend) -> dict[str, object]:
    """Safe to paste into a support thread: no API key, no token."""
    return backend.diagnostics()


def budget(backend: Backend) -> Budget:
    return backend.budget()


def timeline(backend: Backend, date_text: str | None) -> Timeline:
    """A London day's slots (import price, quadrant, export price) and dispatch."""
    day = backend.today() if date_text is None else parse_day(date_text, "date")
    return backend.timeline(day)


async def stats(backend: Backend, period: str | None, date_text: str | None) -> Stats:
    """Tariff efficiency of a day, a calendar month or the 12 months up to a day."""
    period = "day" if period is None else period
    known = next((p for p in PERIODS if p == period), None)
    if known is None:
        raise bad_request(f"period={period!r} is not known: use day, month or 12m")
    day = backend.today() if date_text is None else parse_day(date_text, "date", month=True)
    return await backend.stats(known, day)


async def stats_series(backend: Backend, by: str | None, to: str | None) -> StatsSeries:
    """Efficiency of each of the 30 days, or of each of the 12 months, up to ``to``."""
    by = "day" if by is None else by
    if by not in ("day", "month"):
        raise bad_request(f"by={by!r} is not known: use day or month")
    last = backend.today() if to is None else parse_day(to, "to")
    return await backend.stats_series("day" if by == "day" else "month", last)


# --- changing things ------------------------------------------------------------------------


def settings(backend: Backend) -> SettingsView:
    return backend.settings()


def put_settings(backend: Backend, given: object) -> SettingsView:
    """Apply what the Homey app's settings pass down; a wrong field is a 422 naming it."""
    if not isinstance(given, UserSettings):
        try:
            given = UserSettings.model_validate(given)
        except ValidationError as exc:
            raise Refusal(422, readable(exc)) from None
    return backend.update_settings(given)


async def act(backend: Backend, device_id: str, action: str, body: object) -> Answer:
    """Boost, refresh dispatches, hints, charge target, cheapest window (see docs)."""
    if body is not None and not isinstance(body, dict):
        raise Refusal(422, "body: Input should be a valid dictionary")
    try:
        result = await backend.perform(device_id, action, body)
    except ActionError as exc:
        headers = {}
        if exc.retry_at is not None:
            wait = (exc.retry_at - backend.now()).total_seconds()
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        raise Refusal(exc.status, exc.message, headers) from None
    return Answer(result.status, result.body)


# --- events ----------------------------------------------------------------------------------


def parse_event_id(value: str | None) -> int | None:
    """Plain ASCII digits of a sane length, else None (the client is told to resync)."""
    if value is None or not EVENT_ID.fullmatch(value.strip()):
        return None
    return int(value.strip())


def events_after(backend: Backend, last_seen: str | None) -> list[BridgeEvent]:
    """What a client (re)connecting gets first: with ``last_seen`` still buffered, the
    events it missed; otherwise (``resync`` first when it gave an id we cannot resume
    from) every device's whole state and availability."""
    bus = backend.events
    resume = parse_event_id(last_seen)
    missed = bus.since(resume) if resume is not None else None
    if missed is not None:
        return missed
    out: list[BridgeEvent] = []
    if last_seen is not None:
        reason = "events since the last one seen are no longer kept"
        out.append(BridgeEvent(bus.last_id, "resync", {"reason": reason}))
    return out + full_state(backend)


def full_state(backend: Backend) -> list[BridgeEvent]:
    """Every device's whole state and availability, numbered with the last event's id."""
    last = backend.events.last_id
    out: list[BridgeEvent] = []
    for record in backend.devices():
        state = {
            "device_id": record.id,
            "state": record.state,
            "updated_at": to_json_value(record.updated_at),
        }
        availability = {
            "device_id": record.id,
            "available": record.available,
            "reason": record.unavailable_reason,
        }
        out += [BridgeEvent(last, "state", state), BridgeEvent(last, "availability", availability)]
    return out


def event_json(event: BridgeEvent) -> dict[str, Any]:
    """An event as the Homey app API pushes it and ``GET /events`` lists it."""
    return {"id": event.id, "type": event.type, "data": event.data}
