"""The Kraken client: every GraphQL and REST call goes through :meth:`KrakenClient._send`.

That one path applies the token, the request budget, timeouts, retries (only for
transient upstream failures, with backoff and jitter on the injected clock) and error
classification (:mod:`kraken_core.kraken.classify`).
"""

from __future__ import annotations

import logging
import random
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Literal, TypeVar

import httpx
import stamina
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.httpx import HTTPXAsyncTransport
from pydantic import BaseModel

from kraken_core import __version__
from kraken_core.clock import Clock
from kraken_core.kraken.auth import TokenManager
from kraken_core.kraken.budget import BudgetLimit, RequestBudget
from kraken_core.kraken.classify import (
    classify_graphql_errors,
    classify_http_status,
    refused_with_a_new_token,
    token_refused_in,
)
from kraken_core.kraken.documents import document
from kraken_core.kraken.errors import (
    KrakenActionRefused,
    KrakenAuthError,
    KrakenBudgetSpent,
    KrakenError,
    KrakenSchemaError,
    KrakenUpstreamError,
)
from kraken_core.kraken.models import (
    DAYS_OF_WEEK,
    Account,
    CompletedDispatch,
    JoinedSavingSessions,
    KrakenToken,
    LoyaltyPointLedgerEntry,
    OctoplusAccountInfo,
    PlannedDispatch,
    PreferenceSchedule,
    Product,
    ProductLink,
    RatePage,
    RateRow,
    SavingSessions,
    SmartFlexDevice,
    TelemetryReading,
    WheelSpin,
    WheelSpinsAllowed,
    as_utc_z,
    parse_answer,
)

log = logging.getLogger(__name__)

# Transport libraries log whole requests at DEBUG: those carry the API key and tokens.
for _chatty in ("httpx", "httpcore", "gql.transport"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)

OCTOPUS_GRAPHQL_URL = "https://api.octopus.energy/v1/graphql/"
OCTOPUS_BACKEND_GRAPHQL_URL = "https://api.backend.octopus.energy/v1/graphql/"
OCTOPUS_REST_URL = "https://api.octopus.energy/v1/"
USER_AGENT = f"kraken-bridge-homey/{__version__}"

Fuel = Literal["electricity", "gas"]
WheelFuel = Literal["ELECTRICITY", "GAS"]
RateRegister = Literal["standard", "day", "night"]
PREFERRED_PAYMENT_METHOD = "DIRECT_DEBIT"
READY_BY_EARLIEST, READY_BY_LATEST = time(4, 0), time(11, 0)

