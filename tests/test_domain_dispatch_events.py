"""Dispatch events and the memory of dispatch that ran, from successive successful polls."""

from __future__ import annotations

from datetime import date

import pytest

from kraken_core.domain.allowance import AllowanceRule, allowance_status, billable_windows
from kraken_core.domain.dispatch import (
    DeviceObservation,
    DispatchLedger,
    PlannedDispatch,
    observe_dispatches,
)
from kraken_core.domain.tariff import RateSource, slot_price, tariff_state
from kraken_core.domain.timeline import half_hour_rates
from kraken_core.domain.windows import DispatchType, DispatchWindow
from tests.helpers.domain_rates import IOG_OFF_PEAK, IOG_PEAK, iog_rows, utc

CAPABLE, IN_PROGRESS, UNPLUGGED = (
    "SMART_CONTROL_CAPABLE",
    "SMART_CONTROL_IN_PROGRESS",
    "SMART_CONTROL_NOT_AVAILABLE",
)
IOG = half_hour_rates(
    iog_rows(date(2026, 3, 10), 3),
    utc("2026-03-10T00:00:00Z"),
    utc("2026-03-12T00:00:00Z"),
)


def plan(*windows: tuple[str, str, str]) -> tuple[PlannedDispatch, ...]:
    return tuple(
        PlannedDispatch(
            utc(f"2026-03-10T{a}:00Z"), utc(f"2026-03-10T{b}:00Z"), DispatchType(kind), 5.0
        )
        for a, b, kind in windows
    )


EVENING = ("19:00", "20:00", DispatchType.SMART)
Poll = tuple[str, str, tuple[PlannedDispatch, ...]]  # time (HH:MM:SS), state, plan


def run(polls: list[Poll], device: str = "dev-1") -> tuple[DispatchLedger, list[list[str]]]:
    """Feed polls one by one; the cards each poll produced."""
    ledger = DispatchLedger()
    cards = []
    for at, state, planned in polls:
        ledger, events = observe_dispatches(
            ledger, {device: DeviceObservation(state, planned)}, utc(f"2026-03-10T{at}Z")
        )
        cards.append([event.card for event in events])
    return ledger, cards


# (case, polls, cards per poll)
EVENT_CASES: list[tuple[str, list[Poll], list[list[str]]]] = [
    (
        "first poll is a baseline",
        [("19:10:12", IN_PROGRESS, plan(EVENING))],
        [[]],
    ),
    (
        "a planned dispatch appears, starts, ends and completes",
        [
            ("18:00:12", CAPABLE, ()),
            ("18:01:12", CAPABLE, plan(EVENING)),
            ("18:59:12", CAPABLE, plan(EVENING)),
            ("19:00:12", IN_PROGRESS, plan(EVENING)),
            ("19:59:12", IN_PROGRESS, plan(EVENING)),
            ("20:00:12", CAPABLE, ()),
            ("20:01:12", CAPABLE, ()),
        ],
        [
            [],
            ["dispatch_changed"],
            [],
            ["dispatch_started"],
            [],
            ["dispatch_ended", "dispatch_completed"],
            [],
        ],
    ),
    (
        "moved later before it starts",
        [
            ("18:00:12", CAPABLE, plan(EVENING)),
            ("18:30:12", CAPABLE, plan(("21:00", "22:00", "SMART"))),
        ],
        [[], ["dispatch_cancelled", "dispatch_changed"]],
    ),
    (
        "extended while it runs",
        [
            ("19:10:12", IN_PROGRESS, plan(EVENING)),
            ("19:11:12", IN_PROGRESS, plan(("19:00", "20:30", "SMART"))),
        ],
        [[], ["dispatch_changed"]],
    ),
    (
        "cancelled before it starts",
        [("18:00:12", CAPABLE, plan(EVENING)), ("18:01:12", CAPABLE, ())],
        [[], ["dispatch_cancelled"]],
    ),
    (
        "dropped mid-run",
        [("19:10:12", IN_PROGRESS, plan(EVENING)), ("19:40:12", CAPABLE, ())],
        [[], ["dispatch_ended", "dispatch_cancelled"]],
    ),
    (
        "unplugged with a planned dispatch: it no longer counts",
        [("18:00:12", CAPABLE, plan(EVENING)), ("18:05:12", UNPLUGGED, plan(EVENING))],
        [[], ["dispatch_cancelled"]],
    ),
    (
        "unplugged all along: nothing counts, nothing happens",
        [("18:00:12", UNPLUGGED, plan(EVENING)), ("19:30:12", UNPLUGGED, plan(EVENING))],
        [[], []],
    ),
    (
        "a gap of failed polls: only the next success compares",
        [("18:50:12", CAPABLE, plan(EVENING)), ("20:10:12", CAPABLE, ())],
        [[], ["dispatch_completed"]],
    ),
    (
        "boost starts and ends; test dispatch makes no event",
        [
            ("18:00:12", CAPABLE, plan(("18:30", "19:30", "TEST"))),
            ("18:40:12", "BOOSTING", plan(("18:30", "19:30", "TEST"), ("18:35", "19:35", "BOOST"))),
            ("19:36:12", CAPABLE, ()),
        ],
        [[], ["boost_started"], ["boost_ended"]],
    ),
]


