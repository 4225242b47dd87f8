"""The bridge's HTTP API (v1): REST for devices, Server-Sent Events for changes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from kraken_core import __version__
from kraken_core.api import answers
from kraken_core.api.answers import FIRST_DAY, LAST_DAY, Refusal, bad_request, parse_day
from kraken_core.api.backend import Backend
from kraken_core.api.events import BridgeEvent
from kraken_core.api.models import DeviceSummary, DeviceView, Health, Stats, readable
from kraken_core.bridge.access import HeadAsGet, TokenOrSession, refuse
from kraken_core.bridge.control import control_routes
from kraken_core.bridge.deps import BackendDep
from kraken_core.bridge.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from kraken_core.bridge.session import Sessions
from kraken_core.bridge.web import include_web_routes
from kraken_core.domain.timeline import local_day_bounds

MetricsSource = Callable[[], str]
MAX_HISTORY_SPAN = timedelta(days=366)
# Every body the API takes (an action, the settings, the login form) is a few hundred
# bytes; the limit is counted while reading, whatever Content-Length says.
MAX_BODY_BYTES = 64 * 1024


def _sse(event: BridgeEvent) -> ServerSentEvent:
    return ServerSentEvent(id=str(event.id), event=event.type, data=event.data)


def create_app(backend: Backend, token: str, metrics: MetricsSource | None = None) -> FastAPI:
    """The API over ``backend``; every route but ``/api/v1/health`` needs ``token``."""
    if len(token) < 16:
        raise ValueError("the bridge token must be at least 16 characters")
    app = FastAPI(
        title="Kraken bridge",
        version=__version__,
        docs_url=None,  # no pages that load scripts from a CDN; /openapi.json needs the token
        redoc_url=None,
        redirect_slashes=False,  # a redirect would be built from the Host header
    )
    app.state.backend, app.state.token = backend, token
    app.state.sessions = sessions = Sessions()
    app.state.metrics = metrics or (lambda: "")
    # Each add_middleware wraps what is there, so a request meets them bottom up: the
    # token check (no body read yet), HEAD as GET, then the body limit as it is read.
    # (FastAPI's own max_body_size would run before the token check: a 413, not a 401.)
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY_BYTES)
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        AuthenticationMiddleware, backend=TokenOrSession(token, sessions), on_error=refuse
    )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "The bridge hit an internal error; see its log for details."},
            status_code=500,
        )

    @app.exception_handler(Refusal)
    async def refused(_: Request, exc: Refusal) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": readable(exc)}, status_code=422)

    app.include_router(open_routes)
    app.include_router(routes)
    app.include_router(control_routes)
    include_web_routes(app)  # the page at / and what it draws
    return app


open_routes = APIRouter()
routes = APIRouter()


@open_routes.get("/api/v1/health")
async def get_health(backend: BackendDep) -> Health:
    return answers.health(backend)


@routes.get("/api/v1/diagnostics")
async def get_diagnostics(backend: BackendDep) -> dict[str, object]:
    """Safe to paste into a support thread: no API key, no token."""
    return answers.diagnostics(backend)


@routes.get("/api/v1/devices")
async def list_devices(backend: BackendDep) -> list[DeviceSummary]:
    return answers.devices(backend)


@routes.get("/api/v1/devices/{device_id}")
async def get_device(device_id: str, backend: BackendDep) -> DeviceView:
    return answers.device(backend, device_id)


@routes.get("/api/v1/events", response_class=EventSourceResponse)
async def events(
    backend: BackendDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Every change as it happens; a client resuming with ``Last-Event-ID`` gets what it
    missed, or a ``resync`` and every device's whole state."""
    subscription, unsubscribe = backend.events.subscribe()
    try:
        for first in answers.events_after(backend, last_event_id):
            yield _sse(first)
        while (event := await subscription.next()) is not None:
            yield _sse(event)
    finally:
        unsubscribe()


@routes.get("/api/v1/stats")
async def get_stats(
    backend: BackendDep,
    period: str = "day",
    date_: Annotated[str | None, Query(alias="date")] = None,
) -> Stats:
    """Tariff efficiency of a day, a calendar month or the 12 months up to a day."""
    return await answers.stats(backend, period, date_)


@routes.get("/api/v1/history.csv")
async def get_history_csv(
    backend: BackendDep,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> Response:
    """Slot rows from ``from`` up to ``to``: London days (YYYY-MM-DD, both included)
    or times with a zone (ISO 8601, ``to`` excluded)."""
    if from_ is None or to is None:
        raise bad_request("give from and to, e.g. ?from=2026-03-01&to=2026-03-31")
    start = _parse_bound(from_, "from", end=False)
    end = _parse_bound(to, "to", end=True)
    if end <= start:
        raise bad_request(f"to={to} must be after from={from_}")
    if end - start > MAX_HISTORY_SPAN:
        raise bad_request("ask for at most 366 days at a time")
    return PlainTextResponse(await backend.history_csv(start, end), media_type="text/csv")


@routes.get("/metrics")
async def get_metrics(request: Request) -> Response:
    """Prometheus text format; needs the token like every other route."""
    metrics: MetricsSource = request.app.state.metrics
    return PlainTextResponse(metrics(), media_type=METRICS_CONTENT_TYPE)


def _parse_bound(text: str, name: str, *, end: bool) -> datetime:
    if len(text) == 10:
        bounds = local_day_bounds(parse_day(text, name))
        return bounds[1] if end else bounds[0]
    try:
        # A "+" that was not percent-encoded arrives as a space.
        when = datetime.fromisoformat(text.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise bad_request(
            f"{name}={text!r} is neither a day (YYYY-MM-DD) nor a time with a zone "
            "(e.g. 2026-03-10T18:00:00Z)"
        )
    # Years 1 and 9999 overflow when moved to UTC; no history is that old or that new.
    if not FIRST_DAY <= when.date() <= LAST_DAY:
        raise bad_request(f"{name}={text!r} is not between 2000 and 2099")
    return when
