"""The register rules of kraken_core.domain.registers: a null or zero register is a
missing reading, a register that (re)appears starts a baseline, consumptionDelta fills a
missing consumption, registers never go down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kraken_core.domain.registers import (
    Known,
    MeterReading,
    MeterRegisters,
    attribute_readings,
    filled_consumption,
    register_value,
)

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SPAN = timedelta(minutes=35)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def latest(minutes: float, consumption: float | None, export: float | None = None) -> MeterReading:
    return MeterReading(at(minutes), at(minutes), consumption, None, export)


def test_null_zero_and_negative_registers_are_missing() -> None:
    assert register_value(None) is None
    assert register_value(0.0) is None
    assert register_value(-5.0) is None
    assert register_value(12.5) == 12.5


def test_export_that_turns_from_null_to_its_lifetime_value_is_a_baseline_not_energy() -> None:
    readings = [
        latest(1, 1000.0, None),
        latest(2, 1010.0, None),
        latest(3, 1020.0, 5_000_000.0),  # the meter starts reporting export
        latest(4, 1030.0, 5_000_002.0),
    ]
    result = attribute_readings(MeterRegisters(), readings, max_span=SPAN)
    exported = sum(slot.export_wh for slot in result.slots.values())
    imported = sum(slot.import_wh for slot in result.slots.values())
    assert exported == 2.0
    assert imported == 30.0
    assert result.registers.exported == Known(at(4), 5_000_002.0)
    assert [r.export_wh for r in result.accepted] == [None, None, 5_000_000.0, 5_000_002.0]


def test_a_meter_that_never_reports_export_keeps_it_unknown() -> None:
    readings = [latest(1, 1000.0, 0.0), latest(2, 1010.0, None)]
    result = attribute_readings(MeterRegisters(), readings, max_span=SPAN)
    assert result.registers.exported is None
    assert all(slot.export_wh == 0.0 for slot in result.slots.values())


def test_a_zero_register_is_skipped_and_the_next_real_one_shares_the_rise() -> None:
    last = MeterRegisters(Known(at(0), 1000.0))
    readings = [latest(1, 0.0), latest(2, 0.0), latest(3, 1030.0)]
    result = attribute_readings(last, readings, max_span=SPAN)
    assert sum(slot.import_wh for slot in result.slots.values()) == 30.0
    assert result.slots[T0].covered_s == 180.0
    assert [r.at for r in result.accepted] == [at(3)]


def test_a_register_back_after_a_long_absence_is_a_new_baseline() -> None:
    last = MeterRegisters(Known(at(0), 1000.0), Known(at(0), 50.0))
    readings = [latest(m, 1000.0 + m, None) for m in range(1, 61)]
    readings.append(latest(61, 1061.0, 9_050.0))  # export back after an hour
    result = attribute_readings(last, readings, max_span=SPAN)
    assert sum(slot.export_wh for slot in result.slots.values()) == 0.0
    assert round(sum(slot.import_wh for slot in result.slots.values()), 6) == 61.0
    assert result.registers.exported == Known(at(61), 9_050.0)


def test_registers_never_go_down() -> None:
    last = MeterRegisters(Known(at(0), 1000.0))
    result = attribute_readings(last, [latest(1, 900.0), latest(2, 1010.0)], max_span=SPAN)
    assert result.registers.imported == Known(at(2), 1010.0)
    assert sum(slot.import_wh for slot in result.slots.values()) == 10.0


def test_consumption_delta_fills_a_missing_register_only_for_the_next_bucket() -> None:
    last = Known(at(0), 1000.0)
    following = MeterReading(at(0), at(30), None, 250.0)
    later = MeterReading(at(30), at(60), 0.0, 250.0)
    assert filled_consumption(following, last) == 1250.0
    assert filled_consumption(later, last) is None  # not where the register stood
    result = attribute_readings(MeterRegisters(last), [following, later], max_span=SPAN)
    assert result.registers.imported == Known(at(60), 1500.0)
    assert [round(result.slots[at(m)].import_wh, 6) for m in (0, 30)] == [250.0, 250.0]


def test_readings_not_newer_than_the_registers_are_ignored() -> None:
    last = MeterRegisters(Known(at(5), 1000.0))
    result = attribute_readings(last, [latest(4, 2000.0), latest(5, 2000.0)], max_span=SPAN)
    assert result.accepted == []
    assert result.registers == last


def test_a_hole_longer_than_the_span_leaves_the_slots_between_uncovered() -> None:
    last = MeterRegisters(Known(at(0), 1000.0))
    readings = [latest(15, 1250.0), latest(10, 900.0), latest(20, 1100.0), latest(180, 5000.0)]
    result = attribute_readings(last, readings, max_span=SPAN)
    assert [r.import_wh for r in result.accepted] == [1000.0, 1250.0, 1250.0, 5000.0]
    assert set(result.slots) == {T0}  # nothing invented for the 2 h 40 min hole
    assert result.slots[T0].import_wh == 250.0
    assert result.slots[T0].covered_s == 20 * 60
    assert result.registers.imported == Known(at(180), 5000.0)


def test_a_rise_is_shared_between_the_slots_it_spans_in_proportion_to_time() -> None:
    last = MeterRegisters(Known(at(20), 1000.0), Known(at(20), 50.0))
    result = attribute_readings(last, [latest(40, 1200.0, 70.0)], max_span=SPAN)
    first, second = (result.slots[s] for s in sorted(result.slots))
    assert (round(first.import_wh, 6), round(second.import_wh, 6)) == (100.0, 100.0)
    assert (round(first.export_wh, 6), round(second.export_wh, 6)) == (10.0, 10.0)
