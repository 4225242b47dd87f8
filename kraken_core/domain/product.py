"""The household's meter points and what their products say: which point is the home's
import, the tariff's register group (single, day/night, four-rate EV) and night hours,
and a change of product."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, time
from enum import StrEnum
from typing import Literal

from kraken_core.domain.timeline import LONDON, NightWindow

Direction = Literal["IMPORT", "EXPORT"]
NightOverride = Literal["smart_meter", "older_meter"]


class RegisterGroup(StrEnum):
    """How a tariff's unit rates are published (shared kraken/README.md, "Unit rates"):
    the product's register group, never the tariff code's prefix (the newer Intelligent
    Octopus Go products are four-rate EV tariffs with ``E-1R-`` codes)."""

    SINGLE = "single"  # standard-unit-rates: Agile, Tracker, Go, Cosy, Flux, Outgoing, gas
    DAY_NIGHT = "day_night"  # day- and night-unit-rates: Economy 7 (E-2R-)
    FOUR_RATE_EV = "four_rate_ev"  # day and night for the home, EV rates for the car


#: ``GET /v1/products/{code}/`` keys and the group each is (developer.octopus.energy/rest).
PRODUCT_GROUPS: Mapping[str, RegisterGroup] = {
    "single_register_electricity_tariffs": RegisterGroup.SINGLE,
    "dual_register_electricity_tariffs": RegisterGroup.DAY_NIGHT,
    "four_rate_ev_electricity_tariffs": RegisterGroup.FOUR_RATE_EV,
    "single_register_gas_tariffs": RegisterGroup.SINGLE,
}

# Night hours are not in Kraken's data (shared kraken/README.md, "Unit rates"): an
# Economy 7 smart meter keeps GMT all year, an older meter's time switch follows the
# local clock; the four-rate EV tariffs' home night is IOG's 23:30-05:30 UK time.
SMART_METER_NIGHT = NightWindow(time(0, 30), time(7, 30), UTC)
OLDER_METER_NIGHT = NightWindow(time(0, 0), time(7, 0), LONDON)
FOUR_RATE_EV_NIGHT = NightWindow(time(23, 30), time(5, 30), LONDON)

# Kraken's ElectricityMeterMeterType: S1 is SMETS1, S2A … S2CDE are SMETS2 (``S`` alone is
# a smartcard prepayment meter, not a smart meter).
_SMART_METER_TYPES = ("S1", "S2")


@dataclass(frozen=True)
class MeterPoint:
    """An electricity meter point and the agreement in force on it."""

    mpan: str
    direction: Direction
    product_code: str
    tariff_code: str
    telemetry_device_id: str | None  # the Home Mini's, when there is one
    meter_type: str | None = None  # Kraken's ElectricityMeterMeterType (S1, S2ADE, N, …)
    tariff_typename: str | None = None  # StandardTariff, DayNightTariff, FourRateEvTariff, …
    ev_device_peak_rate: float | None = None  # FourRateEvTariff only, p/kWh inc. VAT
    ev_device_off_peak_rate: float | None = None

    @property
    def device_kind(self) -> Literal["import_tariff", "export_tariff"]:
        return "export_tariff" if self.direction == "EXPORT" else "import_tariff"

    @property
    def device_id(self) -> str:
        return f"{self.device_kind}.{self.mpan}"


@dataclass(frozen=True)
class GasMeterPoint:
    """A gas meter point and the agreement in force on it."""

    mprn: str
    product_code: str
    tariff_code: str
    serial_number: str | None
    telemetry_device_id: str | None  # the Home Mini's smartGasMeter id, when there is one

    @property
    def tariff_device_id(self) -> str:
        return f"gas_tariff.{self.mprn}"

    @property
    def meter_device_id(self) -> str:
        return f"gas_meter.{self.mprn}"


def is_smart_meter(point: MeterPoint) -> bool:
    """Whether the meter keeps smart-meter time: by Kraken's meter type when it gives one,
    else by whether the meter has a Home Mini (only smart meters have one)."""
    if point.meter_type:
        return point.meter_type.upper().startswith(_SMART_METER_TYPES)
    return point.telemetry_device_id is not None


def night_window(
    point: MeterPoint, group: RegisterGroup | None, override: NightOverride | None = None
) -> NightWindow | None:
    """The night hours of a two-register tariff on this meter, None for single-register.
    ``override`` (a setting) says which kind of meter it is when Kraken's answer is wrong."""
    if group == RegisterGroup.FOUR_RATE_EV:
        return FOUR_RATE_EV_NIGHT
    if group != RegisterGroup.DAY_NIGHT:
        return None
    smart = is_smart_meter(point) if override is None else override == "smart_meter"
    return SMART_METER_NIGHT if smart else OLDER_METER_NIGHT


@dataclass(frozen=True)
class HouseholdTariffs:
    """The points the household's prices come from."""

    import_point: MeterPoint | None  # the home's import: its price is what the home pays
    export_point: MeterPoint | None
    four_rate_ev: bool  # only the car's own charging is discounted during a dispatch


def household_tariffs(
    points: Iterable[MeterPoint],
    four_rate_override: bool | None = None,
    groups: Mapping[str, RegisterGroup] | None = None,
) -> HouseholdTariffs:
    """The first import and export point (Kraken lists the main meter first) and whether
    the import tariff is a four-rate EV tariff (``groups``: register group by tariff code,
    from the products; ``four_rate_override`` is a setting)."""
    listed = list(points)
    import_point = next((p for p in listed if p.direction == "IMPORT"), None)
    export_point = next((p for p in listed if p.direction == "EXPORT"), None)
    four_rate = import_point is not None and is_four_rate_ev(
        import_point, (groups or {}).get(import_point.tariff_code), four_rate_override
    )
    return HouseholdTariffs(import_point, export_point, four_rate)


@dataclass(frozen=True)
class Agreement:
    product_code: str
    tariff_code: str


@dataclass(frozen=True)
class ProductChange:
    meter_point: str  # the MPAN
    previous: Agreement
    current: Agreement


def is_four_rate_ev(
    point: MeterPoint, group: RegisterGroup | None, override: bool | None = None
) -> bool:
    """Whether only the car's own use is discounted during a dispatch: the product lists
    the tariff as four-rate EV, or Kraken's agreement says ``FourRateEvTariff``.

    ``override`` (a setting) wins over both.
    """
    if override is not None:
        return override
    return group == RegisterGroup.FOUR_RATE_EV or point.tariff_typename == "FourRateEvTariff"


def product_changes(
    previous: Mapping[str, Agreement], current: Mapping[str, Agreement]
) -> list[ProductChange]:
    """Meter points whose product changed between two account answers (Agile → IOG).

    A meter point seen for the first time is not a change; a new tariff code of the same
    product (a regional or dated variant) is not a change of product either.
    """
    return [
        ProductChange(mpan, previous[mpan], agreement)
        for mpan, agreement in sorted(current.items())
        if mpan in previous and previous[mpan].product_code != agreement.product_code
    ]
