"""The bridge page in a real headless Chromium against the real bridge.

Scenario ``iog_page_boost_dispatch_unplugged.json`` (a GMT day, so UTC is London time):
the Tesla boosts 18:00-18:45 and has a SMART dispatch 19:00-20:00 (counted: those two
slots cost the 7p off-peak rate), the MG4 is unplugged at 18:01 while Kraken still lists
its 21:00-22:00 dispatch (not counted). The bridge runs at 10x, so the current slot stays
18:00-18:30 for three real minutes. A year of IOG history is written into the bridge's
database first, for the efficiency view.

Screenshots go to ``test-artifacts/`` (gitignored). Without Chromium these tests skip,
except under ``CI=true``, where they fail: CI installs Debian's ``chromium``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kraken_core.domain.efficiency import SlotEnergy, price_slot
from kraken_core.domain.timeline import SLOT, day_slots, local_day
from kraken_core.store.db import Store
from kraken_core.store.history import HistoryStore, SlotPrices
from tests.helpers.bridge_process import REPO, SCENARIOS, RunningBridge, running_bridge
from tests.helpers.browser import CHROMIUM_ARGS, Page, chromium, sync_playwright

SCENARIO = str(SCENARIOS / "iog_page_boost_dispatch_unplugged.json")
ARTIFACTS = REPO / "test-artifacts"
DAY = "2026-03-10"
NOW_SLOT = "2026-03-10T18:00:00Z"
Q0_GREEN, Q3_RED = "rgb(26, 152, 80)", "rgb(215, 48, 39)"


@contextmanager
def browser_page(width: int = 1000, height: int = 900) -> Iterator[Page]:
    """A page in a fresh Chromium profile; console errors fail the test."""
    executable = chromium()
    errors: list[str] = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            yield page
        finally:
            context.close()
    assert errors == []


def log_in(page: Page, bridge: RunningBridge) -> None:
    page.goto(f"{bridge.url}/")
    page.fill("#token", bridge.token)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)


def seed_history(data_dir: Path, last_day: datetime) -> None:
    """A year of IOG half-hours before ``last_day``: a 300 W home, and a car charging
    overnight (7 kW, 00:00-03:00) on three nights of four, one evening in seven."""
    rates_of = {0: 7.0, 1: 24.5}

    def rate(slot: datetime) -> float:
        minutes = slot.hour * 60 + slot.minute
        return rates_of[0] if minutes >= 23 * 60 + 30 or minutes < 5 * 60 + 30 else rates_of[1]

    energy: dict[datetime, SlotEnergy] = {}
    prices: dict[datetime, SlotPrices] = {}
    first = local_day(last_day) - timedelta(days=365)
    for offset in range(365):
        day = first + timedelta(days=offset)
        slots = day_slots(day)
        day_rates = {slot: rate(slot) for slot in slots}
        for slot in slots:
            local = slot.hour + slot.minute / 60
            car = (offset % 4 != 0 and local < 3) or (offset % 7 == 0 and 18 <= local < 19)
            energy[slot] = SlotEnergy(150.0 + (3500.0 if car else 0.0), 0.0, SLOT.total_seconds())
            prices[slot] = SlotPrices(price_slot(day_rates, slot), 15.0)

    async def write() -> None:
        store = await Store.open(data_dir / "demo" / "history.sqlite3")
        try:
            await HistoryStore(store).write_poll(
                samples=[],
                demand_w={},
                energy=energy,
                prices=prices,
                dispatches=[],
                seen_at=last_day,
                keep_readings_from=last_day,
            )
        finally:
            await store.close()

    (data_dir / "demo").mkdir(parents=True, exist_ok=True)
    asyncio.run(write())


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBridge]:
    data_dir = tmp_path_factory.mktemp("page")
    seed_history(data_dir, datetime(2026, 3, 10, tzinfo=UTC))
    with running_bridge("--demo", "--scenario", SCENARIO, "--speed", "10", data_dir=data_dir) as b:
        yield b


def timeline(bridge: RunningBridge, day: str = DAY) -> dict[str, Any]:
    answer = httpx.get(
        f"{bridge.url}/api/v1/timeline", params={"date": day}, headers=bridge.headers
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_for_unplugged_dispatch(bridge: RunningBridge) -> dict[str, Any]:
    """The MG4's unplugging is seen at the first state poll after 18:01 (seconds at 10x)."""
    for _ in range(150):
        body = timeline(bridge)
        if any(not band["counted"] for band in body["dispatches"]):
            return body
        time.sleep(0.2)
    raise AssertionError(f"the unplugged MG4's dispatch never showed: {body['dispatches']}")


