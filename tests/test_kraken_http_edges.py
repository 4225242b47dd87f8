"""KrakenClient on HTTP answers the simulator cannot give, served by respx.

The simulator is a well-behaved Kraken; these are what sits between it and us going
wrong: a proxy's HTML page, a connection cut in the middle of an answer, a rates page
whose ``next`` link leads elsewhere or in a circle, a 429 whose ``Retry-After`` is an
HTTP date. respx replaces httpcore's connection pool, so it answers both the REST
client and the httpx client that gql's transport makes for GraphQL. The hosts are
``.invalid`` (RFC 2606: never resolves), and every test counts the requests its routes
answered, so a request respx did not serve cannot pass unnoticed.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpcore
import httpx
import pytest
import respx

from kraken_core.clock import SimulatedClock
from kraken_core.kraken.client import KrakenClient, RetryPolicy
from kraken_core.kraken.errors import KrakenError, KrakenThrottled, KrakenUpstreamError

API_KEY = "sk_live_respx_edge_key_0123456789"
TOKEN = "respx-token-must-not-leak"
REFRESH_TOKEN = "respx-refresh-token-must-not-leak"
ACCOUNT = "A-1234ABCD"
GRAPHQL = "https://kraken.invalid/v1/graphql/"
REST = "https://kraken.invalid/v1/"
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PRODUCT, TARIFF = "AGILE-24-10-01", "E-1R-AGILE-24-10-01-C"
RATES = f"{REST}products/{PRODUCT}/electricity-tariffs/{TARIFF}/standard-unit-rates/"
RETRY = RetryPolicy(attempts=3, wait_initial_s=1.0, wait_max_s=4.0, wait_jitter_s=0.5)
SECRETS = (API_KEY, TOKEN, REFRESH_TOKEN, base64.b64encode(f"{API_KEY}:".encode()).decode())
#: What a misconfigured proxy's error page may show: the request, headers and all.
PROXY_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    f"<h1>Bad Gateway</h1><pre>Authorization: {TOKEN}\nX-Api-Key: {API_KEY}</pre>"
    "<hr>nginx</body></html>"
)
DEVICE = {
    "id": "respx-device-1",
    "deviceType": "ELECTRIC_VEHICLES",
    "provider": "TESLA",
    "status": {"current": "LIVE", "currentState": "SMART_CONTROL_CAPABLE", "isSuspended": False},
    "preferences": None,
    "make": "Tesla",
    "model": "Model 3",
}


def rate_row(start: datetime, value_inc_vat: float) -> dict[str, object]:
    return {
        "value_exc_vat": round(value_inc_vat / 1.05, 4),
        "value_inc_vat": value_inc_vat,
        "valid_from": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valid_to": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "payment_method": None,
    }


def rates_page(next_url: str | None, *rows: dict[str, object]) -> httpx.Response:
    return httpx.Response(
        200, json={"count": len(rows), "next": next_url, "previous": None, "results": list(rows)}
    )


class GraphQLKraken:
    """respx side effect for the GraphQL endpoint: mints tokens, hands the rest to ``answer``.

    Records each document's operation name and the ``Authorization`` header it came with.
    """

    def __init__(self, answer: Callable[[], httpx.Response]) -> None:
        self.answer = answer
        self.sent: list[tuple[str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)["query"]
        found = re.search(r"\b(?:query|mutation)\s+(\w+)", query)
        name = found[1] if found else "?"
        self.sent.append((name, request.headers.get("Authorization")))
        if name == "ObtainKrakenToken":
            refresh_expires = int((START + timedelta(days=7)).timestamp())
            token = {"token": TOKEN, "refreshToken": REFRESH_TOKEN}
            return httpx.Response(
                200,
                json={
                    "data": {"obtainKrakenToken": {**token, "refreshExpiresIn": refresh_expires}}
                },
            )
        return self.answer()

    def operations(self, name: str) -> int:
        return sum(1 for sent, _ in self.sent if sent == name)


class BrokenStream(httpx.AsyncByteStream):
    """A body that starts to arrive and then the peer resets the connection."""

    def __init__(self, first_part: bytes) -> None:
        self.first_part = first_part

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first_part
        # What httpcore raises when the socket is reset mid-body; httpx maps it.
        raise httpcore.ReadError("[Errno 104] Connection reset by peer")


@pytest.fixture
def kraken() -> Iterator[respx.MockRouter]:
    """Every request must match a route; each test counts what its routes answered."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@asynccontextmanager
