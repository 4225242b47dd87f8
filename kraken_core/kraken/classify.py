"""Kraken's failures sorted into the exception tree, with messages a person can act on.

GraphQL failures are classified by ``errors[].extensions.errorCode`` (Kraken answers
them with HTTP 200); HTTP statuses by their class. Nothing here sees the API key or a
token, so no message can carry one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from kraken_core.kraken.errors import (
    KrakenActionRefused,
    KrakenAuthError,
    KrakenError,
    KrakenNoData,
    KrakenSchemaError,
    KrakenThrottled,
    KrakenUpstreamError,
)
from kraken_core.kraken.models import as_utc_z

AUTH_CODES = frozenset(
    {"KT-CT-1111", "KT-CT-1112", "KT-CT-1134", "KT-CT-1135", "KT-CT-1139", "KT-CT-1143"}
)
EXPIRED_TOKEN = "KT-CT-1124"  # noqa: S105 (an error code, not a secret)
# Which auth codes mean what (../shared/kraken/README.md, "Transport and auth", and the
# schema's lists of "possible errors"): every query that needs the header can answer
# KT-CT-1111 "Unauthorized"/"Invalid token" (Kraken forgot the token, e.g. after a restart)
# or KT-CT-1112 (no header), KT-CT-1124 is an expired token; only obtainKrakenToken
# answers KT-CT-1134/1135 (refresh token or key refused) and KT-CT-1139 (a wrong key).
# So an auth failure on a request made with a token is first a stale token (the client
# signs in once and replays), while one from minting is the key, and ends there.
THROTTLE_CODES = frozenset({"KT-CT-1199", "KT-CT-1188", "KT-CT-1189", "KT-GB-4042"})
NO_DATA_CODES = frozenset({"KT-CT-4340"})
#: Telemetry the Home Mini could not give just now: KT-GB-4039 (unable to query) and
#: KT-GB-4043 (network error) are temporary, retried later, the hole kept to fill
#: (../shared/kraken/README.md, "Smart meter telemetry").
TEMPORARY_CODES = frozenset({"KT-GB-4039", "KT-GB-4043"})
BOOST_REFUSED = "KT-CT-4357"
#: Kraken saying no to a change of a device's smart control or charge target: the
#: "possible errors" the schema lists for updateDeviceSmartControl (KT-CT-4313, 4314,
#: 4358 "Unable to suspend device control.", 4359 "Unable to resume device control.",
#: 4387) and setDevicePreferences (KT-CT-4314, 4321 "Serializer validation error.",
#: 4374 "An error occurred while trying to set your device preferences.").
DEVICE_CHANGE_REFUSED: dict[str, frozenset[str]] = {
    "updateDeviceSmartControl": frozenset(
        {"KT-CT-4313", "KT-CT-4314", "KT-CT-4358", "KT-CT-4359", "KT-CT-4387"}
    ),
    "setDevicePreferences": frozenset({"KT-CT-4314", "KT-CT-4321", "KT-CT-4374"}),
}
DEVICE_CHANGE_WORDS = {
    "updateDeviceSmartControl": "the change to smart charging",
    "setDevicePreferences": "the charge target",
}
#: Octoplus changes Octopus may turn down (../shared/kraken/README.md, "Octoplus and saving
#: sessions": joining after a session's start is refused; a spin needs a spin left). Their
#: refusal codes are not published, so any error with a code on these (other than the
#: auth, throttling and temporary codes above) is a refusal, told in Kraken's own words.
OCTOPLUS_CHANGES: dict[str, str] = {
    "joinSavingSessionsEvent": "join the saving session",
    "spinWheelOfFortune": "spin the wheel",
}
#: How long to leave Kraken alone after a throttle that does not say when to come back.
THROTTLE_PAUSE = timedelta(minutes=15)

CHECK_KEY = (
    "Check the Octopus API key given to the bridge; a new one can be made in your Octopus "
    "account's personal details (octopus.energy/dashboard/new/accounts/personal-details/"
    "api-access)."
)

#: Kraken's ``boostChargeRefusalReasons`` in words.
BOOST_REFUSAL_TEXT: dict[str, str] = {
    "BC_DEVICE_NOT_YET_LIVE": "the device has not finished setting up with Octopus yet",
    "BC_DEVICE_RETIRED": "the device has been removed from smart charging",
    "BC_DEVICE_SUSPENDED": "smart charging is suspended for the device; turn it back on first",
    "BC_DEVICE_DISCONNECTED": "the car is not plugged in (or the charger is offline)",
    "BC_DEVICE_NOT_AT_HOME": "the car is not at home",
    "BC_BOOST_CHARGE_IN_PROGRESS": "a boost charge is already running",
    "BC_DEVICE_FULLY_CHARGED": "the car is already fully charged",
}

_UNKNOWN_FIELD = re.compile(
    r"Cannot query field ['\"](?P<field>\w+)['\"] on type ['\"](?P<type>\w+)"
)


def classify_graphql_errors(
    operation: str, errors: list[dict[str, Any]], now: datetime
) -> KrakenError:
    """Map Kraken's ``errors[]`` (the first one decides) onto the exception tree."""
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    extensions = first.get("extensions") or {}
    code = extensions.get("errorCode") if isinstance(extensions, dict) else None
    message = str(first.get("message") or "unknown error")
    if code in AUTH_CODES or code == EXPIRED_TOKEN:
        return KrakenAuthError(
            f"Kraken refused the credentials ({code}: {message}). {CHECK_KEY}",
            operation=operation,
            code=code,
        )
    if code in THROTTLE_CODES:
        return KrakenThrottled(
            f"Kraken asked the bridge to slow down on {operation} ({code}: {message}); it "
            f"will try again after {as_utc_z(now + THROTTLE_PAUSE)}.",
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
    if code in TEMPORARY_CODES:
        return KrakenUpstreamError(
            f"Kraken could not answer {operation} just now ({code}: {message}); the bridge "
            "will try again.",
            operation=operation,
            code=code,
        )
    if code == BOOST_REFUSED:
        return _boost_refused(operation, extensions, message)
    if (refused := _change_refused(operation, code, message)) is not None:
        return refused
    if code is None and (unknown := _UNKNOWN_FIELD.search(message)):
        return KrakenSchemaError(
            f"Kraken no longer has the field {unknown['type']}.{unknown['field']} that the "
            f"bridge asks for in {operation}. The bridge needs an update for this Kraken "
            "version.",
            operation=operation,
        )
    return KrakenError(
        f"Kraken refused {operation}" + (f" ({code})" if code else "") + f": {message}",
        operation=operation,
        code=code,
    )


def token_refused_in(
    operation: str, errors: list[dict[str, Any]], now: datetime
) -> KrakenAuthError | None:
    """The auth failure among ``errors`` of a request made with a token, if any.

    A token Kraken no longer takes fails every field of a request, so one such error
    means the whole request is to be sent again with a new token."""
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("errorCode") if isinstance(extensions, dict) else None
        if code in AUTH_CODES or code == EXPIRED_TOKEN:
            refused = classify_graphql_errors(operation, [error], now)
            assert isinstance(refused, KrakenAuthError)
            return refused
    return None


def refused_with_a_new_token(refused: KrakenAuthError) -> KrakenAuthError:
    """Kraken turned a request away again right after the bridge signed in anew: no
    longer a stale token, so the person has to act."""
    operation = refused.operation or "a request"
    code = refused.code or "no error code"
    if code.isdigit():
        code = f"HTTP {code}"
    return KrakenAuthError(
        f"Kraken refused {operation} ({code}) even with a token the bridge had just "
        "signed in for with the API key: the key may have been revoked or lost access to "
        f"the account. {CHECK_KEY}",
        operation=refused.operation,
        code=refused.code,
    )


def _change_refused(operation: str, code: str | None, message: str) -> KrakenError | None:
    """A change to a device or to Octoplus that Octopus turned down, in Kraken's own
    sentence (the person reads why), or None."""
    if code in DEVICE_CHANGE_REFUSED.get(operation, ()):
        return KrakenActionRefused(
            f"Octopus refused {DEVICE_CHANGE_WORDS[operation]}: {message.rstrip('.')}.",
            operation=operation,
            code=code,
        )
    if code is not None and operation in OCTOPLUS_CHANGES:
        return KrakenActionRefused(
            f"Octopus refused to {OCTOPLUS_CHANGES[operation]}: {message.rstrip('.')} ({code}).",
            operation=operation,
            code=code,
            reasons=(code,),
        )
    return None


def _boost_refused(operation: str, extensions: dict[str, Any], message: str) -> KrakenError:
    raw = extensions.get("boostChargeRefusalReasons") or []
    reasons = tuple(str(reason) for reason in raw) if isinstance(raw, list) else ()
    said = [BOOST_REFUSAL_TEXT.get(reason, reason.replace("_", " ").lower()) for reason in reasons]
    because = "; ".join(said) if said else message
    return KrakenActionRefused(
        f"Octopus refused the boost: {because}.",
        operation=operation,
        code=BOOST_REFUSED,
        reasons=reasons,
    )


def classify_http_status(
    operation: str, status: int, retry_after: str | None, now: datetime
) -> KrakenError:
    """Map an HTTP failure status onto the exception tree."""
    if status in (401, 403):
        return KrakenAuthError(
            f"Kraken refused the credentials for {operation} (HTTP {status}). {CHECK_KEY}",
            operation=operation,
            code=str(status),
        )
    if status == 429:
        retry_at = retry_at_from_header(retry_after, now)
        return KrakenThrottled(
            f"Kraken asked the bridge to slow down on {operation} (HTTP 429); it will try "
            f"again after {as_utc_z(retry_at)}.",
            operation=operation,
            code="429",
            retry_at=retry_at,
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
            f"Kraken failed answering {operation} (HTTP {status}); Kraken is having trouble, "
            "the bridge will try again.",
            operation=operation,
            code=str(status),
        )
    return KrakenError(
        f"Kraken refused {operation} (HTTP {status}).", operation=operation, code=str(status)
    )


def retry_at_from_header(retry_after: str | None, now: datetime) -> datetime:
    """When a ``Retry-After`` header (seconds or an HTTP date) allows the next request.

    Always UTC-aware and never before ``now``: a date already past means "now".
    """
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return now + timedelta(seconds=int(value))
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return now + THROTTLE_PAUSE
        # An HTTP date is always GMT (RFC 9110, 5.6.7), but email.utils reads a "-0000"
        # zone as unknown and answers a naive time.
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(when.astimezone(UTC), now)
    return now + THROTTLE_PAUSE
