"""The Kraken client: every GraphQL and REST call goes through :meth:`KrakenClient._send`.

That one path applies the token, the request budget, timeouts, retries (only for
transient upstream failures) and error classification.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, TypeVar

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

from kraken_core import __version__
from kraken_core.engine.clock import Clock
from kraken_core.kraken.auth import TokenManager
from kraken_core.kraken.budget import BudgetLimit, RequestBudget
from kraken_core.kraken.documents import document
from kraken_core.kraken.errors import (
    KrakenAuthError,
    KrakenError,
    KrakenNoData,
    KrakenSchemaError,
    KrakenThrottled,
    KrakenUpstreamError,
)
from kraken_core.kraken.models import (
    Account,
    KrakenToken,
    PlannedDispatch,
    RatePage,
    RateRow,
    SmartFlexDevice,
    TelemetryReading,
    as_utc_z,
    parse_answer,
)

# gql logs whole request and answer bodies at DEBUG: those carry the API key and tokens.
logging.getLogger("gql.transport.httpx").setLevel(logging.WARNING)
logging.getLogger("gql.transport").setLevel(logging.WARNING)
logging.getLogger("httpx").setLevel(logging.WARNING)

OCTOPUS_GRAPHQL_URL = "https://api.octopus.energy/v1/graphql/"
OCTOPUS_REST_URL = "https://api.octopus.energy/v1/"
USER_AGENT = f"kraken-bridge-homey/{__version__}"

AUTH_CODES = frozenset(
    {"KT-CT-1111", "KT-CT-1112", "KT-CT-1134", "KT-CT-1135", "KT-CT-1139", "KT-CT-1143"}
)
EXPIRED_TOKEN = "KT-CT-1124"  # noqa: S105 (an error code, not a secret)
THROTTLE_CODES = frozenset({"KT-CT-1199", "KT-CT-1188", "KT-CT-1189", "KT-GB-4042"})
NO_DATA_CODES = frozenset({"KT-CT-4340"})
THROTTLE_PAUSE = timedelta(minutes=15)

T = TypeVar("T")


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
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 20.0,
        retry_attempts: int = 3,
        limits: dict[str, BudgetLimit] | None = None,
    ) -> None:
        self.account_number = account_number
        self._clock = clock
        self._rest_url = rest_url if rest_url.endswith("/") else rest_url + "/"
        self._timeout = httpx.Timeout(timeout_s)
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=self._timeout, headers={"User-Agent": USER_AGENT}, transport=_transport()
        )
        self._rest_auth = httpx.BasicAuth(api_key, "")
        self._gql = Client(
            transport=HTTPXAsyncTransport(
                url=graphql_url,
                timeout=self._timeout,
                headers={"User-Agent": USER_AGENT},
                transport=_transport(),
            ),
            fetch_schema_from_transport=False,
        )
        self._session: AsyncClientSession | None = None
        self._retry_attempts = retry_attempts
        self.budget = RequestBudget(clock, limits)
        self.tokens = TokenManager(api_key, self._mint, clock)
        self.request_counts: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"KrakenClient(account_number={self.account_number!r})"

    async def __aenter__(self) -> KrakenClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._gql.close_async()  # type: ignore[no-untyped-call]
            self._session = None
        if self._own_http:
            await self._http.aclose()

    # --- operations -------------------------------------------------------------------

    async def account(self) -> Account:
        data = await self._graphql("account", "account", {"accountNumber": self.account_number})
        if data.get("account") is None:
            raise KrakenAuthError(
                f"Kraken has no account {self.account_number} for this API key: check the "
                "account number (it looks like A-1234ABCD) and the key.",
                operation="account",
            )
        return parse_answer(Account, data["account"], operation="account")

    async def devices(self) -> list[SmartFlexDevice]:
        data = await self._graphql("devices", "devices", {"accountNumber": self.account_number})
        return [
            parse_answer(SmartFlexDevice, item, operation="devices")
            for item in data.get("devices") or []
        ]

    async def planned_dispatches(self, device_id: str) -> list[PlannedDispatch]:
        data = await self._graphql(
            "flexPlannedDispatches", "flex_planned_dispatches", {"deviceId": device_id}
        )
        return [
            parse_answer(PlannedDispatch, item, operation="flexPlannedDispatches")
            for item in data.get("flexPlannedDispatches") or []
        ]

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

    async def unit_rates(
        self, product_code: str, tariff_code: str, period_from: datetime, period_to: datetime
    ) -> list[RateRow]:
        return await self._rest_rows(
            "standard-unit-rates", product_code, tariff_code, period_from, period_to
        )

    async def standing_charges(
        self, product_code: str, tariff_code: str, period_from: datetime, period_to: datetime
    ) -> list[RateRow]:
        return await self._rest_rows(
            "standing-charges", product_code, tariff_code, period_from, period_to
        )

    # --- the one request path ------------------------------------------------------------

    async def _send(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        """Budget, retries for transient failures, and classification of one call."""
        async for attempt in stamina.retry_context(
            on=KrakenUpstreamError,
            attempts=self._retry_attempts,
            wait_initial=0.2,
            wait_max=2.0,
        ):
            with attempt:
                self._spend(operation)
                return await call()
        raise AssertionError("unreachable: stamina re-raises the last failure")

    def _spend(self, operation: str) -> None:
        """Count one request against the budget, or refuse it with the time it may run."""
        refused_until = self.budget.try_spend(operation)
        if refused_until is not None:
            raise KrakenThrottled(
                f"The bridge's own budget for {operation} is spent; next request allowed at "
                f"{as_utc_z(refused_until)}.",
                operation=operation,
                retry_at=refused_until,
            )
        self.request_counts[operation] += 1

    async def _graphql(
        self, operation: str, document_name: str, variables: dict[str, Any]
    ) -> dict[str, Any]:
        """Send one document with the current token; re-mint and replay once if expired."""
        token = await self.tokens.token()
        try:
            return await self._send(
                operation, lambda: self._post_graphql(operation, document_name, variables, token)
            )
        except KrakenAuthError as exc:
            if exc.code != EXPIRED_TOKEN:
                raise
        self.tokens.invalidate(token)
        token = await self.tokens.token()
        return await self._send(
            operation, lambda: self._post_graphql(operation, document_name, variables, token)
        )

    async def _mint(self, token_input: dict[str, str]) -> KrakenToken:
        data = await self._send(
            "obtainKrakenToken",
            lambda: self._post_graphql(
                "obtainKrakenToken", "obtain_kraken_token", {"input": token_input}, None
            ),
        )
        return parse_answer(
            KrakenToken, data.get("obtainKrakenToken"), operation="obtainKrakenToken"
        )

    async def _post_graphql(
        self, operation: str, document_name: str, variables: dict[str, Any], token: str | None
    ) -> dict[str, Any]:
        headers = {"Authorization": token} if token is not None else {}
        request = GraphQLRequest(document(document_name), variable_values=variables)
        try:
            if self._session is None:
                self._session = await self._gql.connect_async()  # type: ignore[no-untyped-call]
            result = await self._session.execute(request, extra_args={"headers": headers})
        except TransportQueryError as exc:
            raise classify_graphql_errors(operation, exc.errors or [], self._clock.now()) from None
        except TransportServerError as exc:
            raise classify_http_status(operation, exc.code or 0, None, self._clock.now()) from None
        except TransportProtocolError:
            raise KrakenUpstreamError(
                f"Kraken answered {operation} with something that is not GraphQL JSON.",
                operation=operation,
            ) from None
        except TransportConnectionFailed as exc:
            raise KrakenUpstreamError(
                f"Could not reach Kraken for {operation}: {type(exc.__cause__).__name__ or 'error'}"
                " (network down or Kraken slow).",
                operation=operation,
            ) from None
        if not isinstance(result, dict):
            raise KrakenSchemaError(
                f"Kraken's answer to {operation} has no data.", operation=operation
            )
        return result

    async def _rest_rows(
        self,
        resource: str,
        product_code: str,
        tariff_code: str,
        period_from: datetime,
        period_to: datetime,
    ) -> list[RateRow]:
        url: str | None = (
            f"{self._rest_url}products/{product_code}/electricity-tariffs/{tariff_code}/{resource}/"
        )
        params: Mapping[str, str] | None = {
            "period_from": as_utc_z(period_from),
            "period_to": as_utc_z(period_to),
            "page_size": "1500",
        }
        rows: list[RateRow] = []
        while url is not None:
            page = await self._send(resource, partial(self._get_page, resource, url, params))
            rows.extend(page.results)
            url, params = page.next, None
        return rows

    async def _get_page(
        self, resource: str, url: str, params: Mapping[str, str] | None
    ) -> RatePage:
        try:
            response = await self._http.get(
                url, params=params, auth=self._rest_auth, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise KrakenUpstreamError(
                f"Could not reach Kraken for {resource}: {type(exc).__name__} "
                "(network down or Kraken slow).",
                operation=resource,
            ) from None
        if response.status_code >= 400:
            raise classify_http_status(
                resource,
                response.status_code,
                response.headers.get("Retry-After"),
                self._clock.now(),
            )
        try:
            payload = response.json()
        except ValueError:
            raise KrakenUpstreamError(
                f"Kraken answered {resource} with something that is not JSON.", operation=resource
            ) from None
        return parse_answer(RatePage, payload, operation=resource)


def _transport() -> httpx.AsyncHTTPTransport:
    # httpx writes a request's headers and body separately; without TCP_NODELAY, Nagle's
    # algorithm holds the body back for the peer's delayed ACK (~40 ms a request).
    return httpx.AsyncHTTPTransport(
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)], retries=0
    )


def classify_graphql_errors(
    operation: str, errors: list[dict[str, Any]], now: datetime
) -> KrakenError:
    """Map Kraken's ``errors[].extensions.errorCode`` onto the exception tree."""
    first = errors[0] if errors else {}
    extensions = first.get("extensions") or {}
    code = extensions.get("errorCode")
    message = str(first.get("message") or "unknown error")
    if code in AUTH_CODES or code == EXPIRED_TOKEN:
        return KrakenAuthError(
            f"Kraken refused the credentials ({code}: {message}). Check the Octopus API key "
            "given to the bridge; a new one can be made in your Octopus account's "
            "personal details.",
            operation=operation,
            code=code,
        )
    if code in THROTTLE_CODES:
        return KrakenThrottled(
            f"Kraken asked the bridge to slow down on {operation} ({code}); it will try again "
            "later.",
            operation=operation,
            code=code,
            retry_at=now + THROTTLE_PAUSE,
        )
    if code in NO_DATA_CODES:
        return KrakenNoData(
            f"Kraken has no {operation} to give right now ({code}); keeping what is known.",
            operation=operation,
            code=code,
        )
    if code is None and "Cannot query field" in message:
        return KrakenSchemaError(
            f"Kraken no longer knows a field the bridge asks for in {operation}: {message}",
            operation=operation,
        )
    return KrakenError(
        f"Kraken refused {operation}" + (f" ({code})" if code else "") + f": {message}",
        operation=operation,
        code=code,
    )