# --- the JSON the page draws ------------------------------------------------------------


def test_timeline_prices_every_slot_and_says_which_dispatch_counts(bridge: RunningBridge) -> None:
    body = wait_for_unplugged_dispatch(bridge)
    assert body["date"] == DAY
    assert body["current_slot"] == NOW_SLOT
    slots = {slot["label"]: slot for slot in body["slots"]}
    assert len(body["slots"]) == 48
    assert slots["19:00"] == {
        "start": "2026-03-10T19:00:00Z",
        "end": "2026-03-10T19:30:00Z",
        "label": "19:00",
        "tariff_rate": 24.5,
        "unit_rate": 7.0,
        "price_quadrant": 0,
        "rate_source": "smart_dispatch",
        "export_rate": 15.0,
    }
    assert slots["18:00"]["rate_source"] == "boost"
    assert slots["18:00"]["unit_rate"] == 24.5
    assert slots["21:00"]["rate_source"] == "tariff"
    assert slots["21:00"]["price_quadrant"] == 3
    # The page's current slot agrees with the import tariff device.
    device = httpx.get(
        f"{bridge.url}/api/v1/devices/{body['import_device_id']}", headers=bridge.headers
    ).json()["state"]
    current = slots[device["slot_start"][11:16]]
    assert (current["unit_rate"], current["price_quadrant"], current["rate_source"]) == (
        device["unit_rate"],
        device["price_quadrant"],
        device["rate_source"],
    )
    bands = [
        (b["device_name"], b["start"][11:16], b["end"][11:16], b["type"], b["counted"])
        for b in body["dispatches"]
    ]
    assert bands == [
        ("Tesla Model 3", "18:00", "18:45", "BOOST", True),
        ("Tesla Model 3", "19:00", "20:00", "SMART", True),
        ("MG MG4", "21:00", "22:00", "SMART", False),
    ]
    assert "SMART_CONTROL_NOT_AVAILABLE" in body["dispatches"][2]["reason"]
    tomorrow = timeline(bridge, "2026-03-11")
    assert tomorrow["current_slot"] is None
    assert tomorrow["prices_published"]
    assert [(b["start"], b["end"]) for b in tomorrow["dispatches"]] == [
        ("2026-03-11T00:00:00Z", "2026-03-11T03:00:00Z")
    ]


def test_stats_series_has_a_row_per_day_and_per_month(bridge: RunningBridge) -> None:
    url = f"{bridge.url}/api/v1/stats/series"
    days = httpx.get(url, params={"by": "day", "to": "2026-03-09"}, headers=bridge.headers).json()
    assert [days["from"], days["to"], len(days["rows"])] == ["2026-02-08", "2026-03-09", 30]
    assert days["rows"][-1]["import_kwh"] > 0
    assert days["saving_p"] > 0
    months = httpx.get(url, params={"by": "month"}, headers=bridge.headers).json()
    assert [months["from"], months["to"], len(months["rows"])] == ["2025-04-01", "2026-03-31", 12]
    assert [row["label"] for row in months["rows"][:2]] == ["Apr 2025", "May 2025"]
    for bad in ({"by": "week"}, {"to": "10/03/2026"}, {"to": "0001-01-01"}):
        answer = httpx.get(url, params=bad, headers=bridge.headers)
        assert answer.status_code == 400, bad
    assert httpx.get(url).status_code == 401