async def kraken_client() -> AsyncIterator[KrakenClient]:
    async with KrakenClient(
        api_key=API_KEY,
        account_number=ACCOUNT,
        clock=SimulatedClock(START),
        graphql_url=GRAPHQL,
        rest_url=REST,
        retry=RETRY,
        rng=random.Random(7),  # noqa: S311 (jitter, not security)
    ) as client:
        yield client


async def unit_rates(client: KrakenClient) -> object:
    return await client.unit_rates(PRODUCT, TARIFF, START, START + timedelta(hours=1))


def assert_nothing_secret(failure: BaseException) -> None:
    shown = f"{failure!s} {failure!r}"
    for secret in SECRETS:
        assert secret not in shown
    assert "<html" not in shown.lower()  # and not the proxy's page either


# --- respx really stands in for Kraken on both paths ----------------------------------------


async def test_respx_answers_graphql_through_gql_and_rest_through_the_rest_client(
    kraken: respx.MockRouter,
) -> None:
    graphql = GraphQLKraken(lambda: httpx.Response(200, json={"data": {"devices": [DEVICE]}}))
    kraken.post(GRAPHQL).mock(side_effect=graphql)
    rest = kraken.get(RATES).mock(return_value=rates_page(None, rate_row(START, 23.45)))

    async with kraken_client() as client:
        devices = await client.devices()
        rows = await client.unit_rates(PRODUCT, TARIFF, START, START + timedelta(hours=1))

    # Data only respx knows came back on each path: the requests never left the process.
    assert [(d.id, d.make) for d in devices] == [("respx-device-1", "Tesla")]
    assert [r.value_inc_vat for r in rows] == [23.45]
    assert graphql.sent == [("ObtainKrakenToken", None), ("Devices", TOKEN)]
    (call,) = rest.calls
    assert call.request.headers["Authorization"] == "Basic " + SECRETS[3]
    assert call.request.url.params["period_from"] == "2026-03-10T12:00:00Z"


# --- a proxy in the way ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "graphql_words", "rest_words"),
    [
        (200, "not GraphQL JSON", "not JSON"),
        (502, "HTTP 502", "HTTP 502"),
    ],
    ids=["html-200", "html-502"],
)
async def test_a_proxy_html_page_is_an_upstream_error_retried_only_as_the_policy_allows(
    kraken: respx.MockRouter, status: int, graphql_words: str, rest_words: str
) -> None:
    page = httpx.Response(status, text=PROXY_PAGE, headers={"Content-Type": "text/html"})
    graphql = GraphQLKraken(lambda: page)
    kraken.post(GRAPHQL).mock(side_effect=graphql)
    rest = kraken.get(url__startswith=RATES).mock(return_value=page)

    async with kraken_client() as client:
        with pytest.raises(KrakenUpstreamError) as on_graphql:
            await client.devices()
        with pytest.raises(KrakenUpstreamError) as on_rest:
            await unit_rates(client)
        retries = dict(client.retries)

    assert "devices" in str(on_graphql.value)
    assert graphql_words in str(on_graphql.value)
    assert "standard-unit-rates" in str(on_rest.value)
    assert rest_words in str(on_rest.value)
    assert "will try again" in str(on_rest.value)
    assert graphql.operations("Devices") == RETRY.attempts  # one try and two retries
    assert graphql.operations("ObtainKrakenToken") == 1  # a 502 is not an auth failure
    assert rest.call_count == RETRY.attempts
    assert retries == {"devices": 2, "standard-unit-rates": 2}
    assert_nothing_secret(on_graphql.value)
    assert_nothing_secret(on_rest.value)


# --- a connection reset halfway through an answer --------------------------------------------


async def test_a_graphql_answer_cut_by_a_reset_is_retried_and_the_retry_succeeds(
    kraken: respx.MockRouter,
) -> None:
    answers = iter(
        [
            httpx.Response(200, stream=BrokenStream(b'{"data": {"devices": [{"id": "respx-')),
            httpx.Response(200, json={"data": {"devices": [DEVICE]}}),
        ]
    )
    graphql = GraphQLKraken(lambda: next(answers))
    kraken.post(GRAPHQL).mock(side_effect=graphql)

    async with kraken_client() as client:
        devices = await client.devices()
        retries = client.retries["devices"]

    # gql's session outlives the broken connection: the retry goes out and is read.
    assert [d.id for d in devices] == ["respx-device-1"]
    assert graphql.operations("Devices") == 2
    assert retries == 1


