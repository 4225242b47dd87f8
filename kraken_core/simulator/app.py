"""A local Kraken: the scenario's account served over GraphQL and REST like Kraken does.

:class:`Simulator` holds the state (scenario, clock, issued tokens, request counts);
:func:`create_simulator_app` is the HTTP face of it. Everything time-dependent reads
``clock.now()``, never the wall clock, so a test or the ``snapshot`` command can move
through a scenario day in a second.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import functools
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from inspect import isawaitable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from kraken_core.engine.clock import Clock, SimulatedClock
from kraken_core.simulator.graphql_api import RequestContext, executable_schema
from kraken_core.simulator.kraken_errors import kraken_error
from kraken_core.simulator.rates import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    parse_rest_time,
    rest_row,
    served_rows,
)
from kraken_core.simulator.scenario import Device, Fault, Scenario, TimelineEntry, load_scenario

TOKEN_LIFETIME = timedelta(minutes=60)
REFRESH_TOKEN_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class IssuedToken:
    """A token the simulator handed out; ``expires_at`` is simulated time."""

    expires_at: datetime
    grant: str


class Simulator:
    """One scenario being served: its clock, its tokens and what was asked of it."""

    def __init__(self, scenario: Scenario, clock: Clock | None = None) -> None:
        self.scenario = scenario
        self.clock: Clock = clock if clock is not None else SimulatedClock(scenario.start)
        self.request_counts: collections.Counter[str] = collections.Counter()
        self.access_tokens: dict[str, IssuedToken] = {}
        self.refresh_tokens: dict[str, IssuedToken] = {}

    @classmethod
    def from_file(cls, path: Path | str, clock: Clock | None = None) -> Simulator:
        return cls(load_scenario(path), clock)

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    # --- auth ---------------------------------------------------------------------

    def obtain_token(
        self, now: datetime, *, api_key: str | None, refresh_token: str | None
    ) -> dict[str, Any]:
        """``obtainKrakenToken``: any non-empty API key, or a live refresh token we issued."""
        if bool(api_key) == bool(refresh_token):
            both = bool(api_key) and bool(refresh_token)
            raise kraken_error(
                "KT-CT-1135", "Use APIKey or refreshToken, not both." if both else None
            )
        if refresh_token:
            issued = self.refresh_tokens.get(refresh_token)
            if issued is None or now >= issued.expires_at:
                raise kraken_error("KT-CT-1134")
            grant, refresh, refresh_expiry = "REFRESH-TOKEN", refresh_token, issued.expires_at
        else:
            grant, refresh = "API-KEY", secrets.token_urlsafe(32)
            refresh_expiry = now + REFRESH_TOKEN_LIFETIME
            self.refresh_tokens[refresh] = IssuedToken(refresh_expiry, grant)
        token = secrets.token_urlsafe(48)
        expires_at = now + TOKEN_LIFETIME
        self.access_tokens[token] = IssuedToken(expires_at, grant)
        return {
            "token": token,
            "payload": {
                "sub": "kraken|account-user:1",
                "gty": grant,
                "tokenUse": "access",
                "iss": "kraken-simulator",
                "iat": int(now.timestamp()),
                "exp": int(expires_at.timestamp()),
                "origIat": int(now.timestamp()),
            },
            "refreshToken": refresh,
            "refreshExpiresIn": int(refresh_expiry.timestamp()),
        }

    def authenticate(self, authorization: str | None, now: datetime) -> None:
        """Raise Kraken's error unless ``authorization`` is a live token we issued."""
        if not authorization:
            raise kraken_error("KT-CT-1112")
        issued = self.access_tokens.get(authorization.strip())
        if issued is None:
            raise kraken_error("KT-CT-1111")
        if now >= issued.expires_at:
            raise kraken_error("KT-CT-1124")

    # --- scenario views ---------------------------------------------------------------

    def fault_for(self, operation: str, now: datetime) -> Fault | None:
        return next((fault for fault in self.scenario.faults if fault.covers(operation, now)), None)

    def device_state(self, device: Device, now: datetime) -> TimelineEntry | None:
        """The timeline entry in force at ``now`` (None before the device's first entry)."""
        in_force = [entry for entry in device.timeline if entry.at <= now]
        return in_force[-1] if in_force else None

    def telemetry_device_ids(self) -> set[str]:
        return {
            point.telemetry_device_id
            for point in self.scenario.account.electricity
            if point.telemetry_device_id
        }


# --- HTTP -------------------------------------------------------------------------------


def _root_field_names(document: DocumentNode, operation: OperationDefinitionNode) -> list[str]:
    """The root fields an operation asks for (through fragments too), one per selection."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    names: list[str] = []

    def walk(selection_set: SelectionSetNode, visited: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in visited:
                    walk(fragments[name].selection_set, visited | {name})

    walk(operation.selection_set, frozenset())
    return names


def _graphql_failure(errors: list[GraphQLError], status_code: int = 400) -> JSONResponse:
    """A request Kraken refuses as a whole (syntax, validation, variables): no ``data``."""
    return JSONResponse({"errors": [error.formatted for error in errors]}, status_code=status_code)


async def _stall(request: Request, seconds: float) -> Response:
    """A timeout fault: answer so late that a client with a sane timeout has given up.

    Waits real seconds (without blocking the loop) and stops early once the client has
    hung up, so a stalled request never holds the server's shutdown for long.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            break
        await asyncio.sleep(min(0.05, left))
    return PlainTextResponse("upstream request timeout", status_code=504)


