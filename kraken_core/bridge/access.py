"""Who may ask what, decided from the request line and headers alone.

Both run as ASGI middleware, before any route: a request without the token is refused
before a byte of its body is read, so a large upload cannot cost memory, and a
malformed body without the token gets 401, not a 422 that reveals the route's model.
"""

from __future__ import annotations

import secrets

from fastapi import status
from fastapi.responses import JSONResponse
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    SimpleUser,
)
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kraken_core.bridge.session import COOKIE_NAME, Sessions

# The health check and the page's own way in; everything else (including /openapi.json
# and paths that do not exist) needs the token or, for reading, the page's cookie.
PUBLIC_PATHS = frozenset({"/api/v1/health", "/", "/login", "/logout"})
PUBLIC_PREFIXES = ("/static/",)
REFUSAL = (
    "Missing or wrong bridge token: send 'Authorization: Bearer <token>' "
    "with the token the bridge printed at start (kraken-bridge token shows it)."
)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def bearer_matches(authorization: str, token: str) -> bool:
    """``Bearer <token>``, the scheme in any case (RFC 9110: schemes are case-insensitive)."""
    scheme, _, credentials = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        credentials.strip().encode(), token.encode()
    )


class TokenOrSession(AuthenticationBackend):
    """The Bearer header; or, without one, the page's session cookie for reading.

    A query-string token is never looked at: it would end up in logs and histories."""

    def __init__(self, token: str, sessions: Sessions) -> None:
        self._token = token
        self._sessions = sessions

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        if is_public(conn.scope["path"]):
            return None
        authorization = conn.headers.get("authorization")
        if authorization is not None:
            if bearer_matches(authorization, self._token):
                return AuthCredentials(["read", "act"]), SimpleUser("bearer")
        elif self._sessions.reads(conn.cookies.get(COOKIE_NAME), conn.scope["method"]):
            return AuthCredentials(["read"]), SimpleUser("page")
        raise AuthenticationError(REFUSAL)


def refuse(_: HTTPConnection, exc: AuthenticationError) -> Response:
    return JSONResponse(
        {"detail": str(exc)},
        status_code=status.HTTP_401_UNAUTHORIZED,
        headers={"WWW-Authenticate": "Bearer"},
    )


class HeadAsGet:
    """HEAD wherever GET is: the GET route answers, the body is left out.

    The response ends right after its headers, so an event stream asked with HEAD ends
    too (the app then sees the client as gone and stops its stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def headers_only(message: Message) -> None:
            nonlocal ended
            if ended or message["type"] != "http.response.start":
                return
            await send(message)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            ended = True

        await self.app({**scope, "method": "GET"}, receive, headers_only)