async def test_a_rates_answer_cut_by_a_reset_every_time_is_reported_after_the_retries(
    kraken: respx.MockRouter,
) -> None:
    rest = kraken.get(url__startswith=RATES).mock(
        side_effect=lambda request: httpx.Response(
            200, stream=BrokenStream(b'{"count": 48, "next": null, "results": [{"value_')
        )
    )

    async with kraken_client() as client:
        with pytest.raises(KrakenUpstreamError) as cut:
            await unit_rates(client)

    assert str(cut.value) == (
        "The connection to Kraken broke during standard-unit-rates (ReadError); "
        "the bridge will try again."
    )
    assert rest.call_count == RETRY.attempts
    assert_nothing_secret(cut.value)


# --- where a rates page's next link leads ----------------------------------------------------


async def test_a_next_link_to_another_resource_is_not_followed_with_the_api_key(
    kraken: respx.MockRouter,
) -> None:
    next_url = "https://rates.elsewhere.invalid/v1/page/2/"
    first = kraken.get(url__startswith=RATES).mock(
        return_value=rates_page(next_url, rate_row(START, 20.0))
    )
    elsewhere = kraken.get(next_url).mock(return_value=rates_page(None, rate_row(START, 1.0)))

    async with kraken_client() as client:
        with pytest.raises(KrakenError) as refused:
            await unit_rates(client)

    assert type(refused.value) is KrakenError  # not transient: not retried either
    assert "points its next page at https://rates.elsewhere.invalid, outside /v1/" in str(
        refused.value
    )
    assert first.call_count == 1
    assert elsewhere.call_count == 0  # the key never went there
    assert_nothing_secret(refused.value)


@pytest.mark.parametrize(
    "next_url",
    [RATES.replace("https://", "http://") + "?page=2", RATES.replace("kraken.", "k2.") + "?page=2"],
    ids=["plain-http", "other-host"],
)
async def test_a_next_page_is_read_from_kraken_over_https_whatever_the_link_says(
    kraken: respx.MockRouter, next_url: str
) -> None:
    """A proxy that forgets it serves HTTPS writes http:// links: the page is still ours."""
    elsewhere = kraken.get(url__startswith=next_url.split("?")[0]).mock(
        return_value=rates_page(None, rate_row(START, 1.0))
    )
    ours = kraken.get(url__startswith=RATES).mock(
        side_effect=lambda request: rates_page(
            None if request.url.params.get("page") == "2" else next_url,
            rate_row(START + timedelta(minutes=30 * int(request.url.params.get("page", 1))), 20.0),
        )
    )

    async with kraken_client() as client:
        rows = await client.unit_rates(PRODUCT, TARIFF, START, START + timedelta(hours=2))

    assert ours.call_count == 2  # both pages over https from Kraken's own address
    assert elsewhere.call_count == 0
    assert [row.valid_from for row in rows] == [
        START + timedelta(minutes=30),
        START + timedelta(minutes=60),
    ]


async def test_next_links_that_go_round_in_a_circle_stop_at_the_first_repeat(
    kraken: respx.MockRouter,
) -> None:
    page_2, page_3 = RATES + "?page=2", RATES + "?page=3"
    by_page = {
        "": rates_page(page_2, rate_row(START, 20.0)),
        "2": rates_page(page_3, rate_row(START + timedelta(minutes=30), 21.0)),
        "3": rates_page(page_2, rate_row(START + timedelta(minutes=60), 22.0)),  # back to 2
    }
    pages = kraken.get(url__startswith=RATES).mock(
        side_effect=lambda request: by_page[request.url.params.get("page", "")]
    )

    async with kraken_client() as client:
        with pytest.raises(KrakenError) as circle:
            await unit_rates(client)
        spent = client.request_counts["standard-unit-rates"]

    assert type(circle.value) is KrakenError
    assert "next page is one it already gave" in str(circle.value)
    assert pages.call_count == 3  # pages 1, 2 and 3, not until the budget runs out
    assert spent == 3


