"""The Homey dashboard widgets in a real headless Chromium, fed by the real bridge.

Each widget's ``public/index.html`` is opened from disk with a stub of Homey's widget
API (``onHomeyReady(Homey)``, ``Homey.api``, ``Homey.ready``, ``Homey.__`` over the
app's own locales). The stub answers ``Homey.api`` with what the app's widget API
(``widgets/<id>/api.js`` → ``app.js``) hands on: the bridge's own JSON, fetched here
from a real bridge playing ``iog_page_boost_dispatch_unplugged.json`` (a GMT day, so
UTC is London time): the Tesla boosts 18:00-18:45 and has SMART dispatches 19:00-20:00
and 00:00-03:00 tomorrow; the MG4 is unplugged at 18:01. The bridge runs at 10x, so
the current slot stays 18:00-18:30 for three real minutes.

The widgets are drawn at dashboard widths in Homey's light and dark themes (the
``homey-dark-mode`` class Homey sets); screenshots go to ``test-artifacts/``. Without
Chromium or playwright these tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.helpers.bridge_process import REPO, SCENARIOS, RunningBridge, running_bridge
from tests.helpers.browser import CHROMIUM_ARGS, Page, chromium, sync_playwright

SCENARIO = str(SCENARIOS / "iog_page_boost_dispatch_unplugged.json")
ARTIFACTS = REPO / "test-artifacts"
WIDGETS = REPO / "widgets"
DAY, TOMORROW = "2026-03-10", "2026-03-11"
NOW_SLOT = "2026-03-10T18:00:00Z"
QUADRANT_RGB = ["rgb(26, 152, 80)", "rgb(166, 217, 106)", "rgb(253, 174, 97)", "rgb(215, 48, 39)"]
# Dashboard widths: a phone's full-width widget, and a narrow tablet column.
PHONE, COLUMN = 360, 260

# Homey.api answers come from window.__stub.answers[path]; everything else the widget
# uses is here. Homey calls onHomeyReady(Homey) once the page has loaded.
STUB = """
(() => {
  const stub = window.__stub;
  const lookup = (key) => key.split(".").reduce(
    (node, part) => (node && typeof node === "object" ? node[part] : undefined), stub.strings);
  const Homey = {
    api(method, path, body) {
      stub.calls.push([method, path]);
      if (method === "GET" && Object.prototype.hasOwnProperty.call(stub.answers, path)) {
        return Promise.resolve(JSON.parse(JSON.stringify(stub.answers[path])));
      }
      return Promise.reject(new Error(`no answer for ${method} ${path}`));
    },
    ready(options) { stub.ready.push(options || {}); },
    setHeight(height) { stub.heights.push(height); },
    getSettings() { return stub.settings; },
    on(event, handler) { (stub.handlers[event] = stub.handlers[event] || []).push(handler); },
    __(key, tokens) {
      let text = lookup(key);
      if (typeof text !== "string") return key;
      for (const [name, value] of Object.entries(tokens || {})) {
        text = text.split(`__${name}__`).join(String(value));
      }
      return text;
    },
  };
  // What the app's this.homey.api.realtime(event, data) does: Homey hands it to the page.
  stub.push = (event, data) => (stub.handlers[event] || []).forEach((handler) => handler(data));
  document.addEventListener("DOMContentLoaded", () => {
    if (stub.dark) document.body.classList.add("homey-dark-mode");
    // Homey's frame pads a widget's body by 16 px (.homey-widget).
    const frame = document.createElement("style");
    frame.textContent = "body.homey-widget { padding: 16px; }";
    document.head.appendChild(frame);
  });
  window.addEventListener("load", () => window.onHomeyReady(Homey));
})();
"""


@contextmanager
def widget_page(
    widget: str,
    answers: dict[str, Any],
    *,
    dark: bool = False,
    width: int = PHONE,
    settings: dict[str, Any] | None = None,
    drawn: str = "1",
) -> Iterator[Page]:
    """The widget's page from disk, with the stub; waits until it has drawn (or, with
    drawn="error", shown an error). Console errors and requests that leave the widget's
    folder fail the test."""
    executable = chromium()
    errors: list[str] = []
    outside: list[str] = []
    stub = {
        "answers": answers,
        "strings": json.loads((REPO / "locales" / "en.json").read_text()),
        "settings": settings or {},
        "dark": dark,
        "calls": [],
        "ready": [],
        "heights": [],
        "handlers": {},
    }
    public = WIDGETS / widget / "public"
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": 700},
        )
        try:
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.on(
                "request",
                lambda request: (
                    None
                    if request.url.startswith(public.as_uri() + "/")
                    else outside.append(request.url)
                ),
            )
            page.add_init_script(f"window.__stub = {json.dumps(stub)};\n{STUB}")
            page.goto((public / "index.html").as_uri())
            page.wait_for_selector(f"#root[data-ready='{drawn}']", timeout=10_000)
            yield page
        finally:
            context.close()
    assert errors == []
    assert outside == [], "a widget loads only its own files (no CDN)"


def get(bridge: RunningBridge, path: str, **params: str) -> Any:
    answer = httpx.get(f"{bridge.url}/api/v1{path}", params=params, headers=bridge.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def smart_devices(bridge: RunningBridge) -> list[dict[str, Any]]:
    listed = get(bridge, "/devices")
    return [
        get(bridge, f"/devices/{d['id']}") for d in listed if d["kind"] == "smart_energy_device"
    ]


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBridge]:
    data_dir = tmp_path_factory.mktemp("widgets")
    with running_bridge("--demo", "--scenario", SCENARIO, "--speed", "10", data_dir=data_dir) as b:
        # Wait until the bridge has seen the MG4 unplugged (its first state poll after 18:01).
        for _ in range(150):
            states = {d["name"]: d["state"] for d in smart_devices(b)}
            if states["MG MG4"]["device_state"] == "SMART_CONTROL_NOT_AVAILABLE":
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the MG4 was never seen unplugged: {states}")
        yield b


def timeline_answers(bridge: RunningBridge) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the price chart's Homey.api calls get: the bridge's timeline, unchanged."""
    today = get(bridge, "/timeline")
    tomorrow = get(bridge, "/timeline", date=TOMORROW)
    assert (today["date"], today["current_slot"]) == (DAY, NOW_SLOT)
    assert tomorrow["prices_published"]
    return today, tomorrow