def classify_http_status(
    operation: str, status: int, retry_after: str | None, now: datetime
) -> KrakenError:
    if status in (401, 403):
        return KrakenAuthError(
            f"Kraken refused the credentials for {operation} (HTTP {status}). Check the Octopus "
            "API key given to the bridge.",
            operation=operation,
            code=str(status),
        )
    if status == 429:
        return KrakenThrottled(
            f"Kraken asked the bridge to slow down on {operation} (HTTP 429).",
            operation=operation,
            code="429",
            retry_at=_retry_at(retry_after, now),
        )
    if status == 404:
        return KrakenError(
            f"Kraken does not know this {operation} resource (HTTP 404): check the product "
            "and tariff codes.",
            operation=operation,
            code="404",
        )
    if status >= 500:
        return KrakenUpstreamError(
            f"Kraken failed answering {operation} (HTTP {status}).",
            operation=operation,
            code=str(status),
        )
    return KrakenError(
        f"Kraken refused {operation} (HTTP {status}).", operation=operation, code=str(status)
    )


def _retry_at(retry_after: str | None, now: datetime) -> datetime:
    if retry_after:
        if retry_after.strip().isdigit():
            return now + timedelta(seconds=int(retry_after.strip()))
        try:
            return parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            pass
    return now + THROTTLE_PAUSE
