"""The bridge page at ``/``: a login form, the page itself, its static files, and the two
JSON views it draws (a day's slots and dispatch, and efficiency day by day or month by
month). Prices come from the domain's :func:`day_prices`, as the tariff devices' do."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from kraken_core.bridge.params import bad_request, parse_day
from kraken_core.bridge.session import (
    COOKIE_MAX_AGE_S,
    COOKIE_NAME,
    cookie_authorizes,
    session_value,
    token_matches,
)
from kraken_core.domain.dispatch import dispatches_honoured, intersect_windows
from kraken_core.domain.product import is_four_rate_ev
from kraken_core.domain.tariff import DispatchWindow, day_prices
from kraken_core.domain.timeline import (
    LONDON,
    SLOT,
    half_hour_rates,
    local_day,
    local_day_bounds,
    slot_start,
)
from kraken_core.engine.events import to_json_value
from kraken_core.engine.history import HistoryQueries
from kraken_core.engine.poller import UNIT_RATES, Engine, MeterPoint

HERE = Path(__file__).parent
STATIC = HERE / "static"
PAGES = HERE / "pages"
SERIES_DAYS = 30
SERIES_MONTHS = 12
MAX_LOGIN_BODY = 4096
# The page loads nothing from elsewhere; saying so lets the browser enforce it.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
STATE_WORDS = {
    "SMART_CONTROL_NOT_AVAILABLE": "unplugged",
    "SMART_CONTROL_OFF": "smart control is off",
    "LOST_CONNECTION": "lost connection",
    "RETIRED": "removed from the account",
}


@dataclass(frozen=True)
class Band:
    """A dispatch window as the page draws it."""

    device_id: str
    device_name: str
    start: datetime
    end: datetime
    type: str
    counted: bool
    reason: str | None = None


def include_web_routes(app: FastAPI, engine: Engine, token: str) -> None:
    """The page, its login and its JSON views; API routes use ``app.state.authorized``."""
    authorized = app.state.authorized
    history = HistoryQueries(engine.store, engine.clock)
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
    async def get_timeline(date_: Annotated[str | None, Query(alias="date")] = None) -> Any:
        """A London day's slots (import price, quadrant, export price) and dispatch."""
        now = engine.clock.now()
        day = local_day(now) if date_ is None else parse_day(date_, "date")
        return timeline(engine, day, now)

    @app.get("/api/v1/stats/series", dependencies=authorized)
    async def get_stats_series(by: str = "day", to: str | None = None) -> dict[str, Any]:
        """Efficiency of each of the 30 days, or of each of the 12 months, up to ``to``."""
        if by not in ("day", "month"):
            raise bad_request(f"by={by!r} is not known: use day or month")
        last = history.today() if to is None else parse_day(to, "to")
        if by == "day":
            firsts = [last - timedelta(days=n) for n in reversed(range(SERIES_DAYS))]
        else:
            firsts = [_months_back(last, n) for n in reversed(range(SERIES_MONTHS))]
        rows = []
        for first in firsts:
            stats = await history.stats("day" if by == "day" else "month", first)
            label = first.strftime("%d %b") if by == "day" else first.strftime("%b %Y")
            rows.append({"label": label, **stats})
        savings = [row["saving_p"] for row in rows if row["saving_p"] is not None]
        return {
            "by": by,
            "from": rows[0]["from"],
            "to": rows[-1]["to"],
            "rows": rows,
            "import_kwh": round(sum(row["import_kwh"] for row in rows), 3),
            "saving_p": round(sum(savings), 1) if savings else None,
        }


