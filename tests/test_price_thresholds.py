"""Price thresholds: "is now inside the cheapest (or best-paid) N hours between two clock
times", answered by find_cheapest_window with ``from_time``/``to_time`` (and ``highest``),
from the real engine against the simulator on a simulated clock; and the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from kraken_core.api.models import ActionError
from kraken_core.domain.cheapest import clock_range, most_expensive_window
from kraken_core.service import Service
from kraken_core.simulator.scenario import load_scenario
from tests.helpers.bridge_process import SCENARIOS
from tests.helpers.service_harness import running

SCENARIO = SCENARIOS / "agile_balance_owed_home_mini_silent.json"
IMPORT = "import_tariff.1900000000001"
EXPORT = "export_tariff.1900000000002"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


async def ask(service: Service, device_id: str, **body: Any) -> dict[str, Any]:
    answer = await service.backend.perform(device_id, "find_cheapest_window", body)
    assert answer.status == 200, answer.body
    return answer.body


def test_a_clock_range_is_the_one_holding_now_else_the_next_in_uk_time() -> None:
    night = time(22, 0), time(7, 0)
    # Inside, after midnight: the range began the evening before.
    assert clock_range(at("2026-03-10T02:00:00Z"), *night) == (
        at("2026-03-09T22:00:00Z"),
        at("2026-03-10T07:00:00Z"),
    )
    # Outside: tonight's.
    assert clock_range(at("2026-03-10T14:00:00Z"), *night) == (
        at("2026-03-10T22:00:00Z"),
        at("2026-03-11T07:00:00Z"),
    )
    # Its end is not part of it.
    assert clock_range(at("2026-03-10T07:00:00Z"), *night)[0] == at("2026-03-10T22:00:00Z")
    # The clocks go forward on 29 March: 22:00 GMT to 07:00 BST is eight hours.
    start, end = clock_range(at("2026-03-29T00:30:00Z"), *night)
    assert (start, end) == (at("2026-03-28T22:00:00Z"), at("2026-03-29T06:00:00Z"))
    # Summer: UK clock times are an hour ahead of UTC.
    assert clock_range(at("2026-07-01T11:00:00Z"), time(13, 0), time(16, 0)) == (
        at("2026-07-01T12:00:00Z"),
        at("2026-07-01T15:00:00Z"),
    )
    with pytest.raises(ValueError, match="two different times"):
        clock_range(at("2026-07-01T11:00:00Z"), time(13, 0), time(13, 0))


def test_the_best_paid_window_is_the_highest_average() -> None:
    start = at("2026-03-10T16:00:00Z")
    rates = {start + timedelta(minutes=30 * i): p for i, p in enumerate([20, 24, 26, 25, 21])}
    found = most_expensive_window(rates, timedelta(hours=1), start, start + timedelta(hours=3))
    assert found is not None
    assert (found.start, found.end, found.average_rate) == (
        at("2026-03-10T17:00:00Z"),
        at("2026-03-10T18:00:00Z"),
        25.5,
    )


async def test_inside_the_cheapest_hour_between_two_times(tmp_path: Path) -> None:
    async with running(load_scenario(SCENARIO), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T14:15:00Z"))
        # Between 13:00 and 16:00 the cheapest hour is 14:00-15:00 (below zero): now.
        inside = await ask(service, IMPORT, duration_minutes=60, from_time="13:00", to_time="16:00")
        assert inside == {
            "start": "2026-03-10T14:00:00Z",
            "end": "2026-03-10T15:00:00Z",
            "average_unit_rate": -2.25,
            "includes_now": True,
            "range_start": "2026-03-10T13:00:00Z",
            "range_end": "2026-03-10T16:00:00Z",
        }
        # The past part of the range counts: from 14:00 on the answer stays the same.
        later = await ask(service, IMPORT, duration_minutes=60, from_time="13:30", to_time="16:00")
        assert (later["start"], later["includes_now"]) == ("2026-03-10T14:00:00Z", True)
        # 15:00-18:00 has not begun: its cheapest hour is its first, and not now.
        ahead = await ask(service, IMPORT, duration_minutes=60, from_time="15:00", to_time="18:00")
        assert (ahead["start"], ahead["includes_now"]) == ("2026-03-10T15:00:00Z", False)
        # 12:00-14:00 is over for today and tomorrow's prices are not out: simply "no".
        over = await ask(service, IMPORT, duration_minutes=60, from_time="12:00", to_time="14:00")
        assert over == {
            "start": None,
            "end": None,
            "average_unit_rate": None,
            "includes_now": False,
            "range_start": "2026-03-11T12:00:00Z",
            "range_end": "2026-03-11T14:00:00Z",
        }
        # Tonight's range is priced up to midnight only: the search keeps to known prices.
        tonight = await ask(
            service, IMPORT, duration_minutes=60, from_time="22:00", to_time="07:00"
        )
        assert (tonight["start"], tonight["range_end"]) == (
            "2026-03-10T22:00:00Z",
            "2026-03-11T07:00:00Z",
        )


async def test_inside_the_best_paid_hour_of_an_export_tariff(tmp_path: Path) -> None:
    async with running(load_scenario(SCENARIO), tmp_path) as (_, service, clock):
        await service.engine.run_until(clock, at("2026-03-10T12:15:00Z"))
        best = await ask(
            service, EXPORT, duration_minutes=60, from_time="12:00", to_time="15:00", highest=True
        )
        assert (best["start"], best["end"], best["average_unit_rate"], best["includes_now"]) == (
            "2026-03-10T12:00:00Z",
            "2026-03-10T13:00:00Z",
            9.25,
            True,
        )
        evening = await ask(
            service, EXPORT, duration_minutes=60, from_time="15:00", to_time="19:00", highest=True
        )
        assert (evening["start"], evening["includes_now"]) == ("2026-03-10T17:00:00Z", False)
        # Without highest, the same range's cheapest export hour (the worst paid).
        worst = await ask(service, EXPORT, duration_minutes=60, from_time="12:00", to_time="15:00")
        assert worst["start"] == "2026-03-10T14:00:00Z"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"from_time": "22:00"}, "give from_time and to_time together"),
        (
            {"from_time": "22:00", "to_time": "07:00", "to": "2026-03-11T07:00:00Z"},
            "either from/to (times) or from_time/to_time",
        ),
        ({"from_time": "22:00", "to_time": "22:00"}, "give a range"),
        ({"from_time": "25:00", "to_time": "07:00"}, "from_time"),
    ],
)
async def test_a_clock_range_that_does_not_fit_is_refused_with_what_to_do(
    tmp_path: Path, body: dict[str, Any], words: str
) -> None:
    async with running(load_scenario(SCENARIO), tmp_path) as (_, service, _clock):
        with pytest.raises(ActionError) as refused:
            await service.backend.perform(
                IMPORT, "find_cheapest_window", {"duration_minutes": 60, **body}
            )
    assert refused.value.status == 422
    assert words in refused.value.message