def pence(value: float) -> str:
    return f"{value:.1f}p"


BARS = """svg => [...svg.querySelectorAll("rect.bar")].map(bar => ({
  start: bar.dataset.start, rate: Number(bar.dataset.rate), quadrant: Number(bar.dataset.quadrant),
  past: bar.classList.contains("past"), fill: getComputedStyle(bar).fill,
  x: bar.getBBox().x, y: bar.getBBox().y, w: bar.getBBox().width, h: bar.getBBox().height,
}))"""


def bars(page: Page, date: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.eval_on_selector(f"svg[data-date='{date}']", BARS)
    return found


def no_sideways_scroll(page: Page, width: int) -> None:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"the widget scrolls sideways at {width}px ({scroll}px)"


# --- the price chart ------------------------------------------------------------------------


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_price_chart_shows_the_scenarios_prices_by_quadrant_with_now_marked(
    bridge: RunningBridge, theme: str
) -> None:
    today, tomorrow = timeline_answers(bridge)
    answers = {"/timeline": today, f"/timeline?date={TOMORROW}": tomorrow}
    ARTIFACTS.mkdir(exist_ok=True)
    with widget_page("price_chart", answers, dark=theme == "dark") as page:
        for day in (today, tomorrow):
            drawn = bars(page, day["date"])
            slots = [s for s in day["slots"] if s["unit_rate"] is not None]
            assert len(drawn) == len(slots) == 48
            # Each bar is its slot: the bridge's price and quadrant, painted in that
            # quadrant's colour, taller for a dearer price.
            for bar, slot in zip(drawn, slots, strict=True):
                assert bar["start"] == slot["start"]
                assert bar["rate"] == slot["unit_rate"]
                assert bar["quadrant"] == slot["price_quadrant"]
                assert bar["fill"] == QUADRANT_RGB[slot["price_quadrant"]], slot
            by_rate = sorted(drawn, key=lambda b: b["rate"])
            assert by_rate[0]["h"] < by_rate[-1]["h"]
        # The scenario's day: 7p off-peak 23:30-05:30 and in the 19:00-20:00 smart
        # dispatch (quadrant 0, green), 24.5p otherwise (quadrant 3, red).
        today_bars = {b["start"]: b for b in bars(page, DAY)}
        assert today_bars["2026-03-10T19:00:00Z"]["fill"] == QUADRANT_RGB[0]
        assert today_bars["2026-03-10T19:00:00Z"]["rate"] == 7.0
        assert today_bars[NOW_SLOT]["fill"] == QUADRANT_RGB[3]
        assert today_bars[NOW_SLOT]["rate"] == 24.5
        assert {b["rate"] for b in today_bars.values()} == {7.0, 24.5}
        # Half-hours already gone are faded; the current one is marked, today only.
        assert [b["past"] for b in today_bars.values()] == [
            s["start"] < NOW_SLOT for s in today["slots"]
        ]
        assert page.locator("rect.now-slot").count() == 1
        marker = page.eval_on_selector(
            f"svg[data-date='{DAY}'] rect.now-slot",
            "node => ({slot: node.dataset.slot, x: node.getBBox().x, w: node.getBBox().width})",
        )
        now_bar = today_bars[NOW_SLOT]
        assert marker["slot"] == NOW_SLOT
        assert marker["x"] <= now_bar["x"]
        assert (
            now_bar["x"] + now_bar["w"]
            <= marker["x"] + marker["w"]
            < now_bar["x"] + 2 * now_bar["w"]
        )
        # The header: the price now and next, and the day's range, as the bridge has them.
        slots = today["slots"]
        current = next(i for i, s in enumerate(slots) if s["start"] == NOW_SLOT)
        assert page.inner_text("#now-price") == pence(slots[current]["unit_rate"]) == "24.5p"
        assert page.inner_text("#next-price") == pence(slots[current + 1]["unit_rate"])
        assert page.get_attribute("#now-dot", "class") == "kb-dot q3"
        assert page.inner_text("#range") == "7.0p – 24.5p"
        assert page.locator("#message").is_hidden()
        # Tapping a bar shows that half-hour's price.
        box = page.locator(f"svg[data-date='{DAY}']").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] * (38.5 / 48), box["y"] + box["height"] / 2)
        assert page.inner_text("#now-label") == "19:00"
        assert page.inner_text("#now-price") == "7.0p"
        page.mouse.move(0, 0)
        # Homey sizes the widget to what was drawn; nothing scrolls sideways.
        ready = page.evaluate("() => window.__stub.ready")
        assert len(ready) == 1
        assert 200 < ready[0]["height"] < 400
        no_sideways_scroll(page, PHONE)
        calls = page.evaluate("() => window.__stub.calls")
        assert calls == [["GET", "/timeline"], ["GET", f"/timeline?date={TOMORROW}"]]
        text = page.eval_on_selector(".kb", "node => getComputedStyle(node).color")
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        if theme == "dark":
            assert (text, background) == ("rgb(242, 242, 247)", "rgb(28, 28, 30)")
        else:
            assert (text, background) == ("rgb(28, 28, 30)", "rgb(255, 255, 255)")
        page.wait_for_timeout(4200)  # the tapped price goes back to now
        assert page.inner_text("#now-price") == "24.5p"
        page.screenshot(path=str(ARTIFACTS / f"widget-price-chart-{theme}.png"), full_page=True)
        # A narrow dashboard column still shows every half-hour.
        page.set_viewport_size({"width": COLUMN, "height": 700})
        chart = f"document.querySelector('svg[data-date=\"{DAY}\"]')"
        page.wait_for_function(f"() => {chart}.getAttribute('width') < {COLUMN}")
        assert len(bars(page, DAY)) == 48
        no_sideways_scroll(page, COLUMN)
        page.screenshot(
            path=str(ARTIFACTS / f"widget-price-chart-{theme}-narrow.png"), full_page=True
        )


