"""``kraken-bridge doctor``: checks the key, the account, the Home Mini and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime

import httpx

from kraken_core.clock import Clock
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.errors import KrakenError
from kraken_core.kraken.models import Account

CLOCK_TOLERANCE = timedelta(seconds=60)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


async def run_doctor(
    *,
    api_key: str | None,
    key_source: str,
    account_number: str | None,
    graphql_url: str,
    rest_url: str,
    clock: Clock,
) -> list[Check]:
    checks = [await _check_clock(graphql_url, clock)]
    if not api_key:
        checks.append(
            Check(
                "API key",
                False,
                "not set: put your Octopus API key in KRAKEN_BRIDGE_API_KEY, in a file named by "
                "KRAKEN_BRIDGE_API_KEY_FILE, or in a credential called kraken_bridge_api_key",
            )
        )
        return checks
    if not account_number:
        checks.append(
            Check(
                "Account",
                False,
                "KRAKEN_BRIDGE_ACCOUNT_NUMBER is not set (it looks like A-1234ABCD, top of "
                "your Octopus dashboard)",
            )
        )
        return checks
    async with KrakenClient(
        api_key=api_key,
        account_number=account_number,
        clock=clock,
        graphql_url=graphql_url,
        rest_url=rest_url,
        retry_attempts=1,
    ) as client:
        try:
            await client.tokens.token()
        except KrakenError as exc:
            checks.append(Check("API key", False, str(exc)))
            return checks
        checks.append(Check("API key", True, f"accepted by Kraken (from {key_source})"))
        try:
            account = await client.account()
        except KrakenError as exc:
            checks.append(
                Check(
                    "Account",
                    False,
                    f"{account_number} cannot be read with this key ({exc}); check the "
                    "number at the top of your Octopus dashboard",
                )
            )
            return checks
        checks.append(_account_check(account_number, account))
        checks.append(await _home_mini_check(client, account))
    return checks


def _account_check(account_number: str, account: Account) -> Check:
    agreements = account.electricity_agreements
    if not agreements:
        return Check(
            "Account",
            False,
            f"{account_number} has no active electricity agreement: the bridge has no tariff "
            "to show",
        )
    tariffs = ", ".join(
        f"{a.meter_point.direction or 'IMPORT'} {a.tariff.tariff_code}"
        for a in agreements
        if a.tariff is not None
    )
    return Check("Account", True, f"{account_number}: {tariffs}")


async def _home_mini_check(client: KrakenClient, account: Account) -> Check:
    device_ids = [
        meter.smart_import_meter.device_id
        for agreement in account.electricity_agreements
        for meter in agreement.meter_point.meters
        if meter.smart_import_meter is not None and meter.smart_import_meter.device_id
    ]
    if not device_ids:
        return Check(
            "Home Mini",
            False,
            "no Octopus Home Mini on this account: tariffs and dispatches work, but there is "
            "no live power or meter reading for Homey Energy",
        )
    try:
        readings = await client.telemetry(device_ids[0])
    except KrakenError as exc:
        return Check("Home Mini", False, f"{device_ids[0]} does not answer: {exc}")
    if not readings:
        return Check(
            "Home Mini",
            False,
            f"{device_ids[0]} has sent no reading: check it is plugged in and paired",
        )
    latest = max(readings, key=lambda r: r.read_at)
    return Check(
        "Home Mini",
        True,
        f"{device_ids[0]} last read {latest.read_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z, "
        f"{latest.demand_w} W",
    )


async def _check_clock(url: str, clock: Clock) -> Check:
    """Compare this machine's clock with the Date header of Kraken's answer."""
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(url)
    except httpx.HTTPError as exc:
        return Check("Network", False, f"cannot reach {url}: {type(exc).__name__}")
    header = response.headers.get("Date")
    if header is None:
        return Check("Clock", True, "Kraken sent no Date header; not checked")
    server = parsedate_to_datetime(header)
    skew = clock.now() - server
    if abs(skew) > CLOCK_TOLERANCE:
        return Check(
            "Clock",
            False,
            f"this machine's clock is {skew.total_seconds():+.0f} s off Kraken's: half-hour "
            "prices would change at the wrong moment; enable NTP time sync",
        )
    return Check("Clock", True, f"within {abs(skew.total_seconds()):.0f} s of Kraken's")
