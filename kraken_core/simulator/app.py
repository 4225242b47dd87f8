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
from datetime import UTC, datetime, time, timedelta
from inspect import isawaitable
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from graphql import (
    BooleanValueNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    execute,
    get_operation_ast,
    parse,
    validate,
    visit,
)

from kraken_core.clock import Clock, SimulatedClock
from kraken_core.simulator.graphql_api import (
    RequestContext,
    executable_backend_schema,
    executable_schema,
)
from kraken_core.simulator.kraken_errors import kraken_error
from kraken_core.simulator.products import Fuel, ProductCatalogue, rewrite_hrefs
from kraken_core.simulator.rates import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    parse_rest_time,
    rest_row,
    served_rows,
)
from kraken_core.simulator.scenario import (
    JOIN_REFUSED_CODE,
    DayOfWeek,
    Device,
    Dispatch,
    Fault,
    Preferences,
    SavingSessionEvent,
    Scenario,
    TimelineEntry,
)

#: Where the simulator serves Octopus's backend host (saving sessions, Octoplus).
BACKEND_PREFIX = "/backend"
TOKEN_LIFETIME = timedelta(minutes=60)
REFRESH_TOKEN_LIFETIME = timedelta(days=7)
#: A boost the simulator grants charges for this long (Kraken: until the target is met).
BOOST_LENGTH = timedelta(hours=1)
#: The error code the simulator refuses a wheel spin with (Octopus publishes none).
SPIN_REFUSED_CODE = "KT-GB-9203"
READY_BY_EARLIEST, READY_BY_LATEST = time(4, 0), time(11, 0)
_NOT_YET_LIVE = {
    "AUTHENTICATION_PENDING",
    "AUTHENTICATION_FAILED",
    "AUTHENTICATION_COMPLETE",
    "TEST_CHARGE_IN_PROGRESS",
    "TEST_CHARGE_FAILED",
    "TEST_CHARGE_NOT_AVAILABLE",
    "SETUP_COMPLETE",
}


@dataclass(frozen=True)
class IssuedToken:
    """A token the simulator handed out; ``expires_at`` is simulated time."""

    expires_at: datetime
    grant: str