BANDS = """svg => [...svg.querySelectorAll("rect.band")].map(band => ({
  start: band.dataset.start, end: band.dataset.end, type: band.dataset.type,
  counted: band.dataset.counted === "true", device: band.dataset.device,
  kind: band.getAttribute("class").replace("band ", ""), fill: getComputedStyle(band).fill,
  dash: getComputedStyle(band).strokeDasharray, title: band.textContent,
  x: band.getBBox().x, w: band.getBBox().width,
}))"""


def bands(page: Page, date: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.eval_on_selector(f"svg[data-date='{date}']", BANDS)
    return found


def test_price_chart_draws_the_dispatch_bands_as_the_bridge_page_does(
    bridge: RunningBridge,
) -> None:
    today, tomorrow = timeline_answers(bridge)
    answers = {"/timeline": today, f"/timeline?date={TOMORROW}": tomorrow}
    with widget_page("price_chart", answers) as page:
        drawn = bands(page, DAY)
        # Every dispatch window of the bridge's timeline, in its order, behind the bars.
        assert [(b["start"], b["end"], b["type"], b["counted"]) for b in drawn] == [
            (d["start"], d["end"], d["type"], d["counted"]) for d in today["dispatches"]
        ]
        kinds = {(b["device"], b["start"]): b["kind"] for b in drawn}
        # The scenario: the Tesla boosts 18:00-18:45 and smart-charges 19:00-20:00; the
        # MG4, unplugged since 18:01, has a plan that does not count.
        assert kinds[("dev-tesla", "2026-03-10T18:00:00Z")] == "boost"
        assert kinds[("dev-tesla", "2026-03-10T19:00:00Z")] == "smart"
        ignored = [b for b in drawn if b["kind"] == "ignored"]
        assert ignored, today["dispatches"]
        assert all(not b["counted"] and b["dash"] != "none" for b in ignored)
        assert all("not counted" in b["title"] for b in ignored)
        # A band spans its half-hours' bars: 19:00-20:00 is the two bars from 19:00.
        day_bars = {b["start"]: b for b in bars(page, DAY)}
        smart = next(b for b in drawn if b["kind"] == "smart" and b["start"].endswith("19:00:00Z"))
        first, second = day_bars["2026-03-10T19:00:00Z"], day_bars["2026-03-10T19:30:00Z"]
        assert smart["x"] <= first["x"] < second["x"] + second["w"] <= smart["x"] + smart["w"]
        assert smart["x"] + smart["w"] < day_bars["2026-03-10T20:00:00Z"]["x"] + 1
        assert smart["fill"] != next(b for b in drawn if b["kind"] == "boost")["fill"]
        assert smart["title"] == "Smart charging 19:00–20:00, Tesla Model 3"
        # Tomorrow's chart has the night's dispatch from 00:00.
        assert [b["start"] for b in bands(page, TOMORROW)] == [
            d["start"] for d in tomorrow["dispatches"]
        ]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "widget-price-chart-bands.png"), full_page=True)


