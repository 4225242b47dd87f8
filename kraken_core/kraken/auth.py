"""Kraken tokens: minted from the API key, renewed before expiry, one renewal at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kraken_core.clock import Clock
from kraken_core.kraken.errors import KrakenAuthError
from kraken_core.kraken.models import KrakenToken

TOKEN_LIFETIME = timedelta(minutes=60)
RENEW_BEFORE_EXPIRY = timedelta(minutes=5)

Mint = Callable[[dict[str, str]], Awaitable[KrakenToken]]


@dataclass
class _Held:
    token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(repr=False)
    refresh_expires_at: datetime | None


class TokenManager:
    """Holds the current Kraken token and renews it through ``mint``.

    ``mint`` sends ``obtainKrakenToken`` with the given input; the manager decides
    whether that input is the refresh token or the API key.
    """

    def __init__(self, api_key: str, mint: Mint, clock: Clock) -> None:
        if not api_key.strip():
            raise KrakenAuthError(
                "No Octopus API key is set. Find yours at octopus.energy/dashboard/new/"
                "accounts/personal-details/api-access and give it to the bridge.",
                operation="obtainKrakenToken",
            )
        self._api_key = api_key
        self._mint = mint
        self._clock = clock
        self._held: _Held | None = None
        self._lock = asyncio.Lock()
        self.renewals = 0

    def __repr__(self) -> str:
        return f"TokenManager(renewals={self.renewals}, held={self._held is not None})"

    async def token(self) -> str:
        """A token valid for a few more minutes, renewing it first if needed."""
        held = self._held
        if held is not None and self._fresh(held):
            return held.token
        async with self._lock:
            held = self._held
            if held is None or not self._fresh(held):
                held = await self._renew(held)
                self._held = held
            return held.token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Kraken refused it: expired, or forgotten after a restart) so
        the next call signs in again with the API key, not a refresh token that went with it."""
        if self._held is not None and self._held.token == token:
            self._held = None

    def _fresh(self, held: _Held) -> bool:
        return self._clock.now() < held.expires_at - RENEW_BEFORE_EXPIRY

    async def _renew(self, previous: _Held | None) -> _Held:
        now = self._clock.now()
        answer: KrakenToken | None = None
        if (
            previous is not None
            and previous.refresh_token is not None
            and previous.refresh_expires_at is not None
            and now < previous.refresh_expires_at
        ):
            try:
                answer = await self._mint({"refreshToken": previous.refresh_token})
            except KrakenAuthError:
                answer = None  # refused refresh: sign in again with the key
        if answer is None:
            answer = await self._mint({"APIKey": self._api_key})
        self.renewals += 1
        refresh_expires_at = (
            datetime.fromtimestamp(answer.refresh_expires_in, UTC)
            if answer.refresh_expires_in is not None
            else None
        )
        return _Held(
            token=answer.token,
            expires_at=now + TOKEN_LIFETIME,
            refresh_token=answer.refresh_token,
            refresh_expires_at=refresh_expires_at,
        )