class Simulator:
    """One scenario being served: its clock, its tokens and what was asked of it."""

    def __init__(
        self, scenario: Scenario, clock: Clock | None = None, *, keep_request_log: bool = False
    ) -> None:
        self.scenario = scenario
        self.clock: Clock = clock if clock is not None else SimulatedClock(scenario.start)
        self.request_counts: collections.Counter[str] = collections.Counter()
        # (time, root field) of every counted call, for tests and benchmarks that check
        # when requests were made; off by default so long runs stay small.
        self.request_log: list[tuple[datetime, str]] | None = [] if keep_request_log else None
        self.access_tokens: dict[str, IssuedToken] = {}
        self.refresh_tokens: dict[str, IssuedToken] = {}
        # What clients changed (boost, smart control, preferences): state set at a time
        # holds until the device's next timeline entry.
        self.device_changes: dict[str, TimelineEntry] = {}
        # updateDeviceSmartControl: (when, suspended) of each device's last change. A
        # suspension is the household's choice: it outlives the car's comings and goings
        # (later timeline entries) until resumed, or until a later entry gives
        # isSuspended itself.
        self.suspensions: dict[str, tuple[datetime, bool]] = {}
        self.preferences: dict[str, Preferences] = {}
        self.products = ProductCatalogue(scenario)
        # Octoplus: events joined by clients, and the wheel's spins taken and prizes won.
        self.joined_event_ids: set[int] = set()
        self.spins_taken: collections.Counter[str] = collections.Counter()
        self.prizes_won: list[int] = []

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
        expected_key = self.scenario.api_key
        if api_key and expected_key is not None and api_key != expected_key:
            raise kraken_error("KT-CT-1139")
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
        if not authorization or not authorization.strip():
            raise kraken_error("KT-CT-1112")
        issued = self.access_tokens.get(_token_of(authorization))
        if issued is None:
            raise kraken_error("KT-CT-1111")
        if now >= issued.expires_at:
            raise kraken_error("KT-CT-1124")

    # --- scenario views ---------------------------------------------------------------

    def fault_for(self, operation: str, now: datetime) -> Fault | None:
        return next((fault for fault in self.scenario.faults if fault.covers(operation, now)), None)

    def device_state(self, device: Device, now: datetime) -> TimelineEntry | None:
        """The state in force at ``now``: the latest timeline entry or client change, with
        smart control suspended or resumed as last asked."""
        state = self._state_in_force(device, now)
        return None if state is None else self._with_suspension(device, state, now)

    def _state_in_force(self, device: Device, now: datetime) -> TimelineEntry | None:
        in_force = [entry for entry in device.timeline if entry.at <= now]
        change = self.device_changes.get(device.id)
        if change is not None and change.at <= now:
            in_force.append(change)
            in_force.sort(key=lambda entry: entry.at)
        return in_force[-1] if in_force else None

    def _with_suspension(
        self, device: Device, state: TimelineEntry, now: datetime
    ) -> TimelineEntry:
        """A suspended device answers ``isSuspended: true`` in SMART_CONTROL_OFF (Kraken's
        state for smart control switched off); resuming gives back the car's own state."""
        choice = self.suspensions.get(device.id)
        if choice is None or choice[0] > now:
            return state
        asked_at, suspended = choice
        if any(
            asked_at < entry.at <= now and "isSuspended" in entry.model_fields_set
            for entry in device.timeline
        ):
            return state  # the scenario says so itself, later
        if suspended:
            return state.model_copy(
                update={"isSuspended": True, "currentState": "SMART_CONTROL_OFF"}
            )
        if state.isSuspended:
            own = state.currentState
            resumed = "SMART_CONTROL_CAPABLE" if own == "SMART_CONTROL_OFF" else own
            return state.model_copy(update={"isSuspended": False, "currentState": resumed})
        return state

    def preferences_of(self, device: Device) -> Preferences | None:
        return self.preferences.get(device.id, device.preferences)

    def _change(
        self, device: Device, state: TimelineEntry, now: datetime, **update: Any
    ) -> TimelineEntry:
        changed = state.model_copy(update={"at": now, **update})
        self.device_changes[device.id] = changed
        return changed

    def boost(
        self, device: Device, state: TimelineEntry, action: str, now: datetime
    ) -> TimelineEntry:
        """``updateBoostCharge``: start or stop a boost, or refuse like Kraken does."""
        if action == "CANCEL":
            if state.currentState != "BOOSTING":
                return state
            smart_only = [d for d in state.flexPlannedDispatches if d.type != "BOOST"]
            return self._change(
                device,
                state,
                now,
                currentState="SMART_CONTROL_CAPABLE",
                flexPlannedDispatches=smart_only,
            )
        reasons = boost_refusal_reasons(state)
        if reasons:
            raise kraken_error("KT-CT-4357", boostChargeRefusalReasons=reasons)
        boost = Dispatch(start=now, end=now + BOOST_LENGTH, type="BOOST", energyAddedKwh=None)
        return self._change(
            device,
            state,
            now,
            currentState="BOOSTING",
            flexPlannedDispatches=[boost, *state.flexPlannedDispatches],
        )

    def set_smart_control(
        self, device: Device, state: TimelineEntry, *, suspended: bool, now: datetime
    ) -> TimelineEntry:
        """``updateDeviceSmartControl``: suspend or resume Octopus's control. A device that
        is retired or not live yet is refused with the schema's KT-CT-4358 (suspend) or
        KT-CT-4359 (resume)."""
        if state.currentState == "RETIRED" or state.currentState in _NOT_YET_LIVE:
            raise kraken_error("KT-CT-4358" if suspended else "KT-CT-4359")
        self.suspensions[device.id] = (now, suspended)
        own = self._state_in_force(device, now)
        return self._with_suspension(device, own or state, now)

    def set_preferences(self, device: Device, given: dict[str, Any]) -> None:
        """``setDevicePreferences``: all seven days, ready-by 04:00-11:00 in 30-minute steps."""
        # Kraken's answer to preferences it cannot take is KT-CT-4321, "Serializer
        # validation error." (the schema's possible errors for setDevicePreferences).
        schedules = given.get("schedules") or []
        days = [schedule["dayOfWeek"] for schedule in schedules]
        if sorted(days) != sorted(get_args(DayOfWeek)):
            raise kraken_error(
                "KT-CT-4321",
                validationErrors=["Schedules must be provided for all seven days of the week."],
            )
        for schedule in schedules:
            ready_by = _parse_time(str(schedule["time"]))
            if (
                ready_by is None
                or not READY_BY_EARLIEST <= ready_by <= READY_BY_LATEST
                or ready_by.minute % 30
            ):
                raise kraken_error(
                    "KT-CT-4321",
                    validationErrors=[
                        f"Invalid ready-by time {schedule['time']}: use 04:00 to 11:00 in "
                        "30-minute steps."
                    ],
                )
        self.preferences[device.id] = Preferences.model_validate(
            {
                "mode": given["mode"],
                "unit": given["unit"],
                "targetType": "ABSOLUTE_TEMPERATURE"
                if given["unit"] == "CELSIUS"
                else "ABSOLUTE_STATE_OF_CHARGE",
                "schedules": [
                    {
                        "dayOfWeek": schedule["dayOfWeek"],
                        "time": str(schedule["time"]),
                        "min": None if schedule.get("min") is None else float(schedule["min"]),
                        "max": float(schedule["max"]),
                    }
                    for schedule in schedules
                ],
            },
            strict=False,
        )

    # --- Octoplus ---------------------------------------------------------------------

    @property
    def octoplus_enrolled(self) -> bool:
        sessions = self.scenario.saving_sessions
        return bool(sessions and sessions.octoplus_enrolled)

    def has_joined(self, event: SavingSessionEvent) -> bool:
        sessions = self.scenario.saving_sessions
        given = sessions.joined_event_ids if sessions else []
        return event.id in given or event.id in self.joined_event_ids

    def join(self, event: SavingSessionEvent, now: datetime) -> None:
        """``joinSavingSessionsEvent``: refused as the scenario says, after the event has
        started, for an account outside Octoplus or the campaign; joining twice is a join."""
        sessions = self.scenario.saving_sessions
        assert sessions is not None  # an event was found
        if event.join_refusal is not None:
            raise kraken_error(event.join_refusal.code, event.join_refusal.message)
        if self.has_joined(event):
            return
        if not sessions.octoplus_enrolled or not sessions.has_joined_campaign:
            raise kraken_error(
                JOIN_REFUSED_CODE,
                "This account has not signed up to saving sessions: join Octoplus saving "
                "sessions in the Octopus app first.",
            )
        if now >= event.startAt:
            raise kraken_error(
                JOIN_REFUSED_CODE,
                f"The event {event.code} has already started, so it can no longer be joined.",
            )
        self.joined_event_ids.add(event.id)

    def points_balance(self, now: datetime) -> int:
        """The scenario's balance, plus the points of joined events that have ended and
        the wheel's prizes won."""
        sessions = self.scenario.saving_sessions
        earned = sum(
            event.rewardGivenInOctoPoints or 0
            for event in (sessions.events if sessions else [])
            if self.has_joined(event) and event.endAt <= now
        )
        return self.scenario.points_balance + earned + sum(self.prizes_won)

    def spins_left(self, fuel: str) -> int:
        sessions = self.scenario.saving_sessions
        if sessions is None or not sessions.octoplus_enrolled:
            return 0
        given = (
            sessions.wheel_spins.electricity if fuel == "ELECTRICITY" else sessions.wheel_spins.gas
        )
        return max(0, given - self.spins_taken[fuel])

    def spin(self, fuel: str) -> int:
        """``spinWheelOfFortune``: the next prize in turn, or refused without a spin left."""
        sessions = self.scenario.saving_sessions
        if sessions is None or not sessions.octoplus_enrolled:
            raise kraken_error(SPIN_REFUSED_CODE, "This account is not in Octoplus.")
        if self.spins_left(fuel) <= 0:
            raise kraken_error(
                SPIN_REFUSED_CODE, f"There are no {fuel.lower()} spins left this month."
            )
        self.spins_taken[fuel] += 1
        prize = sessions.wheel_prizes[len(self.prizes_won) % len(sessions.wheel_prizes)]
        self.prizes_won.append(prize)
        return prize

    def telemetry_meter(self, device_id: str) -> Fuel | None:
        """Which meter a Home Mini device id reads (None: no meter of the account)."""
        account = self.scenario.account
        if any(point.telemetry_device_id == device_id for point in account.electricity):
            return "electricity"
        if any(point.telemetry_device_id == device_id for point in account.gas):
            return "gas"
        return None


