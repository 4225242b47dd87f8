"""What a slot costs the home under Intelligent Octopus dispatches, the allowance and
four-rate EV tariffs: one table per rule, on a real IOG week with its clock change."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kraken_core.domain.allowance import (
    AllowanceRule,
    allowance_day,
    allowance_status,
    billable_windows,
)
from kraken_core.domain.dispatch import PlannedDispatch, counted_windows, smart_device_state
from kraken_core.domain.product import (
    Agreement,
    MeterPoint,
    RegisterGroup,
    is_four_rate_ev,
    product_changes,
)
from kraken_core.domain.tariff import (
    RateSource,
    ev_unit_rate,
    slot_price,
    tariff_state,
)
from kraken_core.domain.timeline import (
    day_slots,
    half_hour_rates,
    local_day,
    local_day_bounds,
)
from kraken_core.domain.windows import DispatchType, DispatchWindow, intersect_windows
from tests.helpers.domain_rates import (
    AGILE_WINDY_DAY,
    IOG_OFF_PEAK,
    IOG_PEAK,
    agile_rows,
    iog_rows,
    utc,
)

# The week of the spring clock change: GMT until 01:00 UTC on 29 March, BST after.
IOG = half_hour_rates(
    iog_rows(date(2026, 3, 26), 6), utc("2026-03-25T00:00:00Z"), utc("2026-04-01T00:00:00Z")
)
SMART, BOOST, TEST = DispatchType.SMART, DispatchType.BOOST, DispatchType.TEST
NO_CAP = AllowanceRule(limit_minutes=0)


def window(start: str, end: str, kind: DispatchType = SMART) -> DispatchWindow:
    return DispatchWindow(utc(start), utc(end), kind)


# (case, windows, slot start, effective rate, source)
SLOT_CASES = [
    ("no dispatch, peak", [], "2026-03-27T19:00:00Z", IOG_PEAK, RateSource.TARIFF),
    ("no dispatch, off-peak", [], "2026-03-27T00:00:00Z", IOG_OFF_PEAK, RateSource.TARIFF),
    (
        "smart covers the slot",
        [window("2026-03-27T19:00:00Z", "2026-03-27T20:00:00Z")],
        "2026-03-27T19:30:00Z",
        IOG_OFF_PEAK,
        RateSource.SMART_DISPATCH,
    ),
    (
        "smart touches one minute of the slot",
        [window("2026-03-27T18:05:00Z", "2026-03-27T18:31:00Z")],
        "2026-03-27T18:30:00Z",
        IOG_OFF_PEAK,
        RateSource.SMART_DISPATCH,
    ),
    (
        "smart ending on the boundary does not touch the next slot",
        [window("2026-03-27T18:00:00Z", "2026-03-27T18:30:00Z")],
        "2026-03-27T18:30:00Z",
        IOG_PEAK,
        RateSource.TARIFF,
    ),
    (
        "boost outside off-peak pays peak",
        [window("2026-03-27T19:00:00Z", "2026-03-27T20:00:00Z", BOOST)],
        "2026-03-27T19:00:00Z",
        IOG_PEAK,
        RateSource.BOOST,
    ),
    (
        "boost inside 23:30-05:30 pays the scheduled off-peak",
        [window("2026-03-27T23:30:00Z", "2026-03-28T01:00:00Z", BOOST)],
        "2026-03-28T00:00:00Z",
        IOG_OFF_PEAK,
        RateSource.BOOST,
    ),
    (
        "boost inside off-peak after the spring change (22:30 UTC)",
        [window("2026-03-29T22:30:00Z", "2026-03-30T00:00:00Z", BOOST)],
        "2026-03-29T22:30:00Z",
        IOG_OFF_PEAK,
        RateSource.BOOST,
    ),
    (
        "test dispatch is not cheap",
        [window("2026-03-27T19:00:00Z", "2026-03-27T20:00:00Z", TEST)],
        "2026-03-27T19:00:00Z",
        IOG_PEAK,
        RateSource.TARIFF,
    ),
    (
        "smart and a boost of another car: the smart slot is off-peak for the home",
        [
            window("2026-03-27T19:00:00Z", "2026-03-27T19:30:00Z"),
            window("2026-03-27T19:00:00Z", "2026-03-27T20:00:00Z", BOOST),
        ],
        "2026-03-27T19:00:00Z",
        IOG_OFF_PEAK,
        RateSource.SMART_DISPATCH,
    ),
    (
        "smart on the 46-slot day",
        [window("2026-03-29T15:00:00Z", "2026-03-29T16:00:00Z")],
        "2026-03-29T15:30:00Z",
        IOG_OFF_PEAK,
        RateSource.SMART_DISPATCH,
    ),
]


@pytest.mark.parametrize(
    ("windows", "slot", "rate", "source"),
    [case[1:] for case in SLOT_CASES],
    ids=[case[0] for case in SLOT_CASES],
)
def test_slot_price(
    windows: list[DispatchWindow], slot: str, rate: float, source: RateSource
) -> None:
    price = slot_price(IOG, utc(slot), windows)
    assert price is not None
    assert (price.effective_rate, price.source) == (rate, source)
    assert price.tariff_rate == IOG[utc(slot)]


def test_negative_agile_day_dispatch_pays_the_days_lowest_price() -> None:
    day = date(2026, 6, 10)
    rates = half_hour_rates(agile_rows(day, AGILE_WINDY_DAY), *local_day_bounds(day))
    smart = [window("2026-06-10T17:00:00Z", "2026-06-10T18:00:00Z")]
    price = slot_price(rates, utc("2026-06-10T17:00:00Z"), smart)
    assert price is not None
    assert price.effective_rate == -5.25
    state = tariff_state(
        rates,
        utc("2026-06-10T17:10:00Z"),
        standing_charge=None,
        product_code="AGILE-24-10-01",
        tariff_code="E-1R-AGILE-24-10-01-C",
        dispatches=smart,
    )
    assert (state.unit_rate, state.price_quadrant, state.rate_source) == (
        -5.25,
        0,
        RateSource.SMART_DISPATCH,
    )


# --- which dispatches count ------------------------------------------------------------

PLAN = [
    PlannedDispatch(utc("2026-03-27T19:00:00Z"), utc("2026-03-27T20:00:00Z"), SMART, 7.5),
    PlannedDispatch(utc("2026-03-27T20:00:00Z"), utc("2026-03-27T20:30:00Z"), SMART, 3.1),
    PlannedDispatch(utc("2026-03-28T01:00:00Z"), utc("2026-03-28T02:00:00Z"), BOOST, 7.0),
]


@pytest.mark.parametrize(
    ("device_state", "counted"),
    [
        ("SMART_CONTROL_CAPABLE", True),
        ("SMART_CONTROL_IN_PROGRESS", True),
        ("BOOSTING", True),
        ("SMART_CONTROL_NOT_AVAILABLE", False),  # unplugged or away
        ("SMART_CONTROL_OFF", False),
        ("LOST_CONNECTION", False),
        ("TEST_CHARGE_IN_PROGRESS", False),
        ("SETUP_COMPLETE", False),
        ("AUTHENTICATION_COMPLETE", False),
        ("RETIRED", False),
        (None, False),
    ],
)
def test_dispatches_count_only_in_three_device_states(
    device_state: str | None, counted: bool
) -> None:
    windows = counted_windows(device_state, PLAN)
    if counted:
        # touching SMART dispatches merge; the boost stays apart
        assert windows == [
            window("2026-03-27T19:00:00Z", "2026-03-27T20:30:00Z"),
            window("2026-03-28T01:00:00Z", "2026-03-28T02:00:00Z", BOOST),
        ]
    else:
        assert windows == []
    shown = smart_device_state(device_state, PLAN, utc("2026-03-27T19:15:00Z"))
    assert shown.dispatching is counted
    assert len(shown.planned_dispatches) == (3 if counted else 0)


@pytest.mark.parametrize(
    ("now", "dispatching", "boosting", "next_start"),
    [
        ("2026-03-27T18:59:59Z", False, False, "2026-03-27T19:00:00Z"),
        ("2026-03-27T19:00:00Z", True, False, "2026-03-27T19:00:00Z"),
        ("2026-03-27T20:29:59Z", True, False, "2026-03-27T19:00:00Z"),
        ("2026-03-27T20:30:00Z", False, False, None),
        ("2026-03-28T01:30:00Z", False, True, None),
    ],
)
def test_dispatching_follows_the_exact_window(
    now: str, dispatching: bool, boosting: bool, next_start: str | None
) -> None:
    shown = smart_device_state("SMART_CONTROL_CAPABLE", PLAN, utc(now))
    assert (shown.dispatching, shown.boosting) == (dispatching, boosting)
    assert shown.next_dispatch_start == (utc(next_start) if next_start else None)


def test_two_devices_overlapping_combine_by_union() -> None:
    car = counted_windows(
        "SMART_CONTROL_IN_PROGRESS",
        [PlannedDispatch(utc("2026-03-27T18:00:00Z"), utc("2026-03-27T19:10:00Z"), SMART, 9.0)],
    )
    charger = counted_windows(
        "SMART_CONTROL_CAPABLE",
        [PlannedDispatch(utc("2026-03-27T18:40:00Z"), utc("2026-03-27T20:00:00Z"), SMART, 5.0)],
    )
    home = billable_windows([*car, *charger], AllowanceRule())
    assert home == [window("2026-03-27T18:00:00Z", "2026-03-27T20:00:00Z")]
    cheap = [
        slot
        for slot in day_slots(date(2026, 3, 27))
        if (price := slot_price(IOG, slot, home)) and price.source is RateSource.SMART_DISPATCH
    ]
    assert cheap == [utc(f"2026-03-27T{t}:00Z") for t in ("18:00", "18:30", "19:00", "19:30")]
    # 120 minutes of union, not 70 + 80
    status = allowance_status(home, AllowanceRule(), utc("2026-03-27T21:00:00Z"))
    assert status.used_minutes == 120


# --- the allowance ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "day_start", "start", "end"),
    [
        ("2026-03-27T11:59:00Z", time(12), "2026-03-26T12:00:00Z", "2026-03-27T12:00:00Z"),
        ("2026-03-27T12:00:00Z", time(12), "2026-03-27T12:00:00Z", "2026-03-28T12:00:00Z"),
        # noon to noon across the spring change is 23 hours
        ("2026-03-29T10:00:00Z", time(12), "2026-03-28T12:00:00Z", "2026-03-29T11:00:00Z"),
        ("2026-10-25T11:30:00Z", time(12), "2026-10-24T11:00:00Z", "2026-10-25T12:00:00Z"),
        ("2026-03-27T03:00:00Z", time(0), "2026-03-27T00:00:00Z", "2026-03-28T00:00:00Z"),
        ("2026-07-01T03:00:00Z", time(5, 30), "2026-06-30T04:30:00Z", "2026-07-01T04:30:00Z"),
    ],
)
def test_allowance_day_is_local_clock_to_local_clock(
    when: str, day_start: time, start: str, end: str
) -> None:
    assert allowance_day(utc(when), day_start) == (utc(start), utc(end))


# (case, windows, billable SMART windows with a 360-minute cap from noon)
ALLOWANCE_CASES = [
    (
        "under the cap",
        [window("2026-03-27T13:00:00Z", "2026-03-27T15:00:00Z")],
        [window("2026-03-27T13:00:00Z", "2026-03-27T15:00:00Z")],
    ),
    (
        "crossing the limit mid-slot at 19:10",
        [
            window("2026-03-27T12:30:00Z", "2026-03-27T17:50:00Z"),  # 320 minutes
            window("2026-03-27T18:30:00Z", "2026-03-27T20:00:00Z"),  # 40 more at 19:10
        ],
        [
            window("2026-03-27T12:30:00Z", "2026-03-27T17:50:00Z"),
            window("2026-03-27T18:30:00Z", "2026-03-27T19:10:00Z"),
        ],
    ),
    (
        "night charging counts too and a new allowance day starts at noon",
        [
            window("2026-03-27T23:30:00Z", "2026-03-28T05:30:00Z"),  # 360 in the window
            window("2026-03-28T09:00:00Z", "2026-03-28T10:00:00Z"),  # nothing left
            window("2026-03-28T11:30:00Z", "2026-03-28T12:30:00Z"),  # 30 new minutes
        ],
        [
            window("2026-03-27T23:30:00Z", "2026-03-28T05:30:00Z"),
            window("2026-03-28T12:00:00Z", "2026-03-28T12:30:00Z"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("windows", "billable"),
    [case[1:] for case in ALLOWANCE_CASES],
    ids=[case[0] for case in ALLOWANCE_CASES],
)
def test_smart_dispatch_past_the_allowance_is_not_billable(
    windows: list[DispatchWindow], billable: list[DispatchWindow]
) -> None:
    assert billable_windows(windows, AllowanceRule()) == billable
    assert billable_windows(windows, NO_CAP) == sorted(windows, key=lambda w: w.start)


def test_allowance_crossing_mid_slot_keeps_that_slot_cheap_and_not_the_next() -> None:
    windows = [w for _, ws, _ in ALLOWANCE_CASES[1:2] for w in ws]
    home = billable_windows(windows, AllowanceRule())
    rates = {utc(s): p for s, p in [("2026-03-27T19:00:00Z", IOG_PEAK)]} | IOG
    assert slot_price(rates, utc("2026-03-27T19:00:00Z"), home).source is RateSource.SMART_DISPATCH  # type: ignore[union-attr]
    after = slot_price(rates, utc("2026-03-27T19:30:00Z"), home)
    assert after is not None
    assert (after.effective_rate, after.source) == (IOG_PEAK, RateSource.TARIFF)
    # no cap: the same dispatch keeps 19:30 cheap
    uncapped = slot_price(rates, utc("2026-03-27T19:30:00Z"), billable_windows(windows, NO_CAP))
    assert uncapped is not None
    assert uncapped.effective_rate == IOG_OFF_PEAK


@pytest.mark.parametrize(
    ("now", "used", "left", "reached"),
    [
        ("2026-03-27T12:00:00Z", 0, 360, False),
        ("2026-03-27T17:50:00Z", 320, 40, False),
        ("2026-03-27T19:09:00Z", 359, 1, False),
        ("2026-03-27T19:10:00Z", 360, 0, True),
        ("2026-03-27T19:40:00Z", 390, 0, True),  # the car still charges, at peak
        ("2026-03-28T12:00:00Z", 0, 360, False),  # a new allowance day
    ],
)
def test_allowance_status_counts_what_has_run(
    now: str, used: int, left: int, reached: bool
) -> None:
    windows = ALLOWANCE_CASES[1][1]
    status = allowance_status(windows, AllowanceRule(), utc(now))
    assert (status.used_minutes, status.left_minutes, status.reached) == (used, left, reached)
    no_cap = allowance_status(windows, NO_CAP, utc(now))
    assert (no_cap.used_minutes, no_cap.left_minutes, no_cap.reached) == (used, None, False)


# --- four-rate EV tariffs ---------------------------------------------------------------


def _point(tariff_code: str, typename: str | None) -> MeterPoint:
    return MeterPoint("1900000000001", "IMPORT", "P", tariff_code, None, tariff_typename=typename)


@pytest.mark.parametrize(
    ("tariff_code", "group", "typename", "override", "four_rate"),
    [
        # The newer IOG products: E-1R- codes in the product's four-rate EV group.
        ("E-1R-IOG-SMB-TOU-25-12-12-E", RegisterGroup.FOUR_RATE_EV, None, None, True),
        ("E-1R-IOG-SMB-TOU-25-12-12-E", None, "FourRateEvTariff", None, True),
        ("E-1R-INTELLI-VAR-24-10-29-C", RegisterGroup.SINGLE, "StandardTariff", None, False),
        # A prefix says nothing: an E-4R- code the product lists as single is single.
        ("E-4R-INTELLI-EV-25-01-01-C", RegisterGroup.SINGLE, None, None, False),
        ("E-1R-INTELLI-VAR-24-10-29-C", RegisterGroup.SINGLE, None, True, True),
        ("E-1R-IOG-SMB-TOU-25-12-12-E", RegisterGroup.FOUR_RATE_EV, None, False, False),
    ],
)
def test_four_rate_detected_from_the_product_or_kraken_type_unless_overridden(
    tariff_code: str,
    group: RegisterGroup | None,
    typename: str | None,
    override: bool | None,
    four_rate: bool,
) -> None:
    assert is_four_rate_ev(_point(tariff_code, typename), group, override) is four_rate


def test_four_rate_home_keeps_the_tariff_rate_and_the_car_gets_the_ev_rate() -> None:
    car = [window("2026-03-27T19:00:00Z", "2026-03-27T20:00:00Z")]
    now = utc("2026-03-27T19:15:00Z")
    home = tariff_state(
        IOG,
        now,
        standing_charge=None,
        product_code=None,
        tariff_code="E-4R-X",
        dispatches=car,
        four_rate_ev=True,
    )
    assert (home.unit_rate, home.rate_source, home.price_quadrant) == (
        IOG_PEAK,
        RateSource.TARIFF,
        3,
    )
    assert ev_unit_rate(IOG, now, car, home_rate=home.unit_rate, four_rate_ev=True) == IOG_OFF_PEAK
    assert (
        ev_unit_rate(
            IOG, now, car, home_rate=home.unit_rate, four_rate_ev=True, ev_off_peak_rate=6.5
        )
        == 6.5
    )
    # a second car without a dispatch pays the home's rate
    assert ev_unit_rate(IOG, now, [], home_rate=home.unit_rate, four_rate_ev=True) == IOG_PEAK
    # an ordinary tariff: the car pays what the home pays
    assert ev_unit_rate(IOG, now, car, home_rate=IOG_OFF_PEAK, four_rate_ev=False) == IOG_OFF_PEAK


def test_a_device_keeps_only_its_billable_part_of_the_home_dispatch() -> None:
    own = [window("2026-03-27T18:30:00Z", "2026-03-27T20:00:00Z")]
    home = [window("2026-03-27T12:30:00Z", "2026-03-27T17:50:00Z"), *own]
    billable = billable_windows(home, AllowanceRule())
    assert intersect_windows(own, billable) == [
        window("2026-03-27T18:30:00Z", "2026-03-27T19:10:00Z")
    ]


# --- product change -----------------------------------------------------------------------


def test_a_change_of_product_is_reported_once_per_meter_point() -> None:
    agile = Agreement("AGILE-24-10-01", "E-1R-AGILE-24-10-01-C")
    iog = Agreement("INTELLI-VAR-24-10-29", "E-1R-INTELLI-VAR-24-10-29-C")
    outgoing = Agreement("OUTGOING-VAR-24-10-26", "E-1R-OUTGOING-VAR-24-10-26-C")
    assert product_changes({}, {"1": agile}) == []
    changes = product_changes({"1": agile, "2": outgoing}, {"1": iog, "2": outgoing})
    assert [(c.meter_point, c.previous, c.current) for c in changes] == [("1", agile, iog)]
    regional = Agreement("AGILE-24-10-01", "E-1R-AGILE-24-10-01-A")
    assert product_changes({"1": agile}, {"1": regional}) == []


# --- properties ---------------------------------------------------------------------------

iog_days = st.dates(date(2026, 1, 2), date(2026, 12, 28))
minutes = st.integers(0, 47 * 30)


@st.composite
def dispatch_windows(draw: st.DrawFn, day: date) -> list[DispatchWindow]:
    start_of_day = local_day_bounds(day)[0]
    windows = []
    for _ in range(draw(st.integers(0, 4))):
        start = start_of_day + timedelta(minutes=draw(minutes))
        length = timedelta(minutes=draw(st.integers(1, 300)))
        kind = draw(st.sampled_from([SMART, BOOST, TEST]))
        windows.append(DispatchWindow(start, start + length, kind))
    return windows


@given(st.data(), iog_days, st.booleans(), st.sampled_from([0, 60, 360]))
def test_effective_rate_is_always_one_of_the_days_scheduled_rates(
    data: st.DataObject, day: date, four_rate: bool, limit: int
) -> None:
    rows = iog_rows(day - timedelta(days=1), 3)
    agile = data.draw(st.booleans())
    if agile:
        prices = data.draw(
            st.lists(st.floats(-20, 100).map(lambda p: round(p, 2)), min_size=50, max_size=50)
        )
        rows = agile_rows(day, prices)
    rates = half_hour_rates(rows, *local_day_bounds(day))
    windows = billable_windows(data.draw(dispatch_windows(day)), AllowanceRule(limit))
    now = data.draw(st.sampled_from(day_slots(day))) + timedelta(
        minutes=data.draw(st.integers(0, 29))
    )
    state = tariff_state(
        rates,
        now,
        standing_charge=None,
        product_code=None,
        tariff_code=None,
        dispatches=windows,
        four_rate_ev=four_rate,
    )
    scheduled = set(rates.values())
    assert state.unit_rate in scheduled
    assert state.price_quadrant is not None
    assert 0 <= state.price_quadrant <= 3
    if state.rate_source is not RateSource.SMART_DISPATCH:
        assert state.unit_rate == state.tariff_unit_rate
    else:
        assert state.unit_rate == min(scheduled)
    assert local_day(state.slot_start) == day
