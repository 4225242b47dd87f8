"""Octopus products (``GET /v1/products/{code}/``): which tariffs exist and what they link.

Kraken README, "Unit rates": a product lists its tariffs by register group
(``single_register_electricity_tariffs``, ``dual_register_electricity_tariffs``,
``four_rate_ev_electricity_tariffs``, ``single_register_gas_tariffs``), each keyed by
region ``_A``…``_P``, then by payment method (``direct_debit_monthly``, ``varying``), each
with ``code`` (the tariff code) and ``links`` whose ``rel`` names the rate resources the
tariff has. Which rates endpoints a tariff answers follows from those links.

A scenario may give a product's body as Octopus writes it (``products``); a product it does
not give is derived from the tariff codes it gives (DESIGN.md, "Real tariff shapes"):
single-register for codes in ``unit_rates`` (gas ``G-`` codes in the gas group),
dual-register for codes in ``day_unit_rates``/``night_unit_rates``, one entry per code in
the region of its last letter, paid ``direct_debit_monthly``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from kraken_core.simulator.scenario import ElectricityMeterPoint, Scenario

#: Where Octopus's own links point (Kraken README, "Transport and auth" / "Unit rates").
OCTOPUS_API = "https://api.octopus.energy/"

RegisterGroup = Literal[
    "single_register_electricity_tariffs",
    "dual_register_electricity_tariffs",
    "four_rate_ev_electricity_tariffs",
    "single_register_gas_tariffs",
]
REGISTER_GROUPS: tuple[RegisterGroup, ...] = (
    "single_register_electricity_tariffs",
    "dual_register_electricity_tariffs",
    "four_rate_ev_electricity_tariffs",
    "single_register_gas_tariffs",
)
Fuel = Literal["electricity", "gas"]
GROUP_FUEL: dict[RegisterGroup, Fuel] = {
    "single_register_electricity_tariffs": "electricity",
    "dual_register_electricity_tariffs": "electricity",
    "four_rate_ev_electricity_tariffs": "electricity",
    "single_register_gas_tariffs": "gas",
}
#: The ``rel`` of a tariff's links (Kraken README, "Unit rates").
LinkRel = Literal["standard_unit_rates", "day_unit_rates", "night_unit_rates", "standing_charges"]
#: Region keys (Kraken README, "Unit rates": ``_A``…``_P``) and payment methods.
REGIONS = tuple(f"_{letter}" for letter in "ABCDEFGHIJKLMNOP")
PAYMENT_METHODS = ("direct_debit_monthly", "varying")
DERIVED_PAYMENT_METHOD = "direct_debit_monthly"

#: What each register group links when the simulator derives it. Single-register
#: tariffs have ``standard-unit-rates``; dual-register (Economy 7) and four-rate EV
#: tariffs have day and night rates and no standard rates (Kraken README, "Unit rates").
GROUP_RATE_RELS: dict[RegisterGroup, tuple[LinkRel, ...]] = {
    "single_register_electricity_tariffs": ("standard_unit_rates", "standing_charges"),
    "dual_register_electricity_tariffs": ("day_unit_rates", "night_unit_rates", "standing_charges"),
    "four_rate_ev_electricity_tariffs": ("day_unit_rates", "night_unit_rates", "standing_charges"),
    "single_register_gas_tariffs": ("standard_unit_rates", "standing_charges"),
}

#: ``E-1R-AGILE-24-10-01-C``: fuel, register count, product code, region letter (Kraken
#: README, "Unit rates" and "Gas": ``E-1R-…``, ``E-2R-…``, ``G-1R-…`` codes).
_TARIFF_CODE = re.compile(r"^(?P<fuel>[EG])-\d+R-(?P<product>.+)-(?P<region>[A-Z])$")

ElectricityTariffTypename = Literal[
    "StandardTariff",
    "DayNightTariff",
    "ThreeRateTariff",
    "FourRateEvTariff",
    "HalfHourlyTariff",
    "PrepayTariff",
]


class TariffLink(BaseModel):
    """One of a tariff's ``links``: ``{rel, href, method?}`` as Octopus writes it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    rel: LinkRel
    href: str = Field(min_length=1)
    method: str | None = None