def _token_of(authorization: str) -> str:
    """The token in an ``Authorization`` header: Kraken takes it bare (README, "Transport
    and auth"), and also after a ``JWT`` or ``Bearer`` scheme in any case, as other
    established clients send it."""
    header = authorization.strip()
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("jwt", "bearer") and token.strip():
        return token.strip()
    return header


def boost_refusal_reasons(state: TimelineEntry) -> list[str]:
    """Why Kraken would refuse a boost in ``state`` (empty: it would boost)."""
    if state.boostChargeRefusalReasons is not None:
        return list(state.boostChargeRefusalReasons)
    current = state.currentState
    if current == "RETIRED":
        return ["BC_DEVICE_RETIRED"]
    if state.isSuspended:
        return ["BC_DEVICE_SUSPENDED"]
    if current in _NOT_YET_LIVE:
        return ["BC_DEVICE_NOT_YET_LIVE"]
    if current == "BOOSTING":
        return ["BC_BOOST_CHARGE_IN_PROGRESS"]
    if current in ("SMART_CONTROL_NOT_AVAILABLE", "LOST_CONNECTION"):
        return ["BC_DEVICE_DISCONNECTED"]
    return []


def _parse_time(text: str) -> time | None:
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


# --- HTTP -------------------------------------------------------------------------------