@pytest.mark.parametrize(
    ("polls", "cards"), [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES]
)
def test_events_compare_successive_polls(polls: list[Poll], cards: list[list[str]]) -> None:
    assert run(polls)[1] == cards


def test_event_tokens_say_which_dispatch() -> None:
    ledger = DispatchLedger()
    ledger, _ = observe_dispatches(
        ledger, {"dev-1": DeviceObservation(CAPABLE, plan(EVENING))}, utc("2026-03-10T18:00:12Z")
    )
    _, events = observe_dispatches(
        ledger,
        {"dev-1": DeviceObservation(CAPABLE, plan(("19:30", "20:30", "SMART")))},
        utc("2026-03-10T18:01:12Z"),
    )
    assert [(e.device_id, e.card, dict(e.tokens)) for e in events] == [
        (
            "dev-1",
            "dispatch_changed",
            {
                "start": "2026-03-10T19:30:00Z",
                "end": "2026-03-10T20:30:00Z",
                "type": "SMART",
                "duration_minutes": 60.0,
                "previous_start": "2026-03-10T19:00:00Z",
                "previous_end": "2026-03-10T20:00:00Z",
            },
        )
    ]


def home_price(ledger: DispatchLedger, at: str) -> tuple[float | None, RateSource]:
    windows = billable_windows(ledger.windows(), AllowanceRule())
    state = tariff_state(
        IOG,
        utc(f"2026-03-10T{at}Z"),
        standing_charge=None,
        product_code=None,
        tariff_code=None,
        dispatches=windows,
    )
    return state.unit_rate, state.rate_source


@pytest.mark.parametrize(
    ("state_while_running", "at_1945"),
    [
        (IN_PROGRESS, (IOG_OFF_PEAK, RateSource.SMART_DISPATCH)),
        (CAPABLE, (IOG_PEAK, RateSource.TARIFF)),
    ],
)
def test_a_slot_started_in_progress_stays_off_peak_when_kraken_drops_the_dispatch(
    state_while_running: str, at_1945: tuple[float, RateSource]
) -> None:
    ledger, _ = run(
        [
            ("19:00:12", state_while_running, plan(EVENING)),
            ("19:31:12", state_while_running, plan(EVENING)),
            ("19:40:12", CAPABLE, ()),
        ]
    )
    assert home_price(ledger, "19:45:00") == at_1945
    assert home_price(ledger, "20:05:00") == (IOG_PEAK, RateSource.TARIFF)
    if state_while_running == IN_PROGRESS:
        assert ledger.elapsed["dev-1"] == (
            DispatchWindow(
                utc("2026-03-10T19:00:00Z"), utc("2026-03-10T19:40:12Z"), DispatchType.SMART
            ),
        )


def test_a_dispatch_that_ran_stays_counted_after_kraken_stops_listing_it() -> None:
    ledger, _ = run(
        [
            ("18:50:12", CAPABLE, plan(("19:00", "19:10", "SMART"))),
            ("19:05:12", IN_PROGRESS, plan(("19:00", "19:10", "SMART"))),
            ("19:11:12", CAPABLE, ()),
        ]
    )
    assert home_price(ledger, "19:20:00") == (IOG_OFF_PEAK, RateSource.SMART_DISPATCH)
    used = allowance_status(ledger.windows(), AllowanceRule(), utc("2026-03-10T19:20:00Z"))
    assert used.used_minutes == 10


def test_two_devices_are_remembered_apart_and_priced_together() -> None:
    ledger = DispatchLedger()
    car = DeviceObservation(IN_PROGRESS, plan(("18:00", "19:10", "SMART")))
    charger = DeviceObservation(CAPABLE, plan(("18:40", "20:00", "SMART")))
    ledger, _ = observe_dispatches(
        ledger, {"car": car, "wallbox": charger}, utc("2026-03-10T18:45:12Z")
    )
    ledger, events = observe_dispatches(
        ledger,
        {"car": DeviceObservation(CAPABLE, ()), "wallbox": charger},
        utc("2026-03-10T19:12:12Z"),
    )
    assert [(e.device_id, e.card) for e in events] == [
        ("car", "dispatch_ended"),
        ("car", "dispatch_completed"),
    ]
    assert ledger.device_windows("car") == [
        DispatchWindow(utc("2026-03-10T18:00:00Z"), utc("2026-03-10T19:10:00Z"), DispatchType.SMART)
    ]
    price = slot_price(
        IOG, utc("2026-03-10T19:30:00Z"), billable_windows(ledger.windows(), AllowanceRule())
    )
    assert price is not None
    assert price.source is RateSource.SMART_DISPATCH
    assert ledger.next_edge(utc("2026-03-10T19:12:12Z")) == utc("2026-03-10T20:00:00Z")