def test_a_pushed_change_redraws_the_price_chart_without_waiting_for_the_poll(
    bridge: RunningBridge,
) -> None:
    today, tomorrow = timeline_answers(bridge)
    answers = {"/timeline": today, f"/timeline?date={TOMORROW}": tomorrow}
    with widget_page("price_chart", answers, settings={"show_tomorrow": False}) as page:
        before = len(bands(page, DAY))
        # Kraken plans one more charge for the Tesla: the bridge's timeline has it, and the
        # app pushes that the car's planned dispatches changed.
        moved = {
            **today,
            "dispatches": [
                *today["dispatches"],
                {
                    "device_id": "dev-tesla",
                    "device_name": "Tesla Model 3",
                    "start": "2026-03-10T22:00:00Z",
                    "end": "2026-03-10T23:00:00Z",
                    "type": "SMART",
                    "counted": True,
                    "reason": None,
                },
            ],
        }
        page.evaluate("(day) => { window.__stub.answers['/timeline'] = day; }", moved)
        nudge = {
            "device_id": "smart_energy_device.dev-tesla",
            "kind": "smart_energy_device",
            "fields": ["planned_dispatches"],
        }
        page.evaluate("(data) => window.__stub.push('kraken_state', data)", nudge)
        page.wait_for_function(
            f"() => document.querySelectorAll(\"svg[data-date='{DAY}'] rect.band\").length"
            f" === {before + 1}",
            timeout=5_000,
        )
        assert bands(page, DAY)[-1]["start"] == "2026-03-10T22:00:00Z"
        # One read more, the push's; the fallback poll is ten minutes away.
        assert page.evaluate("() => window.__stub.calls") == [["GET", "/timeline"]] * 2