#: A backfill asks for at most this long a range per request (about 360 rows each).
TELEMETRY_CHUNK: dict[str, timedelta] = {
    "TEN_SECONDS": timedelta(hours=1),
    "ONE_MINUTE": timedelta(hours=6),
    "FIVE_MINUTES": timedelta(days=1),
    "HALF_HOURLY": timedelta(days=7),
    "HOURLY": timedelta(days=14),
}

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient failures only: exponential backoff with jitter, capped.

    Waits run on the injected clock, so a simulated day does not wait in real time.
    """

    attempts: int = 3
    wait_initial_s: float = 1.0
    wait_max_s: float = 8.0
    wait_jitter_s: float = 1.0

    def wait_before_retry(self, retry: int, rng: random.Random) -> timedelta:
        """The wait before retry number ``retry`` (1 for the first retry)."""
        base = min(self.wait_max_s, self.wait_initial_s * 2 ** (retry - 1))
        return timedelta(seconds=base + rng.uniform(0, self.wait_jitter_s))


class KrakenClient:
    """Talks to Kraken (or the simulator) for one account."""

    def __init__(
        self,
        *,
        api_key: str,
        account_number: str,
        clock: Clock,
        graphql_url: str = OCTOPUS_GRAPHQL_URL,
        rest_url: str = OCTOPUS_REST_URL,
        backend_graphql_url: str = OCTOPUS_BACKEND_GRAPHQL_URL,
        timeout_s: float = 20.0,
        retry_attempts: int | None = None,
        retry: RetryPolicy | None = None,
        limits: dict[str, BudgetLimit] | None = None,
        rng: random.Random | None = None,
        rest_page_size: int = 1500,
    ) -> None:
        self.account_number = account_number
        self._clock = clock
        self._graphql_url = graphql_url
        self._backend_graphql_url = backend_graphql_url
        self._rest_url = rest_url if rest_url.endswith("/") else rest_url + "/"
        self._timeout_s = timeout_s
        self._timeout = httpx.Timeout(timeout_s)
        # REST rates only: GraphQL goes through gql's transport, which makes its own httpx
        # client (see _gql_session) with the same transport settings and timeout.
        self._http = httpx.AsyncClient(
            timeout=self._timeout, headers={"User-Agent": USER_AGENT}, transport=_transport()
        )
        self._rest_auth = httpx.BasicAuth(api_key, "")
        self._rest_page_size = rest_page_size
        # gql sends the documents; httpx (through gql's transport) carries them. A response
        # hook classifies HTTP failures (429 with Retry-After, 5xx, 401/403) before gql
        # reads the body, since gql keeps only the status code of those.
        self._gql: dict[str, Client] = {}
        self._gql_sessions: dict[str, AsyncClientSession] = {}
        policy = retry or RetryPolicy()
        if retry_attempts is not None:
            policy = RetryPolicy(
                retry_attempts, policy.wait_initial_s, policy.wait_max_s, policy.wait_jitter_s
            )
        self.retry = policy
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not security)
        self.budget = RequestBudget(clock, limits)
        self.tokens = TokenManager(api_key, self._mint, clock)
        self.request_counts: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"KrakenClient(account_number={self.account_number!r})"

    async def __aenter__(self) -> KrakenClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        for url, client in self._gql.items():
            if url in self._gql_sessions:
                await client.close_async()  # type: ignore[no-untyped-call]
        self._gql.clear()
        self._gql_sessions.clear()
        await self._http.aclose()

    async def _gql_session(self, url: str) -> AsyncClientSession:
        session = self._gql_sessions.get(url)
        if session is None:
            client = self._gql.setdefault(
                url,
                Client(
                    transport=HTTPXAsyncTransport(
                        url=url,
                        timeout=self._timeout,
                        headers={"User-Agent": USER_AGENT},
                        transport=_transport(),
                        event_hooks={"response": [self._classify_http_failure]},
                    ),
                    fetch_schema_from_transport=False,
                    execute_timeout=None,  # httpx's timeout applies; see _timeout
                ),
            )
            session = await client.connect_async()  # type: ignore[no-untyped-call]
            self._gql_sessions[url] = session
        return session

    async def _classify_http_failure(self, response: httpx.Response) -> None:
        """httpx response hook on the GraphQL path: HTTP-level failures, classified."""
        status = response.status_code
        if status >= 500 or status in (401, 403, 429):
            operation = response.request.extensions.get("kraken_operation", "graphql")
            raise classify_http_status(
                str(operation), status, response.headers.get("Retry-After"), self._clock.now()
            )

    # --- account ------------------------------------------------------------------------

    async def account(self) -> Account:
        """Properties, electricity and gas agreements with meters, balance, billing period."""
        data = await self._graphql("account", "account", {"accountNumber": self.account_number})
        if data.get("account") is None:
            raise KrakenAuthError(
                f"Kraken has no account {self.account_number} for this API key: check the "
                "account number (it looks like A-1234ABCD) and the key.",
                operation="account",
            )
        return parse_answer(Account, data["account"], operation="account")

    # --- smart devices ------------------------------------------------------------------

    async def devices(self) -> list[SmartFlexDevice]:
        data = await self._graphql(
            "devices", "devices", {"accountNumber": self.account_number, "deviceId": None}
        )
        return _parsed_list(SmartFlexDevice, data, "devices")

    async def device(self, device_id: str) -> SmartFlexDevice:
        """One device with its status and charge preferences."""
        data = await self._graphql(
            "devices", "devices", {"accountNumber": self.account_number, "deviceId": device_id}
        )
        found = _parsed_list(SmartFlexDevice, data, "devices")
        if not found:
            raise KrakenSchemaError(
                f"Kraken lists no device {device_id} on account {self.account_number}.",
                operation="devices",
            )
        return found[0]

    async def planned_dispatches(self, device_id: str) -> list[PlannedDispatch]:
        data = await self._graphql(
            "flexPlannedDispatches", "flex_planned_dispatches", {"deviceId": device_id}
        )
        return _parsed_list(PlannedDispatch, data, "flexPlannedDispatches")

    async def completed_dispatches(self) -> list[CompletedDispatch]:
        """Dispatches that happened (Kraken lags about 12 hours), newest first."""
        data = await self._graphql(
            "completedDispatches", "completed_dispatches", {"accountNumber": self.account_number}
        )
        return _parsed_list(CompletedDispatch, data, "completedDispatches")

    async def boost(self, device_id: str) -> SmartFlexDevice:
        """Charge now at the normal rate; a refusal raises KrakenActionRefused with why."""
        return await self._update_boost_charge(device_id, "BOOST")

    async def cancel_boost(self, device_id: str) -> SmartFlexDevice:
        return await self._update_boost_charge(device_id, "CANCEL")

    async def set_smart_control(self, device_id: str, *, enabled: bool) -> SmartFlexDevice:
        """Suspend (``enabled=False``) or resume Octopus's smart control of a device."""
        action = "UNSUSPEND" if enabled else "SUSPEND"
        return await self._device_mutation(
            "updateDeviceSmartControl",
            "update_device_smart_control",
            {"deviceId": device_id, "action": action},
        )

    async def set_device_preferences(
        self,
        device_id: str,
        schedules: Iterable[PreferenceSchedule],
        *,
        mode: str = "CHARGE",
        unit: str = "PERCENTAGE",
    ) -> SmartFlexDevice:
        """Send the charge target for all seven days together (Kraken wants them all)."""
        given = list(schedules)
        check_preference_schedules(given)
        wire = [
            {
                "dayOfWeek": day.day_of_week,
                "time": day.ready_by.strftime("%H:%M"),
                "min": None if day.min_value is None else str(day.min_value),
                "max": str(day.max_value),
            }
            for day in given
        ]
        return await self._device_mutation(
            "setDevicePreferences",
            "set_device_preferences",
            {"deviceId": device_id, "mode": mode, "unit": unit, "schedules": wire},
        )

    async def _update_boost_charge(self, device_id: str, action: str) -> SmartFlexDevice:
        # A cancel is never held back by the bridge's own budget: a household must always
        # be able to stop a charge it did not want, and Kraken's own limit (KT-CT-1199,
        # answered as KrakenThrottled) is the one that protects the account (issue #16).
        return await self._device_mutation(
            "updateBoostCharge",
            "update_boost_charge",
            {"deviceId": device_id, "action": action},
            budgeted=action != "CANCEL",
        )

    async def _device_mutation(
        self,
        operation: str,
        document_name: str,
        mutation_input: dict[str, Any],
        *,
        budgeted: bool = True,
    ) -> SmartFlexDevice:
        """A change to a device; one Kraken refuses (KT-CT-4357 with its reasons,
        ../shared/kraken/README.md "Intelligent Octopus") changed nothing, so it gives back
        what it spent of the bridge's own budget: ten boosts tried while the car was
        unplugged must not lock out the eleventh once it is plugged in (issue #16)."""
        try:
            data = await self._graphql(
                operation, document_name, {"input": mutation_input}, budgeted=budgeted
            )
        except KrakenActionRefused:
            if budgeted:
                self.budget.refund(operation)
            raise
        return parse_answer(SmartFlexDevice, data.get(operation), operation=operation)

    # --- the light transaction ----------------------------------------------------------

    async def live(
        self,
        *,
        meter_device_id: str | None,
        devices: bool,
        dispatch_device_ids: Sequence[str] = (),
    ) -> LiveAnswer:
        """Latest telemetry, device states and planned dispatches in as few requests as
        possible: one, for up to two devices' dispatches. Each part succeeds or fails on
        its own (a throttled telemetry read does not lose the device states)."""
        answer = LiveAnswer()
        combined = list(dispatch_device_ids[:2])
        parts: dict[str, str] = {}  # response key -> operation
        if meter_device_id is not None:
            parts["smartMeterTelemetry"] = "smartMeterTelemetry"
        if devices:
            parts["devices"] = "devices"
        for key, _ in zip(("dispatchesA", "dispatchesB"), combined, strict=False):
            parts[key] = "flexPlannedDispatches"
        # Parts whose budget is spent are left out, and reported as throttled.
        for key, operation in list(parts.items()):
            refused_until = self.budget.next_free_at(operation, parts_wanted(parts, operation))
            if refused_until is not None:
                self._record_part(answer, key, combined, _budget_refusal(operation, refused_until))
                del parts[key]
        if parts:
            variables = {
                "accountNumber": self.account_number,
                "meterDeviceId": meter_device_id or "",
                "withTelemetry": "smartMeterTelemetry" in parts,
                "withDevices": "devices" in parts,
                "deviceA": combined[0] if combined else "",
                "withDeviceA": "dispatchesA" in parts,
                "deviceB": combined[1] if len(combined) > 1 else "",
                "withDeviceB": "dispatchesB" in parts,
            }
            try:
                data, errors = await self._live_request(tuple(parts.values()), variables)
            except KrakenError as exc:  # the whole request failed
                for key in parts:
                    self._record_part(answer, key, combined, exc)
            else:
                self._split_live_answer(answer, parts, combined, data, errors)
        for device_id in dispatch_device_ids[2:]:
            try:
                answer.dispatches[device_id] = await self.planned_dispatches(device_id)
            except KrakenError as exc:
                answer.dispatches[device_id] = exc
        return answer

    async def _live_request(
        self, operations: tuple[str, ...], variables: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The combined request, signed in anew and replayed once if the token is refused."""

        async def send(token: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
            data, errors = await self._send(
                operations,
                partial(
                    self._post_graphql_partial, self._graphql_url, "live", "live", variables, token
                ),
            )
            refused = token_refused_in("live", errors, self._clock.now())
            if refused is not None:
                raise refused
            return data, errors

        return await self._authorised("live", send)

    def _split_live_answer(
        self,
        answer: LiveAnswer,
        parts: dict[str, str],
        combined: list[str],
        data: dict[str, Any] | None,
        errors: list[dict[str, Any]],
    ) -> None:
        now = self._clock.now()
        unplaced = [e for e in errors if not e.get("path")]
        for key, operation in parts.items():
            mine = [e for e in errors if (e.get("path") or [None])[0] == key] + unplaced
            if key == "devices" and not unplaced:
                mine = self._split_device_errors(answer, (data or {}).get(key), mine, now)
            if mine:
                self._record_part(
                    answer, key, combined, classify_graphql_errors(operation, mine, now)
                )
                continue
            value = (data or {}).get(key)
            try:
                if key == "smartMeterTelemetry":
                    answer.telemetry = [
                        parse_answer(TelemetryReading, item, operation=operation)
                        for item in value or []
                        if item is not None and item.get("readAt") is not None
                    ]
                elif key == "devices":
                    answer.devices = [
                        parse_answer(SmartFlexDevice, item, operation=operation)
                        for item in value or []
                    ]
                else:
                    answer.dispatches[_combined_device(key, combined)] = [
                        parse_answer(PlannedDispatch, item, operation=operation)
                        for item in value or []
                    ]
            except KrakenError as exc:
                self._record_part(answer, key, combined, exc)

    @staticmethod
    def _split_device_errors(
        answer: LiveAnswer, devices: object, errors: list[dict[str, Any]], now: datetime
    ) -> list[dict[str, Any]]:
        """Errors inside one device of the ``devices`` list (a path ``devices.<i>.…``,
        e.g. its ``status.currentState``) fail that device alone: GraphQL nulls only the
        failing nullable field and answers the rest (GraphQL spec, "Handling Field
        Errors"). Returns the errors that fail the whole part."""
        if not isinstance(devices, list):
            return errors
        whole = []
        for error in errors:
            path = error.get("path") or []
            index = path[1] if len(path) > 2 else None
            item = devices[index] if isinstance(index, int) and index < len(devices) else None
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                error_now = classify_graphql_errors("devices", [error], now)
                answer.device_errors.setdefault(item["id"], error_now)
            else:
                whole.append(error)
        return whole

    @staticmethod
    def _record_part(answer: LiveAnswer, key: str, combined: list[str], error: KrakenError) -> None:
        if key == "smartMeterTelemetry":
            answer.telemetry = error
        elif key == "devices":
            answer.devices = error
        else:
            answer.dispatches[_combined_device(key, combined)] = error

    # --- telemetry ----------------------------------------------------------------------

    async def telemetry(
        self,
        device_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        grouping: str | None = None,
    ) -> list[TelemetryReading]:
        """Readings of a Home Mini; with no range, Kraken answers the latest reading."""
        variables: dict[str, Any] = {"deviceId": device_id}
        if start is not None or end is not None or grouping is not None:
            if start is None or end is None or grouping is None:
                raise ValueError("start, end and grouping must be given together (KT-GB-4040)")
            variables |= {"start": as_utc_z(start), "end": as_utc_z(end), "grouping": grouping}
        data = await self._graphql("smartMeterTelemetry", "smart_meter_telemetry", variables)
        return [
            parse_answer(TelemetryReading, item, operation="smartMeterTelemetry")
            for item in data.get("smartMeterTelemetry") or []
            if item is not None and item.get("readAt") is not None
        ]

    async def backfill_telemetry(
        self, device_id: str, *, start: datetime, end: datetime, grouping: str = "HALF_HOURLY"
    ) -> list[TelemetryReading]:
        """Readings over a missed range, asked for in chunks Kraken answers comfortably."""
        if grouping not in TELEMETRY_CHUNK:
            raise ValueError(f"grouping must be one of {', '.join(TELEMETRY_CHUNK)}")
        if end <= start:
            raise ValueError("end must be after start (KT-GB-4041)")
        by_time: dict[datetime, TelemetryReading] = {}
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(chunk_start + TELEMETRY_CHUNK[grouping], end)
            for reading in await self.telemetry(
                device_id, start=chunk_start, end=chunk_end, grouping=grouping
            ):
                by_time[reading.read_at] = reading
            chunk_start = chunk_end
        return [by_time[when] for when in sorted(by_time)]

    # --- REST rates -----------------------------------------------------------------------

    async def unit_rates(
        self,
        product_code: str,
        tariff_code: str,
        period_from: datetime,
        period_to: datetime,
        *,
        fuel: Fuel = "electricity",
        register: RateRegister = "standard",
        payment_method: str | None = PREFERRED_PAYMENT_METHOD,
    ) -> list[RateRow]:
        """Unit rates (p/kWh inc. VAT) over a period, every page, newest first."""
        resource = f"{register}-unit-rates"
        rows = await self._rest_rows(
            resource, fuel, product_code, tariff_code, period_from, period_to
        )
        return prefer_payment_method(rows, payment_method)

    async def standing_charges(
        self,
        product_code: str,
        tariff_code: str,
        period_from: datetime,
        period_to: datetime,
        *,
        fuel: Fuel = "electricity",
        payment_method: str | None = PREFERRED_PAYMENT_METHOD,
    ) -> list[RateRow]:
        """Standing charges (p/day inc. VAT) over a period, every page, newest first."""
        rows = await self._rest_rows(
            "standing-charges", fuel, product_code, tariff_code, period_from, period_to
        )
        return prefer_payment_method(rows, payment_method)

    async def product(self, product_code: str) -> Product:
        """``GET /v1/products/{code}/``: which register group the product's tariff codes
        sit in and the rate endpoints each links (public; developer.octopus.energy/rest,
        "Products"). The caller caches it per product."""
        url = f"{self._rest_url}products/{product_code}/"
        payload = await self._send("product", partial(self._get_json, "product", url, None))
        return parse_answer(Product, payload, operation="product")

    async def linked_rates(
        self,
        link: ProductLink,
        period_from: datetime,
        period_to: datetime,
        *,
        payment_method: str | None = PREFERRED_PAYMENT_METHOD,
    ) -> list[RateRow]:
        """The rows a product's rate link leads to over a period, every page.

        The link's path is asked on the bridge's own REST address: the request carries the
        API key, which never goes to a host written in an answer."""
        resource = link.rel.replace("_", "-")
        asked = self._own_address(resource, link.href)
        rows = await self._paged_rows(resource, asked, period_from, period_to)
        return prefer_payment_method(rows, payment_method)

    def _own_address(self, resource: str, href: str) -> str:
        ours = httpx.URL(self._rest_url)
        try:
            path = httpx.URL(href).path
        except httpx.InvalidURL:
            path = ""
        if not path.startswith(f"{ours.path}products/") or not path.endswith(f"/{resource}/"):
            raise KrakenError(
                f"Octopus's product links {resource} to {_origin(href)} outside its own rate "
                "addresses; the bridge does not follow it.",
                operation=resource,
            )
        return str(ours.copy_with(path=path, query=None))

    # --- Octoplus and saving sessions (../shared/kraken/README.md) ----------------------

    async def saving_sessions(self) -> SavingSessions:
        """Every announced saving session and power-up (never Octopus's test events) and
        the account's region and joined events, from Octopus's backend host."""
        data = await self._graphql(
            "savingSessions",
            "backend_saving_sessions",
            {"accountNumber": self.account_number},
            backend=True,
        )
        return parse_answer(SavingSessions, data.get("savingSessions"), operation="savingSessions")

    async def join_saving_session(self, event_code: str) -> list[str]:
        """Sign the account up for one announced event (backend host); the event codes
        Kraken says the account has joined. A refusal (the event has started, the account
        cannot take part) raises :class:`KrakenActionRefused` in Kraken's words, and gives
        back what it spent of the bridge's own budget."""
        operation = "joinSavingSessionsEvent"
        try:
            data = await self._graphql(
                operation,
                "backend_join_saving_session",
                {"accountNumber": self.account_number, "eventCode": event_code},
                backend=True,
            )
        except KrakenActionRefused:
            self.budget.refund(operation)
            raise
        answer = parse_answer(JoinedSavingSessions, data.get(operation), operation=operation)
        joined = [code for code in answer.joined_event_codes or [] if code]
        if event_code not in joined:
            self.budget.refund(operation)
            raise KrakenActionRefused(
                f"Octopus did not confirm joining the saving session {event_code}; it lists "
                f"{', '.join(joined) or 'no session'} as joined.",
                operation=operation,
            )
        return joined

    async def octoplus(self, *, with_gas: bool) -> OctoplusStatus:
        """Octoplus enrolment, the points balance and the wheel's spins left this month
        (gas only ``with_gas``), in one request to the main host. Enrolment must answer;
        the points and spins are None when Kraken fails those parts alone (an account
        outside Octoplus may have neither)."""
        parts: dict[str, str] = {
            "octoplusAccountInfo": "octoplusAccountInfo",
            "loyaltyPointLedgers": "loyaltyPointLedgers",
            "electricitySpins": "wheelOfFortuneSpinsAllowed",
        }
        if with_gas:
            parts["gasSpins"] = "wheelOfFortuneSpinsAllowed"
        variables = {"accountNumber": self.account_number, "withGas": with_gas}
        data, errors = await self._graphql_parts("octoplus", "octopus_octoplus", parts, variables)
        failed = {(error.get("path") or [None])[0] for error in errors}
        if failed & {None, "octoplusAccountInfo"}:
            mine = [
                e for e in errors if (e.get("path") or [None])[0] in (None, "octoplusAccountInfo")
            ]
            raise classify_graphql_errors("octoplusAccountInfo", mine, self._clock.now())
        return _octoplus_status(data or {}, failed, parts)

    async def _graphql_parts(
        self,
        label: str,
        document_name: str,
        parts: dict[str, str],
        variables: dict[str, Any],
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """One request of several root fields (``parts``: response key -> operation), each
        counted in the budget (none sent unless all fit), signed in anew and replayed once
        if the token is refused; the data and the errors, for the caller to place."""
        operations = tuple(parts.values())
        for name in set(operations):
            refused_until = self.budget.next_free_at(name, parts_wanted(parts, name))
            if refused_until is not None:
                raise _budget_refusal(name, refused_until)

        async def send(token: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
            url = self._graphql_url
            data, errors = await self._send(
                operations,
                partial(self._post_graphql_partial, url, label, document_name, variables, token),
            )
            refused = token_refused_in(label, errors, self._clock.now())
            if refused is not None:
                raise refused
            return data, [e for e in errors if isinstance(e, dict)]

        return await self._authorised(label, send)

    async def spin_wheel(self, fuel: WheelFuel) -> int | None:
        """Spin the Octoplus wheel of fortune once for ``fuel``; the OctoPoints won (None if
        Kraken names no prize). A refusal (no spins left) raises
        :class:`KrakenActionRefused` in Kraken's words and gives back the budget spent."""
        operation = "spinWheelOfFortune"
        variables = {
            "accountNumber": self.account_number,
            "electricity": fuel == "ELECTRICITY",
            "gas": fuel == "GAS",
        }
        try:
            data = await self._graphql(operation, "octopus_spin_wheel", variables)
        except KrakenActionRefused:
            self.budget.refund(operation)
            raise
        spin = parse_answer(WheelSpin, data.get(fuel.lower()), operation=operation)
        return spin.prize.value if spin.prize else None

    # --- the one request path ------------------------------------------------------------

    async def _send(
        self,
        operation: str | tuple[str, ...],
        call: Callable[[], Awaitable[T]],
        *,
        budgeted: bool = True,
    ) -> T:
        """Budget, retries for transient failures only, and classification of one call.

        ``call`` raises the classified exception; only :class:`KrakenUpstreamError` (5xx,
        timeouts, connection failures, bodies that are not JSON) is tried again. A call
        not ``budgeted`` is counted but never refused by the bridge's own budget.
        """
        async for attempt in stamina.retry_context(
            on=KrakenUpstreamError,
            attempts=self.retry.attempts,
            timeout=None,
            wait_initial=0,
            wait_max=0,
            wait_jitter=0,
        ):
            with attempt:
                operations = (operation,) if isinstance(operation, str) else operation
                if attempt.num > 1:
                    await self._wait_before_retry(operations[0], attempt.num - 1)
                for name in operations:
                    self._spend(name, budgeted=budgeted)
                return await call()
        raise AssertionError("unreachable: stamina re-raises the last failure")

    async def _wait_before_retry(self, operation: str, retry: int) -> None:
        wait = self.retry.wait_before_retry(retry, self._rng)
        self.retries[operation] += 1
        log.warning(
            "Kraken %s failed for a transient reason; retry %d of %d in %.1f s",
            operation,
            retry,
            self.retry.attempts - 1,
            wait.total_seconds(),
        )
        await self._clock.sleep_until(self._clock.now() + wait)

    def _spend(self, operation: str, *, budgeted: bool = True) -> None:
        """Count one request against the budget, or refuse it with the time it may run."""
        refused_until = self.budget.try_spend(operation) if budgeted else None
        if refused_until is not None:
            raise _budget_refusal(operation, refused_until)
        self.request_counts[operation] += 1

    async def _graphql(
        self,
        operation: str,
        document_name: str,
        variables: dict[str, Any],
        *,
        backend: bool = False,
        budgeted: bool = True,
    ) -> dict[str, Any]:
        """Send one document with the current token (see :meth:`_authorised`)."""
        url = self._backend_graphql_url if backend else self._graphql_url

        async def send(token: str) -> dict[str, Any]:
            return await self._send(
                operation,
                partial(self._post_graphql, url, operation, document_name, variables, token),
                budgeted=budgeted,
            )

        return await self._authorised(operation, send)

    async def _authorised(self, operation: str, send: Callable[[str], Awaitable[T]]) -> T:
        """``send`` with the current token; if Kraken refuses it, sign in anew and replay.

        Kraken forgets tokens (KT-CT-1111, e.g. after a restart) as well as expiring them
        (KT-CT-1124): either way the token is what failed, and waiting for the renewal
        left the polls failing for up to an hour (issue #16). One new sign-in per refused
        request, never more: a second refusal is the key's, and reaches the user. A key
        refused while signing in (KT-CT-1139) is raised by ``tokens.token()`` as it is.
        With the sign-in budget spent, the refusal is reported and the token kept: a
        lasting refusal costs at most that budget's sign-ins, and says to check the key.
        """
        token = await self.tokens.token()
        try:
            return await send(token)
        except KrakenAuthError as exc:
            if self.budget.next_free_at("obtainKrakenToken") is not None:
                raise
            log.info("Kraken refused the token on %s (%s); signing in again", operation, exc.code)
        self.tokens.invalidate(token)
        token = await self.tokens.token()
        try:
            return await send(token)
        except KrakenAuthError as exc:
            raise refused_with_a_new_token(exc) from None

    async def _mint(self, token_input: dict[str, str]) -> KrakenToken:
        data = await self._send(
            "obtainKrakenToken",
            partial(
                self._post_graphql,
                self._graphql_url,
                "obtainKrakenToken",
                "obtain_kraken_token",
                {"input": token_input},
                None,
            ),
        )
        return parse_answer(
            KrakenToken, data.get("obtainKrakenToken"), operation="obtainKrakenToken"
        )

    async def _post_graphql(
        self,
        url: str,
        operation: str,
        document_name: str,
        variables: dict[str, Any],
        token: str | None,
    ) -> dict[str, Any]:
        data, errors = await self._post_graphql_partial(
            url, operation, document_name, variables, token
        )
        if errors:
            raise classify_graphql_errors(operation, errors, self._clock.now())
        if not isinstance(data, dict):
            raise KrakenSchemaError(
                f"Kraken's answer to {operation} has no data.", operation=operation
            )
        return data

    async def _post_graphql_partial(
        self,
        url: str,
        operation: str,
        document_name: str,
        variables: dict[str, Any],
        token: str | None,
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Send one document; return the data Kraken gave and its errors, unclassified."""
        headers = {"Authorization": token} if token is not None else {}
        request = GraphQLRequest(document(document_name), variable_values=variables)
        extra_args = {"headers": headers, "extensions": {"kraken_operation": operation}}
        try:
            session = await self._gql_session(url)
            data = await session.execute(request, extra_args=extra_args)
        except TransportQueryError as exc:
            errors = exc.errors if isinstance(exc.errors, list) else []
            partial_data = exc.data if isinstance(exc.data, dict) else None
            return partial_data, errors
        except TransportConnectionFailed as exc:
            cause = exc.__cause__
            if isinstance(cause, KrakenError):  # raised by the response hook
                raise cause from None
            raise self._unreachable(operation, cause) from None
        except TransportServerError as exc:
            raise classify_http_status(
                operation, exc.code or 500, None, self._clock.now()
            ) from None
        except TransportProtocolError:
            raise KrakenUpstreamError(
                f"Kraken answered {operation} with something that is not GraphQL JSON "
                "(a broken or cut-off answer); the bridge will try again.",
                operation=operation,
            ) from None
        return data if isinstance(data, dict) else None, []

    async def _request(
        self, operation: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        """One HTTP exchange; network failures and timeouts become upstream errors."""
        try:
            return await self._http.request(method, url, timeout=self._timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unreachable(operation, exc) from None

    def _unreachable(self, operation: str, cause: BaseException | None) -> KrakenUpstreamError:
        """A timeout or a network failure, in words (never the request, which has secrets)."""
        if isinstance(cause, httpx.TimeoutException):
            return KrakenUpstreamError(
                f"Kraken did not answer {operation} within {self._timeout_s:g} s "
                "(Kraken slow or the network down); the bridge will try again.",
                operation=operation,
                code="timeout",
            )
        if isinstance(cause, httpx.ReadError | httpx.RemoteProtocolError):
            return KrakenUpstreamError(
                f"The connection to Kraken broke during {operation} ({type(cause).__name__}); "
                "the bridge will try again.",
                operation=operation,
            )
        return KrakenUpstreamError(
            f"Could not reach Kraken for {operation}: "
            f"{type(cause).__name__ if cause else 'connection failed'} "
            "(network down or Kraken unreachable); the bridge will try again.",
            operation=operation,
        )

    async def _rest_rows(
        self,
        resource: str,
        fuel: Fuel,
        product_code: str,
        tariff_code: str,
        period_from: datetime,
        period_to: datetime,
    ) -> list[RateRow]:
        asked = f"{self._rest_url}products/{product_code}/{fuel}-tariffs/{tariff_code}/{resource}/"
        return await self._paged_rows(resource, asked, period_from, period_to)

    async def _paged_rows(
        self, resource: str, asked: str, period_from: datetime, period_to: datetime
    ) -> list[RateRow]:
        url: str | None = asked
        params: Mapping[str, str] | None = {
            "period_from": as_utc_z(period_from),
            "period_to": as_utc_z(period_to),
            "page_size": str(self._rest_page_size),
        }
        rows: list[RateRow] = []
        followed: set[str] = set()
        while url is not None:
            page = await self._send(resource, partial(self._get_page, resource, url, params))
            rows.extend(page.results)
            url, params = self._next_page(resource, asked, page.next, followed), None
        return rows

    def _next_page(
        self, resource: str, asked: str, next_url: str | None, followed: set[str]
    ) -> str | None:
        """The next page to ask for: ``next``'s page parameters on the address we asked,
        each page once.

        The request carries the API key (HTTP Basic), so it only ever goes to our REST
        address, which is HTTPS (developer.octopus.energy/rest/guides/api-basics: "all API
        requests must be made over HTTPS"); a ``next`` written with another scheme or host
        still names the page. A ``next`` for another resource is not followed, and a link
        back to a page already read would go on until the budget is spent.
        """
        if next_url is None:
            return None
        try:
            link = httpx.URL(next_url)
        except httpx.InvalidURL:
            link = None
        ours = httpx.URL(asked)
        if link is None or link.path != ours.path:
            raise KrakenError(
                f"Kraken's {resource} answer points its next page at {_origin(next_url)}, "
                f"outside {ours.path}; the bridge does not follow it.",
                operation=resource,
            )
        page = str(ours.copy_with(query=link.query))
        if page in followed:
            raise KrakenError(
                f"Kraken's {resource} answer goes round in a circle (its next page is one it "
                "already gave); the bridge stops there.",
                operation=resource,
            )
        followed.add(page)
        return page

    async def _get_page(
        self, resource: str, url: str, params: Mapping[str, str] | None
    ) -> RatePage:
        payload = await self._get_json(resource, url, params)
        return parse_answer(RatePage, payload, operation=resource)

    async def _get_json(self, resource: str, url: str, params: Mapping[str, str] | None) -> Any:
        response = await self._request(resource, "GET", url, params=params, auth=self._rest_auth)
        if response.status_code >= 400:
            raise classify_http_status(
                resource,
                response.status_code,
                response.headers.get("Retry-After"),
                self._clock.now(),
            )
        payload = _json_or_none(response)
        if payload is None:
            raise KrakenUpstreamError(
                f"Kraken answered {resource} with something that is not JSON (a broken or "
                "cut-off answer); the bridge will try again.",
                operation=resource,
            )
        return payload


@dataclass(frozen=True)
class OctoplusStatus:
    """The account in Octoplus: enrolled or not, its OctoPoints, the wheel's spins left
    this month per fuel (None: Kraken did not say)."""

    enrolled: bool
    points: int | None
    electricity_spins: int | None
    gas_spins: int | None


@dataclass
class LiveAnswer:
    """One light transaction: each part is its answer, its failure, or None if not asked."""

    telemetry: list[TelemetryReading] | KrakenError | None = None
    devices: list[SmartFlexDevice] | KrakenError | None = None
    dispatches: dict[str, list[PlannedDispatch] | KrakenError] = field(default_factory=dict)
    # Devices listed whose own fields failed (their state is not to be trusted).
    device_errors: dict[str, KrakenError] = field(default_factory=dict)


def _octoplus_status(
    answer: dict[str, Any], failed: set[object], parts: dict[str, str]
) -> OctoplusStatus:
    """The Octoplus read's parts; a part Kraken failed (``failed``) is None."""
    info = parse_answer(
        OctoplusAccountInfo, answer.get("octoplusAccountInfo"), operation="octoplusAccountInfo"
    )
    points: int | None = None
    if "loyaltyPointLedgers" not in failed:
        ledgers = [
            parse_answer(LoyaltyPointLedgerEntry, entry, operation="loyaltyPointLedgers")
            for entry in answer.get("loyaltyPointLedgers") or []
            if entry is not None
        ]
        # The balance after the newest entry (no entry yet: no points yet).
        newest = max(ledgers, key=_posted, default=None)
        balance = newest.balance_carried_forward if newest else Decimal(0)
        points = int(balance) if balance is not None else None

    def spins(key: str) -> int | None:
        if key not in parts or key in failed or answer.get(key) is None:
            return None
        return parse_answer(WheelSpinsAllowed, answer[key], operation=parts[key]).spins_allowed

    return OctoplusStatus(
        enrolled=info.is_octoplus_enrolled,
        points=points,
        electricity_spins=spins("electricitySpins"),
        gas_spins=spins("gasSpins"),
    )


def _posted(entry: LoyaltyPointLedgerEntry) -> datetime:
    """An entry's time for finding the newest (an entry without one counts as oldest)."""
    return entry.posted_at or datetime.min.replace(tzinfo=UTC)


def parts_wanted(parts: dict[str, str], operation: str) -> int:
    return sum(1 for name in parts.values() if name == operation)


def _combined_device(key: str, combined: list[str]) -> str:
    return combined[0] if key == "dispatchesA" else combined[1]


def _budget_refusal(operation: str, refused_until: datetime) -> KrakenBudgetSpent:
    return KrakenBudgetSpent(
        f"The bridge's own budget for {operation} is spent; next request allowed at "
        f"{as_utc_z(refused_until)}.",
        operation=operation,
        retry_at=refused_until,
    )


def prefer_payment_method(rows: list[RateRow], preferred: str | None) -> list[RateRow]:
    """One row per period: ``preferred`` if Kraken has it, else the row without a method.

    Kraken lists a tariff's rates once per payment method (direct debit or not); rates
    that do not depend on it have ``payment_method: null``. ``None`` keeps every row.
    """
    if preferred is None:
        return rows

    def rank(row: RateRow) -> int:
        if row.payment_method == preferred:
            return 0
        return 1 if row.payment_method is None else 2

    best: dict[tuple[datetime, datetime | None], RateRow] = {}
    for row in rows:
        key = (row.valid_from, row.valid_to)
        if key not in best or rank(row) < rank(best[key]):
            best[key] = row
    return [row for row in rows if best[(row.valid_from, row.valid_to)] is row]


def check_preference_schedules(schedules: list[PreferenceSchedule]) -> None:
    """Kraken wants all seven days, each ready by 04:00-11:00 in 30-minute steps."""
    if sorted(day.day_of_week for day in schedules) != sorted(DAYS_OF_WEEK):
        raise ValueError("give one schedule for each of the seven days, MONDAY to SUNDAY")
    for day in schedules:
        if day.max_value is None:
            raise ValueError(f"{day.day_of_week}: give a target (max_value) for the day")
        ready_by = day.ready_by
        if (
            ready_by.tzinfo is not None  # schema, PreferencesScheduleInput.time: "HH:MM"
            or not READY_BY_EARLIEST <= ready_by <= READY_BY_LATEST
            or ready_by.minute % 30
            or (ready_by.second or ready_by.microsecond)
        ):
            raise ValueError(
                f"{day.day_of_week}: the ready-by time must be 04:00 to 11:00 in 30-minute "
                f"steps, without a time zone, not "
                f"{ready_by.isoformat(timespec='minutes')}"
            )


def _parsed_list(model: type[M], data: dict[str, Any], operation: str) -> list[M]:
    return [parse_answer(model, item, operation=operation) for item in data.get(operation) or []]


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, without whatever else it carries."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "an address that is not a URL"
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _transport() -> httpx.AsyncHTTPTransport:
    # httpx writes a request's headers and body separately; without TCP_NODELAY, Nagle's
    # algorithm holds the body back for the peer's delayed ACK (~40 ms a request).
    return httpx.AsyncHTTPTransport(
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)], retries=0
    )
