"""What the product and tariff codes say: four-rate EV tariffs, and a change of product."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Kraken tariff codes name the number of registers: E-1R single rate, E-2R day/night,
# E-4R the four-rate EV tariffs (home peak/off-peak, EV peak/off-peak).
FOUR_RATE_TARIFF_PREFIX = "E-4R-"


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