def timeline(engine: Engine, day: date, now: datetime) -> dict[str, Any]:
    """What the page draws for ``day``: every slot, and the dispatch windows touching it."""
    start, end = local_day_bounds(day)
    import_point = _point(engine, "IMPORT")
    export_point = _point(engine, "EXPORT")
    four_rate = import_point is not None and is_four_rate_ev(
        import_point.tariff_code, engine.settings.four_rate_ev
    )
    import_slots = day_prices(
        _day_rates(engine, import_point, start, end),
        day,
        engine.counted_dispatches(),  # as the import tariff device prices its slots
        four_rate_ev=four_rate,
    )
    export_rates = _day_rates(engine, export_point, start, end)
    current = slot_start(now)
    slots = [
        {
            "start": to_json_value(slot.start),
            "end": to_json_value(slot.start + SLOT),
            "label": slot.start.astimezone(LONDON).strftime("%H:%M"),
            "tariff_rate": slot.price.tariff_rate if slot.price else None,
            "unit_rate": slot.price.effective_rate if slot.price else None,
            "price_quadrant": slot.price_quadrant,
            "rate_source": slot.price.source.value if slot.price else None,
            "export_rate": export_rates.get(slot.start),
        }
        for slot in import_slots
    ]
    known = [s["unit_rate"] for s in slots if s["unit_rate"] is not None]
    return {
        "date": day.isoformat(),
        "now": to_json_value(now),
        "current_slot": to_json_value(current) if start <= current < end else None,
        "start": to_json_value(start),
        "end": to_json_value(end),
        "import_device_id": import_point.device_id if import_point else None,
        "export_device_id": export_point.device_id if export_point else None,
        "tariff_code": import_point.tariff_code if import_point else None,
        "prices_published": bool(slots) and len(known) == len(slots),
        "min_unit_rate": min(known, default=None),
        "max_unit_rate": max(known, default=None),
        "slots": slots,
        "dispatches": [
            to_json_value(band)
            for band in dispatch_bands(engine)
            if band.start < end and band.end > start
        ],
    }


def dispatch_bands(engine: Engine) -> list[Band]:
    """Every dispatch the engine knows, counted or not and why: counted windows per
    device (what ran and what is planned while the state honours it), SMART past the
    allowance, and what Kraken lists for a device whose state ignores it."""
    billable_smart = [w for w in engine.counted_dispatches() if w.type == "SMART"]
    ledger = engine.dispatch_ledger
    bands: list[Band] = []
    for device_id in sorted(set(engine.smart_devices) | set(ledger.elapsed)):
        record = engine.hub.devices.get(f"smart_energy_device.{device_id}")
        name = record.name if record else device_id
        device = engine.smart_devices.get(device_id)
        state = device.status.current_state if device else None
        if device is not None and not dispatches_honoured(state):
            why = STATE_WORDS.get(state or "", (state or "unknown state").lower())
            bands += [
                Band(
                    device_id,
                    name,
                    d.start,
                    d.end,
                    d.type,
                    counted=False,
                    reason=f"{why} ({state}): Kraken lists it, but it does not count",
                )
                for d in engine.planned.get(device_id, [])
            ]
        for window in ledger.device_windows(device_id):
            if window.type != "SMART":
                bands.append(Band(device_id, name, window.start, window.end, window.type, True))
                continue
            billable = intersect_windows([window], billable_smart)
            bands += [Band(device_id, name, w.start, w.end, w.type, True) for w in billable]
            bands += [
                Band(
                    device_id,
                    name,
                    w.start,
                    w.end,
                    w.type,
                    counted=False,
                    reason="past the day's smart-charging allowance: billed at the tariff rate",
                )
                for w in _outside(window, billable)
            ]
    return sorted(bands, key=lambda band: (band.start, band.counted))


def _outside(window: DispatchWindow, parts: list[DispatchWindow]) -> list[DispatchWindow]:
    """The pieces of ``window`` that no window of ``parts`` (sorted, disjoint) covers."""
    pieces, cursor = [], window.start
    for part in parts:
        if part.start > cursor:
            pieces.append(DispatchWindow(cursor, min(part.start, window.end), window.type))
        cursor = max(cursor, part.end)
    if cursor < window.end:
        pieces.append(DispatchWindow(cursor, window.end, window.type))
    return pieces


def _point(engine: Engine, direction: str) -> MeterPoint | None:
    return next((p for p in engine.meter_points if p.direction == direction), None)


def _day_rates(
    engine: Engine, point: MeterPoint | None, start: datetime, end: datetime
) -> dict[datetime, float]:
    if point is None:
        return {}
    rates = engine.rates.get((point.tariff_code, UNIT_RATES))
    return half_hour_rates(rates.rows, start, end) if rates else {}


def _months_back(day: date, months: int) -> date:
    """First day of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