def test_price_chart_before_tomorrows_prices_says_so_and_can_hide_tomorrow(
    bridge: RunningBridge,
) -> None:
    today, tomorrow = timeline_answers(bridge)
    unpublished = {
        **tomorrow,
        "prices_published": False,
        "slots": [
            {**slot, "unit_rate": None, "price_quadrant": None} for slot in tomorrow["slots"]
        ],
    }
    answers = {"/timeline": today, f"/timeline?date={TOMORROW}": unpublished}
    with widget_page("price_chart", answers) as page:
        assert len(bars(page, DAY)) == 48
        assert page.locator(f"svg[data-date='{TOMORROW}']").count() == 0
        assert page.inner_text("#message") == "Tomorrow's prices are not published yet"
    with widget_page("price_chart", answers, settings={"show_tomorrow": False}) as page:
        assert page.locator("svg").count() == 1
        assert page.locator("#message").is_hidden()
        assert page.evaluate("() => window.__stub.calls") == [["GET", "/timeline"]]


def test_price_chart_shows_why_it_has_no_data() -> None:
    # Homey.api rejects with the app's Error (e.g. no bridge configured): its message shows.
    with widget_page("price_chart", {}, drawn="error") as page:
        assert page.inner_text("#message") == "no answer for GET /timeline"
        assert page.get_attribute("#message", "class") == "kb-message error"
        assert len(page.evaluate("() => window.__stub.ready")) == 1


# --- the next dispatch ----------------------------------------------------------------------


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_next_dispatch_shows_each_cars_next_window_in_local_time(
    bridge: RunningBridge, theme: str
) -> None:
    today = get(bridge, "/timeline")
    devices = smart_devices(bridge)
    tesla = next(d for d in devices if d["name"] == "Tesla Model 3")
    assert tesla["state"]["boosting"] is True
    assert (tesla["state"]["next_dispatch_start"], tesla["state"]["next_dispatch_end"]) == (
        "2026-03-10T19:00:00Z",
        "2026-03-10T20:00:00Z",
    )
    # What app.getSmartDevices() answers: the bridge's devices, the Homey's clock (here
    # the bridge's simulated one) and time zone.
    answer = {
        "now": today["now"],
        "timezone": "Europe/London",
        "language": "en",
        "devices": devices,
    }
    ARTIFACTS.mkdir(exist_ok=True)
    with widget_page("next_dispatch", {"/devices": answer}, dark=theme == "dark") as page:
        items = page.locator("li.kb-device")
        assert items.count() == 2
        car = page.locator("li[data-device-id='smart_energy_device.dev-tesla']")
        assert car.locator(".kb-name").inner_text() == "Tesla Model 3"
        assert car.locator(".kb-now").inner_text() == "Boosting now · until 18:45"
        assert car.locator(".kb-now").get_attribute("data-now") == "boosting"
        assert car.locator(".kb-window").inner_text().split() == ["Today", "19:00", "–", "20:00"]
        detail = car.locator(".kb-detail").inner_text()
        planned = len(tesla["state"]["planned_dispatches"])
        assert planned == 3
        assert detail.startswith("Next in ")
        assert detail.endswith(" · 3 planned")
        mg4 = page.locator("li[data-device-id='smart_energy_device.dev-mg4']")
        assert mg4.locator(".kb-now").count() == 0
        assert mg4.locator(".kb-window").inner_text() == "No smart charge planned"
        assert mg4.locator(".kb-detail").inner_text() == "Not available for smart charging"
        ready = page.evaluate("() => window.__stub.ready")
        assert len(ready) == 1
        assert 100 < ready[0]["height"] < 260
        no_sideways_scroll(page, PHONE)
        page.screenshot(path=str(ARTIFACTS / f"widget-next-dispatch-{theme}.png"), full_page=True)
        page.set_viewport_size({"width": COLUMN, "height": 700})
        no_sideways_scroll(page, COLUMN)
        page.screenshot(
            path=str(ARTIFACTS / f"widget-next-dispatch-{theme}-narrow.png"), full_page=True
        )