# --- login and the cookie -----------------------------------------------------------------


def test_without_login_the_page_is_a_form_and_the_cookie_only_reads(
    bridge: RunningBridge,
) -> None:
    front = httpx.get(f"{bridge.url}/")
    assert front.status_code == 200
    assert 'name="token"' in front.text
    assert "import_tariff" not in front.text
    assert "page.js" not in front.text
    assert "default-src 'self'" in front.headers["content-security-policy"]
    wrong = httpx.post(f"{bridge.url}/login", data={"token": "not-the-token-at-all"})
    assert wrong.status_code == 401
    assert "not this bridge's token" in wrong.text
    assert "set-cookie" not in wrong.headers
    right = httpx.post(f"{bridge.url}/login", data={"token": bridge.token})
    assert right.status_code == 303
    assert right.headers["location"] == "/"
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert bridge.token not in cookie
    session = right.cookies["kraken_bridge_session"]
    with httpx.Client(base_url=bridge.url, cookies={"kraken_bridge_session": session}) as browser:
        assert "page.js" in browser.get("/").text
        assert browser.get("/api/v1/devices").status_code == 200
        assert browser.get("/api/v1/timeline").status_code == 200
        # Changing anything still needs the token itself.
        action = "/api/v1/devices/smart_energy_device.dev-tesla/actions/refresh_dispatches"
        assert browser.post(action, json={}).status_code == 401
        assert browser.put("/api/v1/settings", json={}).status_code == 401
        # A wrong Bearer header is not rescued by a good cookie.
        wrong_header = {"Authorization": "Bearer not-the-token-at-all"}
        assert browser.get("/api/v1/devices", headers=wrong_header).status_code == 401
        out = browser.post("/logout")
        assert out.status_code == 303
        assert 'kraken_bridge_session=""' in out.headers["set-cookie"]
    # Logging out ends the session itself: a copy of the cookie no longer reads.
    copied = httpx.get(f"{bridge.url}/api/v1/devices", cookies={"kraken_bridge_session": session})
    assert copied.status_code == 401
    forged = httpx.get(f"{bridge.url}/api/v1/devices", cookies={"kraken_bridge_session": "0" * 64})
    assert forged.status_code == 401
    assert httpx.get(f"{bridge.url}/static/page.js").status_code == 200


# --- in Chromium ---------------------------------------------------------------------------


GEOMETRY = """chart => {
  const box = (node) => node && { x: node.getBBox().x, w: node.getBBox().width };
  const bar = (start) => box(chart.querySelector(`rect.bar[data-start="${start}"]`));
  return {
    marker: box(chart.querySelector("rect.now-slot")),
    now_bar: bar("2026-03-10T18:00:00Z"),
    first: bar("2026-03-10T19:00:00Z"),
    second: bar("2026-03-10T19:30:00Z"),
    smart: box(chart.querySelector(
      ".band-group[data-type='SMART'][data-counted='true'] rect.band")),
  };
}"""


def geometry(page: Page) -> dict[str, dict[str, float]]:
    """Boxes (SVG user units, CSS pixels here) of the today chart, read in one go."""
    boxes: dict[str, dict[str, float]] = page.eval_on_selector("#chart-today svg", GEOMETRY)
    return boxes


