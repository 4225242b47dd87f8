"""The bridge page at ``/``: a login form, the page itself, its static files, and the two
JSON views it draws (a day's slots and dispatch, and efficiency day by day or month by
month), both read models of the backend."""

from __future__ import annotations

import html
from pathlib import Path
from string import Template
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from kraken_core.api import answers
from kraken_core.api.models import StatsSeries, Timeline
from kraken_core.bridge.deps import BackendDep, sessions_of, token_of
from kraken_core.bridge.session import COOKIE_MAX_AGE_S, COOKIE_NAME, token_matches

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


LOGIN_PAGE = Template((PAGES / "login.html").read_text(encoding="utf-8"))
BRIDGE_PAGE = (PAGES / "index.html").read_text(encoding="utf-8")

page_routes = APIRouter(include_in_schema=False)
view_routes = APIRouter()


def include_web_routes(app: FastAPI) -> None:
    """The page, its login, its static files and the JSON views it draws."""
    app.include_router(page_routes)
    app.include_router(view_routes)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def login_form(error: str = "", code: int = 200) -> HTMLResponse:
    message = (
        f'<p class="error" role="alert">{html.escape(error, quote=False)}</p>' if error else ""
    )
    return HTMLResponse(
        LOGIN_PAGE.substitute(error=message), status_code=code, headers=PAGE_HEADERS
    )


@page_routes.get("/")
async def page(request: Request) -> Response:
    """The page for a logged-in browser, else the login form (never any data)."""
    if sessions_of(request).valid(request.cookies.get(COOKIE_NAME)):
        return HTMLResponse(BRIDGE_PAGE, headers=PAGE_HEADERS)
    return login_form()


@page_routes.post("/login")
async def login(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_LOGIN_BODY:
        return login_form("That is far too long to be a bridge token.", 413)
    token = token_of(request)
    given = parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]
    if not token_matches(given, token):
        return login_form(
            "That is not this bridge's token: the command kraken-bridge token prints it.", 401
        )
    answer = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    answer.set_cookie(
        COOKIE_NAME,
        sessions_of(request).start(),
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer


@page_routes.post("/logout")
async def logout(request: Request) -> Response:
    """Ends the session for good: a copy of the cookie stops working too."""
    sessions_of(request).end(request.cookies.get(COOKIE_NAME))
    answer = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    answer.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return answer


@view_routes.get("/api/v1/timeline")
async def get_timeline(
    backend: BackendDep, date_: Annotated[str | None, Query(alias="date")] = None
) -> Timeline:
    """A London day's slots (import price, quadrant, export price) and dispatch."""
    return answers.timeline(backend, date_)


@view_routes.get("/api/v1/stats/series")
async def get_stats_series(
    backend: BackendDep, by: str = "day", to: str | None = None
) -> StatsSeries:
    """Efficiency of each of the 30 days, or of each of the 12 months, up to ``to``."""
    return await answers.stats_series(backend, by, to)
