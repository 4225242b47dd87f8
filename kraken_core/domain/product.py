"""The household's meter points and what their product and tariff codes say: which
point is the home's import, four-rate EV tariffs, and a change of product."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Direction = Literal["IMPORT", "EXPORT"]

# Kraken tariff codes name the number of registers: E-1R single rate, E-2R day/night,
# E-4R the four-rate EV tariffs (home peak/off-peak, EV peak/off-peak).
FOUR_RATE_TARIFF_PREFIX = "E-4R-"


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


@dataclass(frozen=True)
class HouseholdTariffs:
    """The points the household's prices come from."""

    import_point: MeterPoint | None  # the home's import: its price is what the home pays
    export_point: MeterPoint | None
    four_rate_ev: bool  # only the car's own charging is discounted during a dispatch


def household_tariffs(
    points: Iterable[MeterPoint], four_rate_override: bool | None = None
) -> HouseholdTariffs:
    """The first import and export point (Kraken lists the main meter first) and whether
    the import tariff is a four-rate EV tariff (``four_rate_override`` is a setting)."""
    listed = list(points)
    import_point = next((p for p in listed if p.direction == "IMPORT"), None)
    export_point = next((p for p in listed if p.direction == "EXPORT"), None)
    four_rate = import_point is not None and is_four_rate_ev(
        import_point.tariff_code, four_rate_override
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


def is_four_rate_ev(tariff_code: str | None, override: bool | None = None) -> bool:
    """Whether only the car's own use is discounted during a dispatch.

    ``override`` (a setting) wins over what the tariff code says.
    """
    if override is not None:
        return override
    return bool(tariff_code) and str(tariff_code).upper().startswith(FOUR_RATE_TARIFF_PREFIX)


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
