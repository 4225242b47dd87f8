"""One small exception tree for everything that can go wrong talking to Kraken.

Messages are written for the person who has to act on them and never contain the API
key or a token.
"""

from __future__ import annotations

from datetime import datetime


class KrakenError(Exception):
    """Base of every Kraken failure; ``operation`` is the root field or REST resource."""

    def __init__(self, message: str, *, operation: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.code = code

    def __str__(self) -> str:
        return self.message


class KrakenAuthError(KrakenError):
    """The API key (or the token minted from it) was refused."""


class KrakenThrottled(KrakenError):
    """Kraken asked us to slow down; ``retry_at`` says when to try again, if known."""

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        code: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        super().__init__(message, operation=operation, code=code)
        self.retry_at = retry_at


class KrakenBudgetSpent(KrakenThrottled):
    """The bridge's own request budget held a request back: nothing reached Kraken."""


class KrakenNoData(KrakenError):
    """A temporary "nothing to give you now" (KT-CT-4340): keep what is cached."""


class KrakenUpstreamError(KrakenError):
    """Kraken failed: a 5xx, a timeout, a connection error or a body that is not JSON.

    These are the only failures worth retrying at once.
    """


class KrakenSchemaError(KrakenError):
    """Kraken's answer no longer has the shape our documents expect (a field moved)."""


class KrakenActionRefused(KrakenError):
    """Kraken understood a request to change something and said no, with reasons.

    A boost refused with KT-CT-4357 carries Kraken's ``boostChargeRefusalReasons``
    (e.g. ``BC_DEVICE_DISCONNECTED``); the message says each in words a person can act on.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        code: str | None = None,
        reasons: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, operation=operation, code=code)
        self.reasons = reasons