# --- a 429 whose Retry-After is an HTTP date ------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "retry_at"),
    [
        ("Tue, 10 Mar 2026 12:05:00 GMT", START + timedelta(minutes=5)),
        # email.utils reads "-0000" as "zone unknown" and gives a naive time; HTTP dates
        # are always GMT (RFC 9110, 5.6.7).
        ("Tue, 10 Mar 2026 12:05:00 -0000", START + timedelta(minutes=5)),
        # A date already past (clocks apart): the earliest is now, never before.
        ("Tue, 10 Mar 2026 11:58:00 GMT", START),
    ],
    ids=["gmt", "minus-zero", "already-past"],
)
async def test_a_429_with_an_http_date_says_when_in_utc_and_is_not_retried(
    kraken: respx.MockRouter, retry_after: str, retry_at: datetime
) -> None:
    slow_down = httpx.Response(429, text="Too Many Requests", headers={"Retry-After": retry_after})
    graphql = GraphQLKraken(lambda: slow_down)
    kraken.post(GRAPHQL).mock(side_effect=graphql)
    rest = kraken.get(url__startswith=RATES).mock(return_value=slow_down)

    async with kraken_client() as client:
        with pytest.raises(KrakenThrottled) as on_graphql:
            await client.planned_dispatches("respx-device-1")
        with pytest.raises(KrakenThrottled) as on_rest:
            await unit_rates(client)

    for throttled in (on_graphql.value, on_rest.value):
        assert throttled.retry_at == retry_at
        assert throttled.retry_at.tzinfo is not None
        assert throttled.retry_at.utcoffset() == timedelta(0)
        assert f"try again after {retry_at:%Y-%m-%dT%H:%M:%SZ}" in str(throttled)
        assert_nothing_secret(throttled)
    assert "slow down on flexPlannedDispatches (HTTP 429)" in str(on_graphql.value)
    assert graphql.operations("FlexPlannedDispatches") == 1
    assert rest.call_count == 1


# --- products: which rates a tariff has, and where they are -------------------------------

E7_PRODUCT, E7_TARIFF = "VAR-22-11-01", "E-2R-VAR-22-11-01-C"
E7_BASE = f"{REST}products/{E7_PRODUCT}/electricity-tariffs/{E7_TARIFF}/"


def e7_product(host: str = "https://api.octopus.energy") -> dict[str, object]:
    """A dual-register product as Octopus writes it: links on its own public host."""
    base = f"{host}/v1/products/{E7_PRODUCT}/electricity-tariffs/{E7_TARIFF}/"
    return {
        "code": E7_PRODUCT,
        "full_name": "Flexible Octopus",
        "tariffs_active_at": "2026-03-10T12:00:00Z",
        "single_register_electricity_tariffs": {},
        "dual_register_electricity_tariffs": {
            "_C": {
                "direct_debit_monthly": {
                    "code": E7_TARIFF,
                    "standing_charge_inc_vat": 49.6,
                    "links": [
                        {"href": f"{base}{rel.replace('_', '-')}/", "method": "get", "rel": rel}
                        for rel in ("day_unit_rates", "night_unit_rates", "standing_charges")
                    ],
                },
                "varying": None,
            }
        },
        "single_register_gas_tariffs": {},
    }


async def test_a_product_says_which_register_group_and_links_a_tariff_has(
    kraken: respx.MockRouter,
) -> None:
    product = kraken.get(f"{REST}products/{E7_PRODUCT}/").mock(
        return_value=httpx.Response(200, json=e7_product())
    )
    night = kraken.get(url__startswith=f"{E7_BASE}night-unit-rates/").mock(
        return_value=rates_page(None, rate_row(START, 13.1))
    )

    async with kraken_client() as client:
        found = (await client.product(E7_PRODUCT)).find(E7_TARIFF)
        assert found is not None
        group, entry = found
        link = entry.link("night_unit_rates")
        assert link is not None
        rows = await client.linked_rates(link, START, START + timedelta(hours=1))

    assert group == "dual_register_electricity_tariffs"
    assert entry.link("standard_unit_rates") is None  # never asked for an E7 tariff
    assert [row.value_inc_vat for row in rows] == [13.1]
    assert product.call_count == 1
    # The link named api.octopus.energy: its path was asked on the bridge's own address.
    (call,) = night.calls
    assert call.request.url.host == "kraken.invalid"
    assert call.request.url.params["period_from"] == "2026-03-10T12:00:00Z"


async def test_a_product_link_outside_the_rate_addresses_is_not_followed(
    kraken: respx.MockRouter,
) -> None:
    odd = e7_product()
    entry = odd["dual_register_electricity_tariffs"]["_C"]["direct_debit_monthly"]  # type: ignore[index]
    entry["links"][0]["href"] = "https://evil.invalid/steal/day-unit-rates/"
    kraken.get(f"{REST}products/{E7_PRODUCT}/").mock(return_value=httpx.Response(200, json=odd))
    anywhere = kraken.get(url__regex=r".*unit-rates.*").mock(return_value=rates_page(None))

    async with kraken_client() as client:
        found = (await client.product(E7_PRODUCT)).find(E7_TARIFF)
        assert found is not None
        link = found[1].link("day_unit_rates")
        assert link is not None
        with pytest.raises(KrakenError) as refused:
            await client.linked_rates(link, START, START + timedelta(hours=1))

    assert "does not follow it" in str(refused.value)
    assert anywhere.call_count == 0
    assert_nothing_secret(refused.value)