def test_the_day_chart_shows_bars_now_and_dispatch_bands_where_the_scenario_puts_them(
    bridge: RunningBridge,
) -> None:
    wait_for_unplugged_dispatch(bridge)
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as page:
        log_in(page, bridge)
        today, tomorrow = "#chart-today", "#chart-tomorrow"
        assert page.locator(f"{today} rect.bar").count() == 48
        assert page.locator(f"{tomorrow} rect.bar").count() == 48
        assert page.locator(f"{today} svg").get_attribute("data-date") == DAY
        # Colours by quadrant, as the browser paints them.
        fill = "node => getComputedStyle(node).fill"
        bar = f"{today} rect.bar[data-start='{{}}']"
        assert page.eval_on_selector(bar.format("2026-03-10T19:00:00Z"), fill) == Q0_GREEN
        assert page.eval_on_selector(bar.format(NOW_SLOT), fill) == Q3_RED
        assert page.eval_on_selector(bar.format("2026-03-10T02:00:00Z"), fill) == Q0_GREEN
        # The current slot marker sits on the 18:00 bar, and only today.
        assert page.locator(f"{tomorrow} .now").count() == 0
        assert page.get_attribute(f"{today} rect.now-slot", "data-slot") == NOW_SLOT
        boxes = geometry(page)
        marker, now_bar = boxes["marker"], boxes["now_bar"]
        assert marker["x"] <= now_bar["x"]
        assert (
            now_bar["x"] + now_bar["w"]
            <= marker["x"] + marker["w"]
            < 2 * now_bar["w"] + now_bar["x"]
        )
        # The counted SMART band covers exactly the 19:00 and 19:30 bars.
        smart, first, second = boxes["smart"], boxes["first"], boxes["second"]
        slot_w = second["x"] - first["x"]
        assert first["x"] - 2 <= smart["x"] <= first["x"]
        assert abs(smart["x"] + smart["w"] - (second["x"] + slot_w)) <= 2
        # The boost is its own kind of band; the unplugged car's dispatch is drawn, faded.
        assert page.locator(f"{today} .band-group.boost[data-start='{NOW_SLOT}']").count() == 1
        ignored = page.locator(f"{today} .band-group.ignored")
        assert ignored.count() == 1
        assert ignored.get_attribute("data-start") == "2026-03-10T21:00:00Z"
        assert "unplugged" in page.locator("#dispatch-list li.ignored").inner_text()
        assert page.locator("#budget tr").count() > 3
        assert "kW" in page.inner_text("#power")  # from the event stream
        page.screenshot(path=str(ARTIFACTS / "bridge-page-day.png"), full_page=True)
        # On a phone the same chart fits the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_function(
            "() => document.querySelector('#chart-today svg').getAttribute('width') < 390"
        )
        assert page.locator(f"{today} rect.bar").count() == 48
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        page.screenshot(path=str(ARTIFACTS / "bridge-page-day-phone.png"), full_page=True)


def test_the_efficiency_view_stacks_kwh_by_quadrant_with_the_score_and_saving(
    bridge: RunningBridge,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as page:
        log_in(page, bridge)
        page.click("#tab-efficiency")
        page.wait_for_selector("body[data-series='1']")
        assert page.locator("#chart-eff-day .column").count() == 30
        assert page.locator("#chart-eff-month .column").count() == 12
        assert page.locator("#chart-eff-day .score-dot").count() == 30
        assert page.locator("#chart-eff-month rect.stack.q0").count() == 12
        assert page.inner_text("#saving-month").startswith("saved £")
        page.screenshot(path=str(ARTIFACTS / "bridge-page-efficiency.png"), full_page=True)


def test_the_page_follows_the_event_stream_without_reloading(tmp_path: Path) -> None:
    # 600x: a simulated half-hour every 3 s; the marker must move on its own.
    with (
        running_bridge("--demo", "--scenario", SCENARIO, "--speed", "600", data_dir=tmp_path) as b,
        browser_page() as page,
    ):
        log_in(page, b)
        page.evaluate("() => { window.stayed = true; }")
        first = page.get_attribute("#chart-today rect.now-slot", "data-slot")
        assert first is not None
        page.wait_for_function(
            "first => document.querySelector('#chart-today rect.now-slot')?.dataset.slot > first",
            arg=first,
            timeout=15_000,
        )
        assert page.evaluate("() => window.stayed") is True
        assert page.locator("#stream.open").count() == 1
