"""The bridge page at ``/``: a login form, the page itself, its static files, and the two
JSON views it draws (a day's slots and dispatch, and efficiency day by day or month by
month), both read models of the backend."""

from __future__ import annotations

import html
from pathlib import Path
from string import Template
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import FastAPI, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from kraken_core.api.backend import Backend
from kraken_core.api.models import StatsSeries, Timeline
from kraken_core.bridge.params import bad_request, parse_day
from kraken_core.bridge.session import (
    COOKIE_MAX_AGE_S,
    COOKIE_NAME,
    cookie_authorizes,
    session_value,
    token_matches,
)

HERE = Path(__file__).parent
STATIC = HERE / "static"
PAGES = HERE / "pages"
MAX_LOGIN_BODY = 4096
# The page loads nothing from elsewhere; saying so lets the browser enforce it.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def include_web_routes(app: FastAPI, backend: Backend, token: str) -> None:
    """The page, its login and its JSON views; API routes use ``app.state.authorized``."""
    authorized = app.state.authorized
    login_page = Template((PAGES / "login.html").read_text(encoding="utf-8"))
    bridge_page = (PAGES / "index.html").read_text(encoding="utf-8")

    def login_form(error: str = "", code: int = 200) -> HTMLResponse:
        message = (
            f'<p class="error" role="alert">{html.escape(error, quote=False)}</p>' if error else ""
        )
        return HTMLResponse(
            login_page.substitute(error=message), status_code=code, headers=PAGE_HEADERS
        )

    @app.get("/", include_in_schema=False)
    async def page(request: Request) -> Response:
        """The page for a logged-in browser, else the login form (never any data)."""
        if cookie_authorizes(request.cookies.get(COOKIE_NAME), "GET", token):
            return HTMLResponse(bridge_page, headers=PAGE_HEADERS)
        return login_form()

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_LOGIN_BODY:
            return login_form("That is far too long to be a bridge token.", 413)
        given = parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]
        if not token_matches(given, token):
            return login_form(
                "That is not this bridge's token: the command kraken-bridge token prints it.", 401
            )
        answer = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
        answer.set_cookie(
            COOKIE_NAME,
            session_value(token),
            max_age=COOKIE_MAX_AGE_S,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer

    @app.post("/logout", include_in_schema=False)
    async def logout() -> Response:
        answer = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
        answer.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
        return answer

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/v1/timeline", dependencies=authorized)
    async def get_timeline(date_: Annotated[str | None, Query(alias="date")] = None) -> Timeline:
        """A London day's slots (import price, quadrant, export price) and dispatch."""
        day = backend.today() if date_ is None else parse_day(date_, "date")
        return backend.timeline(day)

    @app.get("/api/v1/stats/series", dependencies=authorized)
    async def get_stats_series(by: str = "day", to: str | None = None) -> StatsSeries:
        """Efficiency of each of the 30 days, or of each of the 12 months, up to ``to``."""
        if by not in ("day", "month"):
            raise bad_request(f"by={by!r} is not known: use day or month")
        last = backend.today() if to is None else parse_day(to, "to")
        return await backend.stats_series("day" if by == "day" else "month", last)