def _root_field_names(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None = None,
) -> list[str]:
    """The root fields an operation asks for (through fragments too), one per selection
    that ``@include``/``@skip`` leave in: those are the calls Kraken counts."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    names: list[str] = []

    def walk(selection_set: SelectionSetNode, visited: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if not _included(selection, variables or {}):
                continue
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


def _included(selection: SelectionNode, variables: dict[str, Any]) -> bool:
    """False when ``@skip(if: true)`` or ``@include(if: false)`` leaves it out."""
    for directive in selection.directives or ():
        if directive.name.value not in ("skip", "include"):
            continue
        condition = next((a.value for a in directive.arguments or () if a.name.value == "if"), None)
        if isinstance(condition, VariableNode):
            value = variables.get(condition.name.value)
        elif isinstance(condition, BooleanValueNode):
            value = condition.value
        else:
            continue
        if (directive.name.value == "skip") == (value is True):
            return False
    return True


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


def _fault_response(fault: Fault, operation: str) -> Response | None:
    """The answer of a fault that replaces the whole response (None: not such a fault)."""
    if fault.http_status is not None:
        text = fault.message or f"Simulated HTTP {fault.http_status} from Kraken."
        headers = {}
        if fault.http_status == 429:
            headers["Retry-After"] = str(60 if fault.retry_after is None else fault.retry_after)
        return PlainTextResponse(text, status_code=fault.http_status, headers=headers)
    if fault.malformed:
        # A cut-off body with a JSON content type, as a proxy dropping the connection sends.
        cut_off = '{"data": {"' + operation + '": [{"id": "'
        return Response(cut_off, status_code=200, media_type="application/json")
    return None


def _removed_field_errors(
    schema: GraphQLSchema, document: DocumentNode, field_name: str
) -> list[GraphQLError]:
    """Kraken's answer to a document asking for a field it no longer has."""
    type_info = TypeInfo(schema)
    found: list[GraphQLError] = []

    class _Finder(Visitor):
        def enter_field(self, node: FieldNode, *_args: object) -> None:
            parent = type_info.get_parent_type()
            if node.name.value == field_name and parent is not None:
                found.append(
                    GraphQLError(
                        f"Cannot query field '{field_name}' on type '{parent.name}'.", node
                    )
                )

    visit(document, TypeInfoVisitor(type_info, _Finder()))
    return found