class ProductTariff(BaseModel):
    """A tariff inside a product: ``code`` and ``links``; Octopus's other fields (the
    ``…_inc_vat`` prices, exit fees) are kept as given."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    code: str = Field(min_length=1)
    links: list[TariffLink]


RegionMap = dict[str, dict[str, ProductTariff]]


class Product(BaseModel):
    """The body of ``GET /v1/products/{code}/``: strict about the tariff maps, and
    keeping every other field of a real capture (``full_name``, ``is_variable``, …)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    code: str | None = None
    single_register_electricity_tariffs: RegionMap = Field(default_factory=dict)
    dual_register_electricity_tariffs: RegionMap = Field(default_factory=dict)
    four_rate_ev_electricity_tariffs: RegionMap = Field(default_factory=dict)
    single_register_gas_tariffs: RegionMap = Field(default_factory=dict)

    @field_validator(*REGISTER_GROUPS)
    @classmethod
    def _regions_and_payment_methods(cls, regions: RegionMap) -> RegionMap:
        for region, methods in regions.items():
            if region not in REGIONS:
                raise ValueError(
                    f"{region!r} is not a region: Octopus keys tariffs by region _A to _P"
                )
            for method in methods:
                if method not in PAYMENT_METHODS:
                    raise ValueError(
                        f"{region}.{method!r} is not a payment method: use "
                        f"{' or '.join(PAYMENT_METHODS)}"
                    )
        return regions

    @model_validator(mode="after")
    def _no_unknown_tariff_map(self) -> Self:
        # Any other key is kept, but a misspelt tariff map would silently list nothing.
        unknown = [key for key in self.model_extra or {} if key.endswith("_tariffs")]
        if unknown:
            raise ValueError(
                f"unknown tariff map {', '.join(unknown)}: use one of {', '.join(REGISTER_GROUPS)}"
            )
        return self

    def tariffs(self) -> Iterator[TariffEntry]:
        for group in REGISTER_GROUPS:
            regions: RegionMap = getattr(self, group)
            for methods in regions.values():
                for tariff in methods.values():
                    rels = frozenset(link.rel for link in tariff.links)
                    yield TariffEntry(tariff.code, group, rels)

    def body(self) -> dict[str, Any]:
        """The product as given (fields the file left out stay out)."""
        return self.model_dump(mode="json", exclude_unset=True)


@dataclass(frozen=True)
class TariffEntry:
    """A tariff code of a product: its register group and the rate resources it links."""

    code: str
    group: RegisterGroup
    rels: frozenset[str]

    @property
    def fuel(self) -> Fuel:
        return GROUP_FUEL[self.group]


def product_of_tariff(tariff_code: str) -> tuple[Fuel, str] | None:
    """The fuel and product code written inside a tariff code, if it has the usual form."""
    parts = _TARIFF_CODE.match(tariff_code)
    if parts is None:
        return None
    return ("electricity" if parts["fuel"] == "E" else "gas"), parts["product"]


def region_of(tariff_code: str) -> str:
    """The region key of a tariff code: its last letter (``…-C`` → ``_C``); a code that
    does not end in a region letter is listed under ``_A``."""
    last = tariff_code.rsplit("-", 1)[-1].upper()
    region = f"_{last}"
    return region if region in REGIONS else "_A"


def rates_href(product: str, entry: TariffEntry, rel: str) -> str:
    """A link as Octopus writes it, e.g. ``https://api.octopus.energy/v1/products/AGILE-
    24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/standard-unit-rates/``."""
    resource = rel.replace("_", "-")
    return f"{OCTOPUS_API}v1/products/{product}/{entry.fuel}-tariffs/{entry.code}/{resource}/"


class ProductCatalogue:
    """Every product the simulator knows: the scenario's own and the derived ones."""

    def __init__(self, scenario: Scenario) -> None:
        self._given = dict(scenario.products)
        self._entries: dict[str, list[TariffEntry]] = {
            code: list(product.tariffs()) for code, product in self._given.items()
        }
        for code, entries in _derive(scenario).items():
            self._entries.setdefault(code, entries)

    def knows(self, product: str) -> bool:
        return product in self._entries

    def body(self, product: str) -> dict[str, Any] | None:
        """The product's body with hrefs as Octopus writes them; None: no such product."""
        given = self._given.get(product)
        if given is not None:
            return given.body()
        entries = self._entries.get(product)
        return None if entries is None else _derived_body(product, entries)

    def tariff(self, product: str, tariff_code: str, fuel: Fuel) -> TariffEntry | None:
        """The product's tariff of that code and fuel (its links merged over regions and
        payment methods); None when the product does not list it."""
        found = [
            entry
            for entry in self._entries.get(product, [])
            if entry.code == tariff_code and entry.fuel == fuel
        ]
        if not found:
            return None
        rels = frozenset().union(*(entry.rels for entry in found))
        return TariffEntry(tariff_code, found[0].group, rels)

    def electricity_typename(self, point: ElectricityMeterPoint) -> ElectricityTariffTypename:
        """The GraphQL ``__typename`` of an agreement's tariff: the scenario's
        ``tariff_typename``, else from the product's register group for that code."""
        if point.tariff_typename is not None:
            return point.tariff_typename
        entry = self.tariff(point.product_code, point.tariff_code, "electricity")
        group = entry.group if entry is not None else "single_register_electricity_tariffs"
        if group == "dual_register_electricity_tariffs":
            return "DayNightTariff"
        # Kraken README, "Unit rates": four-rate EV tariffs show as FourRateEvTariff.
        if group == "four_rate_ev_electricity_tariffs":
            return "FourRateEvTariff"
        return "HalfHourlyTariff" if "AGILE" in point.product_code.upper() else "StandardTariff"