def test_a_pushed_change_redraws_the_next_dispatch_without_waiting_for_the_poll(
    bridge: RunningBridge,
) -> None:
    today = get(bridge, "/timeline")
    devices = smart_devices(bridge)
    answer = {"now": today["now"], "timezone": "Europe/London", "language": "en"}
    with widget_page("next_dispatch", {"/devices": {**answer, "devices": devices}}) as page:
        mg4 = page.locator("li[data-device-id='smart_energy_device.dev-mg4']")
        assert mg4.locator(".kb-window").inner_text() == "No smart charge planned"
        # The MG4 is plugged in again and Kraken plans it a charge at 21:00.
        plugged = [
            {
                **d,
                "state": {
                    **d["state"],
                    "device_state": "SMART_CONTROL_CAPABLE",
                    "dispatches_honoured": True,
                    "next_dispatch_start": "2026-03-10T21:00:00Z",
                    "next_dispatch_end": "2026-03-10T22:00:00Z",
                    "planned_dispatch_count": 1,
                },
            }
            if d["id"] == "smart_energy_device.dev-mg4"
            else d
            for d in devices
        ]
        page.evaluate(
            "(next) => { window.__stub.answers['/devices'] = next; }",
            {**answer, "devices": plugged},
        )
        page.evaluate(
            "(data) => window.__stub.push('kraken_state', data)",
            {
                "device_id": "smart_energy_device.dev-mg4",
                "kind": "smart_energy_device",
                "fields": ["device_state", "next_dispatch_start"],
            },
        )
        page.wait_for_function(
            "() => document.querySelector(\"li[data-device-id='smart_energy_device.dev-mg4']"
            ' .kb-times") !== null',
            timeout=5_000,
        )
        assert mg4.locator(".kb-window").inner_text().split() == ["Today", "21:00", "–", "22:00"]
        assert mg4.locator(".kb-detail").inner_text().endswith("1 planned")
        assert page.evaluate("() => window.__stub.calls") == [["GET", "/devices"]] * 2


def test_next_dispatch_names_tomorrow_and_says_when_the_bridge_has_no_car() -> None:
    device = {
        "id": "smart_energy_device.dev-1",
        "kind": "smart_energy_device",
        "name": "Car",
        "available": True,
        "unavailable_reason": None,
        "updated_at": "2026-03-28T22:00:00Z",
        "state": {
            "device_state": "SMART_CONTROL_IN_PROGRESS",
            "dispatches_honoured": True,
            "dispatching": True,
            "boosting": False,
            "planned_dispatches": [
                {"start": "2026-03-28T22:00:00Z", "end": "2026-03-28T23:00:00Z", "type": "SMART"},
                {"start": "2026-03-29T01:30:00Z", "end": "2026-03-29T03:00:00Z", "type": "SMART"},
            ],
            "next_dispatch_start": "2026-03-29T01:30:00Z",
            "next_dispatch_end": "2026-03-29T03:00:00Z",
            "current_dispatch_end": "2026-03-28T23:00:00Z",
            "planned_dispatch_count": 2,
            "planned_energy_kwh": None,
        },
    }
    # The night the clocks go forward: 01:30Z is 02:30 BST on the 29th.
    answer = {"now": "2026-03-28T22:10:00Z", "timezone": "Europe/London", "language": "en"}
    with widget_page("next_dispatch", {"/devices": {**answer, "devices": [device]}}) as page:
        assert page.inner_text(".kb-now") == "Smart charging now · until 23:00"
        assert page.inner_text(".kb-window").split() == ["Tomorrow", "02:30", "–", "04:00"]
        assert page.inner_text(".kb-detail") == "Next in 3 h 20 min · 2 planned"
    with widget_page("next_dispatch", {"/devices": {**answer, "devices": []}}) as page:
        assert page.inner_text("#message") == "The bridge has no smart charger or car."