def _fault_response(fault: Fault) -> Response | None:
    if fault.http_status is not None:
        text = fault.message or f"Simulated HTTP {fault.http_status} from Kraken."
        return PlainTextResponse(text, status_code=fault.http_status)
    return None


@functools.lru_cache(maxsize=256)
def _checked_document(query: str) -> tuple[DocumentNode, tuple[GraphQLError, ...]]:
    """Parse and validate a query once: clients send the same few documents all day."""
    document = parse(query)
    return document, tuple(validate(executable_schema(), document))


async def _handle_graphql(simulator: Simulator, request: Request) -> Response:
    now = simulator.now()
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _graphql_failure([GraphQLError("The request body is not valid JSON.")])
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _graphql_failure([GraphQLError("Must provide query string.")])
    variables = body.get("variables")
    operation_name = body.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        return _graphql_failure([GraphQLError("Variables must be a JSON object.")])
    if operation_name is not None and not isinstance(operation_name, str):
        return _graphql_failure([GraphQLError("operationName must be a string.")])

    schema = executable_schema()
    try:
        document, validation_errors = _checked_document(body["query"])
    except GraphQLError as error:
        return _graphql_failure([error])
    if validation_errors:
        return _graphql_failure(list(validation_errors))
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return _graphql_failure([GraphQLError("Unknown or ambiguous operation name.")])

    root_fields = _root_field_names(document, operation)
    simulator.request_counts.update(root_fields)
    for field_name in root_fields:
        fault = simulator.fault_for(field_name, now)
        if fault is None:
            continue
        if (response := _fault_response(fault)) is not None:
            return response
        if (seconds := fault.timeout_seconds) is not None:
            return await _stall(request, seconds)

    context = RequestContext(simulator, now, request.headers.get("authorization"))
    outcome = execute(
        schema,
        document,
        variable_values=variables,
        operation_name=operation_name,
        context_value=context,
    )
    result: ExecutionResult = await outcome if isawaitable(outcome) else outcome
    if result.data is None and result.errors and not any(e.path for e in result.errors):
        return _graphql_failure(list(result.errors))
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    payload["data"] = result.data
    return JSONResponse(payload)


def _basic_auth_user(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user or None


def _not_found() -> JSONResponse:
    return JSONResponse({"detail": "No ElectricityTariff matches the given query."}, 404)


async def _handle_rates(
    simulator: Simulator, request: Request, resource: str, product: str, tariff: str
) -> Response:
    now = simulator.now()
    simulator.request_counts[f"rest:{resource}"] += 1
    if _basic_auth_user(request) is None:
        return JSONResponse(
            {"detail": "Authentication credentials were not provided."},
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="api"'},
        )
    fault = simulator.fault_for(resource, now)
    if fault is not None:
        if (response := _fault_response(fault)) is not None:
            return response
        if (seconds := fault.timeout_seconds) is not None:
            return await _stall(request, seconds)

    table = (
        simulator.scenario.unit_rates
        if resource == "standard-unit-rates"
        else simulator.scenario.standing_charges
    )
    rows = table.get(tariff)
    if rows is None or product not in tariff:
        return _not_found()

    query = request.query_params
    bounds: dict[str, datetime | None] = {}
    for name in ("period_from", "period_to"):
        value = query.get(name)
        try:
            bounds[name] = parse_rest_time(value) if value else None
        except ValueError:
            return JSONResponse({name: ["Enter a valid date/time."]}, status_code=400)
    try:
        page_size = min(int(query.get("page_size", DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE)
        page = int(query.get("page", 1))
    except ValueError:
        return JSONResponse({"detail": "Invalid page."}, status_code=404)
    if page_size < 1:
        page_size = DEFAULT_PAGE_SIZE

    selected = served_rows(rows, now, bounds["period_from"], bounds["period_to"])
    pages = max(1, -(-len(selected) // page_size))
    if not 1 <= page <= pages:
        return JSONResponse({"detail": "Invalid page."}, status_code=404)
    first = (page - 1) * page_size
    return JSONResponse(
        {
            "count": len(selected),
            "next": str(request.url.include_query_params(page=page + 1)) if page < pages else None,
            "previous": (
                str(request.url.include_query_params(page=page - 1))
                if page > 2
                else str(request.url.remove_query_params("page"))
                if page == 2
                else None
            ),
            "results": [rest_row(row) for row in selected[first : first + page_size]],
        }
    )


def create_simulator_app(simulator: Simulator) -> FastAPI:
    """The HTTP face of ``simulator``: Kraken's GraphQL endpoint and its REST rates."""
    app = FastAPI(title="Kraken simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.simulator = simulator

    @app.post("/v1/graphql/")
    async def graphql_endpoint(request: Request) -> Response:
        return await _handle_graphql(simulator, request)

    @app.get("/v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/")
    async def standard_unit_rates(request: Request, product: str, tariff: str) -> Response:
        return await _handle_rates(simulator, request, "standard-unit-rates", product, tariff)

    @app.get("/v1/products/{product}/electricity-tariffs/{tariff}/standing-charges/")
    async def standing_charges(request: Request, product: str, tariff: str) -> Response:
        return await _handle_rates(simulator, request, "standing-charges", product, tariff)

    return app
