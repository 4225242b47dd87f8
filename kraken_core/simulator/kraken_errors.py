"""Kraken-shaped GraphQL errors: ``errors[].extensions.errorCode`` and friends.

Kraken answers a failed field with HTTP 200, ``data.<field>: null`` and an error whose
``extensions`` carry ``errorType``, ``errorCode``, ``errorDescription`` and
``errorClass``. Clients classify by ``errorCode``.
"""

from __future__ import annotations

from typing import NamedTuple

from graphql import GraphQLError


class _Known(NamedTuple):
    message: str
    description: str
    error_class: str


_KNOWN: dict[str, _Known] = {
    "KT-CT-1111": _Known("Unauthorized.", "Invalid token.", "AUTHORIZATION"),
    "KT-CT-1112": _Known(
        "'Authorization' header not provided.",
        "Please make sure the 'Authorization' header is provided with a valid token.",
        "AUTHORIZATION",
    ),
    "KT-CT-1124": _Known(
        "Signature of the JWT has expired.", "Token has expired.", "AUTHORIZATION"
    ),
    "KT-CT-1134": _Known("Invalid data.", "Refresh token is invalid.", "VALIDATION"),
    "KT-CT-1135": _Known("Invalid data.", "Authentication failed.", "VALIDATION"),
    "KT-CT-1139": _Known("Authentication failed.", "Authentication failed.", "VALIDATION"),
    "KT-CT-1188": _Known(
        "Query complexity limit exceeded.", "Query complexity limit exceeded.", "THROTTLING"
    ),
    "KT-CT-1189": _Known("Too many nodes requested.", "Too many nodes requested.", "THROTTLING"),
    "KT-CT-1199": _Known(
        "Too many requests.",
        "You have exceeded the request limit. Please try again later.",
        "THROTTLING",
    ),
    "KT-CT-4177": _Known(
        "Unauthorized.", "You are not authorized to access this account.", "AUTHORIZATION"
    ),
    "KT-CT-4301": _Known(
        "Unable to find device for given account.",
        "No device with that ID is registered to the account.",
        "NOT_FOUND",
    ),
    # Device changes: the "possible errors" the schema lists for updateDeviceSmartControl
    # and setDevicePreferences, with the schema's wording.
    "KT-CT-4321": _Known(
        "Serializer validation error.", "The device preferences are not valid.", "VALIDATION"
    ),
    "KT-CT-4358": _Known(
        "Unable to suspend device control.",
        "Smart control of this device cannot be suspended now.",
        "APPLICATION",
    ),
    "KT-CT-4359": _Known(
        "Unable to resume device control.",
        "Smart control of this device cannot be resumed now.",
        "APPLICATION",
    ),
    "KT-CT-4374": _Known(
        "An error occurred while trying to set your device preferences.",
        "The device preferences could not be set.",
        "APPLICATION",
    ),
    "KT-CT-4340": _Known(
        "Unable to fetch planned dispatches.",
        "Planned dispatches are temporarily unavailable.",
        "APPLICATION",
    ),
    "KT-CT-4357": _Known(
        "Unable to boost charge.",
        "The device cannot boost charge now; see boostChargeRefusalReasons.",
        "APPLICATION",
    ),
    "KT-GB-4040": _Known(
        "'start', 'end', and 'grouping' must all be provided.",
        "Give all of start, end and grouping, or none of them for the latest reading.",
        "VALIDATION",
    ),
    "KT-GB-4041": _Known(
        "'end' should be later than 'start'.", "'end' should be later than 'start'.", "VALIDATION"
    ),
    "KT-GB-4042": _Known(
        "Too many requests. Please wait before trying again.",
        "Too many telemetry requests.",
        "THROTTLING",
    ),
    # Octoplus refusals: Octopus publishes no codes for these; KT-GB-5117 is the one
    # public clients report for an account that cannot join a saving session, and
    # KT-GB-9203 is the simulator's own for a wheel spin refused.
    "KT-GB-5117": _Known(
        "Unable to join the saving session.",
        "The account cannot join this saving session.",
        "APPLICATION",
    ),
    "KT-GB-9203": _Known(
        "Unable to spin the wheel.", "No spin of the wheel of fortune is left.", "APPLICATION"
    ),
    "KT-GB-4050": _Known(
        "Smart meter not found.", "No smart meter with that device ID.", "NOT_FOUND"
    ),
}


def kraken_error(code: str, message: str | None = None, **extra: object) -> GraphQLError:
    """A GraphQL error that Kraken would send for ``code`` (message overridable).

    ``extra`` goes into ``extensions`` beside the code (e.g. boostChargeRefusalReasons).
    """
    known = _KNOWN.get(code)
    error_class = known.error_class if known else "APPLICATION"
    default_message = known.message if known else f"Simulated Kraken error {code}."
    return GraphQLError(
        message or default_message,
        extensions={
            "errorType": error_class,
            "errorCode": code,
            "errorDescription": known.description if known else (message or default_message),
            "errorClass": error_class,
            **extra,
        },
    )