@functools.lru_cache(maxsize=256)
def _checked_document(query: str, backend: bool) -> tuple[DocumentNode, tuple[GraphQLError, ...]]:
    """Parse and validate a query once: clients send the same few documents all day."""
    document = parse(query)
    return document, tuple(validate(_schema(backend), document))


def _schema(backend: bool) -> GraphQLSchema:
    return executable_backend_schema() if backend else executable_schema()


async def _handle_graphql(simulator: Simulator, request: Request, backend: bool) -> Response:
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

    schema = _schema(backend)
    try:
        document, validation_errors = _checked_document(body["query"], backend)
    except GraphQLError as error:
        return _graphql_failure([error])
    if validation_errors:
        return _graphql_failure(list(validation_errors))
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return _graphql_failure([GraphQLError("Unknown or ambiguous operation name.")])

    root_fields = _root_field_names(document, operation, variables)
    simulator.request_counts.update(root_fields)
    if simulator.request_log is not None:
        simulator.request_log.extend((now, field) for field in root_fields)
    for field_name in root_fields:
        fault = simulator.fault_for(field_name, now)
        if fault is None:
            continue
        if (response := _fault_response(fault, field_name)) is not None:
            return response
        if (seconds := fault.timeout_seconds) is not None:
            return await _stall(request, seconds)
        if fault.removed_field is not None and (
            removed := _removed_field_errors(schema, document, fault.removed_field)
        ):
            return _graphql_failure(removed)

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


