"""The Kraken Backend's app API: the bridge API v1 for the Kraken Bridge app.

Each endpoint (declared in app.json's ``api`` section) calls the same function as the
REST route of the same name (:mod:`kraken_core.api.answers`) and answers with the
envelope ``{"status", "body"}``: ``body`` is exactly the REST route's JSON, ``status``
the HTTP status it would have had, so a refusal keeps its meaning and its sentence.
Events are pushed with ``homey.api.realtime`` (see ``app.py``); ``getEvents`` is what a
client (re)connecting reads first.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from homey.homey import Homey

from kraken_core.api import answers
from kraken_core.api.answers import Answer, event_json
from kraken_core.api.backend import Backend
from kraken_core.hosted import CredentialCheck, Handler

Json = dict[str, Any]
# Homey calls every endpoint with the keyword arguments homey, query, params and body;
# each function names those it reads and lets the rest fall into **_.


class _BackendApp(Protocol):
    """What app.py's KrakenBackendApp offers the endpoints."""

    async def answer(self, handler: Handler) -> Json: ...

    def credentials(self) -> Json: ...

    async def set_credentials(self, api_key: str, account_number: str) -> CredentialCheck: ...


def _app(homey: Homey[Any]) -> _BackendApp:
    return cast(_BackendApp, homey.app)


def _query(query: object, name: str) -> str | None:
    value = query.get(name) if isinstance(query, dict) else None
    if isinstance(value, list):  # ?a=1&a=2: the last one, as the REST bridge takes it
        value = value[-1] if value else None
    return None if value is None else str(value)


def _param(params: object, name: str) -> str:
    value = params.get(name) if isinstance(params, dict) else None
    return "" if value is None else str(value)


async def getHealth(*, homey: Homey[Any], **_: object) -> Json:
    return await _app(homey).answer(answers.health)


async def getDiagnostics(*, homey: Homey[Any], **_: object) -> Json:
    return await _app(homey).answer(answers.diagnostics)


async def getDevices(*, homey: Homey[Any], **_: object) -> Json:
    return await _app(homey).answer(answers.devices)


async def getDevice(*, homey: Homey[Any], params: object = None, **_: object) -> Json:
    device_id = _param(params, "id")
    return await _app(homey).answer(lambda b: answers.device(b, device_id))


async def postAction(
    *, homey: Homey[Any], params: object = None, body: object = None, **_: object
) -> Json:
    device_id, action = _param(params, "id"), _param(params, "action")
    return await _app(homey).answer(lambda b: answers.act(b, device_id, action, body))


async def getSettings(*, homey: Homey[Any], **_: object) -> Json:
    return await _app(homey).answer(answers.settings)


async def putSettings(*, homey: Homey[Any], body: object = None, **_: object) -> Json:
    return await _app(homey).answer(lambda b: answers.put_settings(b, body))


async def getBudget(*, homey: Homey[Any], **_: object) -> Json:
    return await _app(homey).answer(answers.budget)


async def getTimeline(*, homey: Homey[Any], query: object = None, **_: object) -> Json:
    day = _query(query, "date")
    return await _app(homey).answer(lambda b: answers.timeline(b, day))


async def getStats(*, homey: Homey[Any], query: object = None, **_: object) -> Json:
    period, day = _query(query, "period"), _query(query, "date")
    return await _app(homey).answer(lambda b: answers.stats(b, period, day))


async def getStatsSeries(*, homey: Homey[Any], query: object = None, **_: object) -> Json:
    by, to = _query(query, "by"), _query(query, "to")
    return await _app(homey).answer(lambda b: answers.stats_series(b, by, to))


async def getEvents(*, homey: Homey[Any], query: object = None, **_: object) -> Json:
    """Without ``after``: every device's whole state. With it: the events since, or a
    ``resync`` and the whole state when they are no longer kept (the SSE rule)."""
    after = _query(query, "after")

    def listed(backend: Backend) -> Answer:
        events = answers.events_after(backend, after)
        return Answer(200, {"events": [event_json(event) for event in events]})

    return await _app(homey).answer(listed)


async def getCredentials(*, homey: Homey[Any], **_: object) -> Json:
    return Answer(200, _app(homey).credentials()).envelope()


async def putCredentials(*, homey: Homey[Any], body: object = None, **_: object) -> Json:
    """Check the key and account with Octopus; keep them only when they pass."""
    given = body if isinstance(body, dict) else {}
    api_key, account = given.get("api_key"), given.get("account_number")
    if not isinstance(api_key, str) or not isinstance(account, str):
        detail = "Send api_key and account_number, both as text."
        return Answer(422, {"detail": detail}).envelope()
    check = await _app(homey).set_credentials(api_key, account)
    if not check.ok:
        return Answer(422, {"detail": check.message}).envelope()
    return Answer(200, {"message": check.message}).envelope()