def _derive(scenario: Scenario) -> dict[str, list[TariffEntry]]:
    """Products built from the tariff codes of the agreements and the rate tables."""
    codes: dict[str, dict[str, Fuel]] = {}
    for point in scenario.account.electricity:
        codes.setdefault(point.product_code, {}).setdefault(point.tariff_code, "electricity")
    for gas_point in scenario.account.gas:
        codes.setdefault(gas_point.product_code, {}).setdefault(gas_point.tariff_code, "gas")
    tables = (
        scenario.unit_rates,
        scenario.day_unit_rates,
        scenario.night_unit_rates,
        scenario.standing_charges,
    )
    for table in tables:
        for tariff_code in table:
            written = product_of_tariff(tariff_code)
            if written is not None:
                fuel, product = written
                codes.setdefault(product, {}).setdefault(tariff_code, fuel)

    dual = set(scenario.day_unit_rates) | set(scenario.night_unit_rates)
    derived: dict[str, list[TariffEntry]] = {}
    for product, fuels in codes.items():
        if product in scenario.products:
            continue
        entries: list[TariffEntry] = []
        for tariff_code, fuel in fuels.items():
            group: RegisterGroup
            if fuel == "gas":
                group = "single_register_gas_tariffs"
            elif tariff_code in dual:
                if tariff_code in scenario.unit_rates:
                    raise ValueError(
                        f"{tariff_code} has rows in unit_rates and in day_unit_rates/"
                        "night_unit_rates: a tariff is single-register (unit_rates) or "
                        "dual-register (day and night rates), so keep one of them, or give "
                        f"product {product} in products to say which rates it links"
                    )
                group = "dual_register_electricity_tariffs"
            else:
                group = "single_register_electricity_tariffs"
            entries.append(TariffEntry(tariff_code, group, frozenset(GROUP_RATE_RELS[group])))
        derived[product] = entries
    return derived


def _derived_body(product: str, entries: list[TariffEntry]) -> dict[str, Any]:
    groups: dict[str, dict[str, dict[str, Any]]] = {group: {} for group in REGISTER_GROUPS}
    for entry in entries:
        methods = groups[entry.group].setdefault(region_of(entry.code), {})
        # Two codes of one group in one region cannot both be listed (Octopus's shape has
        # one tariff per region and payment method): the first stays; rates serve both.
        methods.setdefault(
            DERIVED_PAYMENT_METHOD,
            {
                "code": entry.code,
                "links": [
                    {"href": rates_href(product, entry, rel), "method": "GET", "rel": rel}
                    for rel in GROUP_RATE_RELS[entry.group]
                ],
            },
        )
    return {
        "code": product,
        "full_name": product,
        "display_name": product,
        **groups,
        "links": [{"href": f"{OCTOPUS_API}v1/products/{product}/", "method": "GET", "rel": "self"}],
    }


def rewrite_hrefs(value: Any, base_url: str) -> Any:
    """``value`` with every ``href`` Octopus wrote as ``https://api.octopus.energy/…``
    pointed at ``base_url`` instead (path and query kept)."""
    if isinstance(value, dict):
        return {
            key: (
                base_url.rstrip("/") + "/" + item.removeprefix(OCTOPUS_API)
                if key == "href" and isinstance(item, str) and item.startswith(OCTOPUS_API)
                else rewrite_hrefs(item, base_url)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [rewrite_hrefs(item, base_url) for item in value]
    return value