def _rest_auth_refusal(simulator: Simulator, request: Request) -> Response | None:
    """Products and rates are public: a request without ``Authorization`` is served
    (Kraken README, "Unit rates": the product needs no auth; Octopus's public tariffs'
    rates are read without a key too), and so is HTTP Basic with the API key as user name
    (README, "Unit rates"). Anything else gets 401, as does a key other than the
    scenario's ``api_key``. The messages are Django REST framework's (Octopus's REST API
    is DRF: its 404s read "No … matches the given query.")."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return _unauthorized("Authentication credentials were not provided.")
    if not encoded.strip():
        return _unauthorized("Invalid basic header. No credentials provided.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return _unauthorized("Invalid basic header. Credentials not correctly base64 encoded.")
    user = decoded.partition(":")[0]
    expected = simulator.scenario.api_key
    if not user or (expected is not None and user != expected):
        return _unauthorized("Invalid username/password.")
    return None


def _unauthorized(detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=401, headers={"WWW-Authenticate": 'Basic realm="api"'}
    )


def _count_rest(simulator: Simulator, operation: str) -> None:
    simulator.request_counts[operation] += 1
    if simulator.request_log is not None:
        simulator.request_log.append((simulator.now(), operation))


#: Rate resources, their link ``rel`` and the scenario table holding their rows.
_RATE_TABLES = {
    "standard-unit-rates": ("standard_unit_rates", "unit_rates"),
    "day-unit-rates": ("day_unit_rates", "day_unit_rates"),
    "night-unit-rates": ("night_unit_rates", "night_unit_rates"),
    "standing-charges": ("standing_charges", "standing_charges"),
}
_FUELS: dict[str, Fuel] = {"electricity-tariffs": "electricity", "gas-tariffs": "gas"}
_TARIFF_MODEL = {"electricity": "ElectricityTariff", "gas": "GasTariff"}
_EMPTY_PAGE: dict[str, Any] = {"count": 0, "next": None, "previous": None, "results": []}


async def _handle_rates(
    simulator: Simulator,
    request: Request,
    resource: str,
    product: str,
    tariff: str,
    fuel: str = "electricity-tariffs",
) -> Response:
    now = simulator.now()
    _count_rest(simulator, f"rest:{resource}")
    if (refusal := _rest_auth_refusal(simulator, request)) is not None:
        return refusal
    fault = simulator.fault_for(resource, now)
    if fault is not None:
        if (response := _fault_response(fault, resource)) is not None:
            return response
        if (seconds := fault.timeout_seconds) is not None:
            return await _stall(request, seconds)

    if resource not in _RATE_TABLES or fuel not in _FUELS:
        return JSONResponse({"detail": "Not found."}, status_code=404)
    entry = simulator.products.tariff(product, tariff, _FUELS[fuel])
    if entry is None:
        # Django REST framework's wording for a missing object of that model.
        detail = f"No {_TARIFF_MODEL[_FUELS[fuel]]} matches the given query."
        return JSONResponse({"detail": detail}, status_code=404)
    rel, table_name = _RATE_TABLES[resource]
    if rel not in entry.rels:
        # Kraken README, "Unit rates": an endpoint the product does not link (e.g.
        # standard-unit-rates of an E-2R- tariff) answers an empty list, not 404.
        return JSONResponse(_EMPTY_PAGE)
    table: dict[str, list[Any]] = getattr(simulator.scenario, table_name)
    return _rates_page(request, table.get(tariff, []), now)


async def _handle_product(simulator: Simulator, request: Request, product: str) -> Response:
    """``GET /v1/products/{code}/`` (Kraken README, "Unit rates"): the product's tariffs
    by register group, region and payment method, links pointing at this simulator."""
    _count_rest(simulator, "rest:product")
    if (refusal := _rest_auth_refusal(simulator, request)) is not None:
        return refusal
    body = simulator.products.body(product)
    if body is None:
        return JSONResponse({"detail": "No Product matches the given query."}, status_code=404)
    return JSONResponse(rewrite_hrefs(body, str(request.base_url)))


def _rates_page(request: Request, rows: list[Any], now: datetime) -> Response:
    """One page of the rows served at ``now`` inside the asked period, paged as Octopus
    pages its REST results (``count``, ``next``, ``previous``, ``results``)."""
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
    """The HTTP face of ``simulator``: Kraken's GraphQL endpoint, its REST products and
    rates."""
    app = FastAPI(title="Kraken simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.simulator = simulator

    @app.post("/v1/graphql/")
    async def graphql_endpoint(request: Request) -> Response:
        return await _handle_graphql(simulator, request, backend=False)

    # Octopus's second host (api.backend.octopus.energy) under a path prefix.
    @app.post(BACKEND_PREFIX + "/v1/graphql/")
    async def backend_graphql_endpoint(request: Request) -> Response:
        return await _handle_graphql(simulator, request, backend=True)

    @app.get("/v1/products/{product}/")
    async def product_detail(request: Request, product: str) -> Response:
        return await _handle_product(simulator, request, product)

    @app.get("/v1/products/{product}/{fuel}/{tariff}/{resource}/")
    async def rates(
        request: Request, product: str, fuel: str, tariff: str, resource: str
    ) -> Response:
        return await _handle_rates(simulator, request, resource, product, tariff, fuel)

    return app
