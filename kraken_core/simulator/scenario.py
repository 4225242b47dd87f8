"""Scenario files: a Kraken account as the simulator serves it (see DESIGN.md).

A scenario is JSON shaped like Kraken's own answers, so that a real capture can be turned
into one. Loading is strict: an unknown key, a wrong type or a time without a timezone is
refused with a :class:`ScenarioError` that names the file, the JSON path and the fix.

Optional keys beyond DESIGN.md's example, all with defaults that match it:
- ``electricity[].telemetry_device_id`` may be null (no Home Mini on that meter);
- ``electricity[].valid_from`` and ``electricity[].valid_to`` (default: open, always in
  force) bound an agreement; several entries with the same ``mpan`` and ``direction`` are
  successive agreements on one meter point (e.g. Agile until 19:00, then Intelligent Octopus
  Go) and must not overlap. ``electricityAgreements(active: true)`` lists only those in
  force at the simulator clock's now;
- ``devices[].provider`` (Kraken's ``ProviderChoices``; default from ``make``, else
  SMARTCAR) and ``devices[].__typename`` (SmartFlexVehicle, SmartFlexChargePoint or
  SmartFlexDevice; default SmartFlexVehicle for ELECTRIC_VEHICLES);
- ``timeline[].isSuspended`` (default false; Kraken's ``status.isSuspended``);
- ``faults[].message`` overrides the error message; ``faults[].timeout`` is ``true``
  (30 real seconds) or a number of seconds up to 120;
- ``telemetry`` may be left out: the Home Mini then answers with no readings.
- ``account.balance`` (pence, default 0), ``account.billing_period_start_day`` (1-28),
  ``account.postcode`` and ``account.address`` (the property), ``account.gas`` (gas meter
  points: ``mprn``, ``product_code``, ``tariff_code``, ``serial_number``, optional
  ``telemetry_device_id``);
- ``api_key``: when set, only that key signs in (others get KT-CT-1139);
- ``day_unit_rates`` and ``night_unit_rates``: REST rows like ``unit_rates``, for
  two-rate (Economy 7, ``E-2R-``) tariffs; gas tariffs (``G-1R-``) share ``unit_rates``
  and ``standing_charges``;
- ``completed_dispatches``: ``[{start, end, delta, source, location}]`` as Kraken's
  ``completedDispatches`` answers them once they have ended;
- ``devices[].preferences``: ``{mode, unit, targetType, schedules: [{dayOfWeek, time,
  min, max}]}``; ``timeline[].boostChargeRefusalReasons``: why a boost is refused then;
- ``saving_sessions``: ``{octoplus_enrolled, has_joined_campaign, region_id, events: [{id,
  code, startAt, endAt, rewardPerKwhInOctoPoints, targetRegion, devEvent, eventType}],
  joined_event_ids}`` as DESIGN.md has it (events on the backend host); beyond it, per
  event ``announced_at`` (not served before), ``rewardGivenInOctoPoints`` (what a joined
  household earns, served from the event's end) and ``join_refusal: {code, message}``
  (joining is refused so); ``wheel_spins: {electricity, gas}`` and ``wheel_prizes`` (the
  wheel's spins this month and the prizes they win, in turn); ``octoplus_points`` top level
  (DESIGN.md) or inside ``saving_sessions``;
- ``faults[]`` may instead give ``malformed: true`` (HTTP 200 with a cut-off body) or
  ``removed_field`` (Kraken no longer has that field: the document is refused); an
  ``http_status`` 429 fault may give ``retry_after`` seconds;
- ``products``: product code → the body of ``GET /v1/products/{code}/`` as Octopus writes
  it (see :mod:`kraken_core.simulator.products`); a product not given is derived from the
  tariff codes of the agreements and the rate tables. A rates endpoint the product does not
  link answers an empty list; a tariff code no product lists answers 404;
- ``electricity[].meter_type``: Kraken's ``ElectricityMeterMeterType`` (``S2ADE``, ``S1``,
  ``N``, …) served as ``meters { meterType }``; default ``S2ADE`` for a meter with a
  ``telemetry_device_id`` (a smart meter), else null;
- ``electricity[].tariff_typename``: the ``__typename`` of the agreement's tariff
  (StandardTariff, DayNightTariff, ThreeRateTariff, FourRateEvTariff, HalfHourlyTariff or
  PrepayTariff); default from the product's register group: dual-register DayNightTariff,
  four-rate EV FourRateEvTariff, else HalfHourlyTariff for AGILE products and
  StandardTariff for the rest;
- ``electricity[].ev_device_peak_rate`` and ``ev_device_off_peak_rate`` (p/kWh inc. VAT,
  default null): a FourRateEvTariff's ``evDevicePeakRate``/``evDeviceOffPeakRate``; its
  ``dayRate``/``nightRate`` are the day/night rows in force (DIRECT_DEBIT, else no payment
  method);
- ``gas_telemetry``: like ``telemetry`` (``demand_w`` integrated into a Wh register, or
  ``readings``; no ``export_w``), served for the gas meters' ``telemetry_device_id``,
  which must differ from the electricity meters' ids.
- ``account.balance_timeline``: ``[{at, balance}]`` in time order: from each ``at`` on,
  ``account { balance }`` answers that balance (pence, Kraken's sign: positive is credit)
  instead of ``account.balance``, as when a bill or a payment is posted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol, Self, TypeVar

from graphql import GraphQLEnumType
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from kraken_core.simulator.graphql_schema import load_subset_schema
from kraken_core.simulator.products import (
    ElectricityTariffTypename,
    Fuel,
    Product,
    ProductCatalogue,
)

Direction = Literal["IMPORT", "EXPORT"]
DeviceType = Literal[
    "BATTERIES",
    "ELECTRIC_VEHICLES",
    "INVERTERS",
    "HEAT_PUMPS",
    "STORAGE_HEATERS",
    "ELECTRICITY_METERS",
    "THERMOSTATS",
]
DeviceState = Literal[
    "AUTHENTICATION_PENDING",
    "AUTHENTICATION_FAILED",
    "AUTHENTICATION_COMPLETE",
    "TEST_CHARGE_IN_PROGRESS",
    "TEST_CHARGE_FAILED",
    "TEST_CHARGE_NOT_AVAILABLE",
    "SETUP_COMPLETE",
    "SMART_CONTROL_CAPABLE",
    "SMART_CONTROL_IN_PROGRESS",
    "BOOSTING",
    "SMART_CONTROL_OFF",
    "SMART_CONTROL_NOT_AVAILABLE",
    "LOST_CONNECTION",
    "RETIRED",
]
DispatchType = Literal["SMART", "BOOST", "TEST"]
BoostRefusal = Literal[
    "BC_DEVICE_NOT_YET_LIVE",
    "BC_DEVICE_RETIRED",
    "BC_DEVICE_SUSPENDED",
    "BC_DEVICE_DISCONNECTED",
    "BC_DEVICE_NOT_AT_HOME",
    "BC_BOOST_CHARGE_IN_PROGRESS",
    "BC_DEVICE_FULLY_CHARGED",
]
DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
DeviceTypename = Literal["SmartFlexVehicle", "SmartFlexChargePoint", "SmartFlexDevice"]

#: Kraken's ``ProviderChoices`` (who controls a SmartFlex device).
PROVIDERS = frozenset(
    {
        "BMW_GROUP",
        "BYD",
        "DAIKIN",
        "DAIKIN_LCM",
        "ECOBEE",
        "ECOBEE_V2",
        "ENERGIZER",
        "ENODE",
        "ENPHASE",
        "FORD",
        "GENERIC_INVERTER",
        "GIVENERGY",
        "HUAWEI",
        "HUAWEI_V2",
        "HYPERVOLT",
        "INDRA",
        "JEDLIX",
        "JEDLIX_V2",
        "MERCEDES",
        "MYENERGI",
        "MYENERGI_V2",
        "NATURE",
        "NISSAN",
        "OCPP_WALLBOX",
        "OCPP",
        "OCTOPUS_ENERGY",
        "OHME",
        "OHME_V2",
        "PORSCHE",
        "SENSI",
        "SENSI_V2",
        "SMARTCAR",
        "SMARTCAR_V2",
        "SMARTFLEX_CONNECT",
        "SMART_PEAR",
        "SOLAREDGE",
        "TESLA",
        "TESLA_V2",
        "VOLKSWAGEN",
        "VP_AMAZON",
        "VP_HONEYWELL_CC",
        "VP_HONEYWELL_RES",
        "VP_NEST",
    }
)

#: Operations a fault may name besides GraphQL root fields: the REST resources.
REST_OPERATIONS = frozenset(
    {"standard-unit-rates", "day-unit-rates", "night-unit-rates", "standing-charges"}
)
#: GraphQL root fields a fault may name (what the simulator serves, plus Kraken root
#: fields clients are known to call, so a fault file stays valid as the simulator grows).
GRAPHQL_OPERATIONS = frozenset(
    {
        "obtainKrakenToken",
        "account",
        "devices",
        "flexPlannedDispatches",
        "smartMeterTelemetry",
        "completedDispatches",
        "plannedDispatches",
        "properties",
        "rateLimitInfo",
        "updateBoostCharge",
        "updateDeviceSmartControl",
        "setDevicePreferences",
        "savingSessions",
        "joinSavingSessionsEvent",
        "octoplusAccountInfo",
        "loyaltyPointLedgers",
        "wheelOfFortuneSpinsAllowed",
        "spinWheelOfFortune",
    }
)
#: The error code the simulator refuses a saving-session join with (the one public clients
#: document for an account that cannot join; Octopus publishes no list).
JOIN_REFUSED_CODE = "KT-GB-5117"

#: A real (non-scenario) timeout fault waits this long unless the fault gives seconds.
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_TIMEOUT_SECONDS = 120.0


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says where and what to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ElectricityMeterPoint(_Strict):
    """One electricity meter point of the account with an agreement on it: the current
    one, or with ``valid_from``/``valid_to`` one of its successive agreements."""

    mpan: str = Field(min_length=1)
    direction: Direction
    product_code: str = Field(min_length=1)
    tariff_code: str = Field(min_length=1)
    serial_number: str = Field(min_length=1)
    telemetry_device_id: str | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    meter_type: str | None = None
    tariff_typename: ElectricityTariffTypename | None = None
    ev_device_peak_rate: float | None = None
    ev_device_off_peak_rate: float | None = None

    @field_validator("meter_type")
    @classmethod
    def _known_meter_type(cls, meter_type: str | None) -> str | None:
        known = electricity_meter_types()
        if meter_type is not None and meter_type not in known:
            raise ValueError(
                f"{meter_type!r} is not one of Kraken's ElectricityMeterMeterType values "
                f"({', '.join(known)}); e.g. S2ADE for a SMETS2 smart meter, or leave "
                "meter_type out"
            )
        return meter_type

    @property
    def served_meter_type(self) -> str | None:
        """``meterType`` as served: the given one, else ``S2ADE`` for a meter with a Home
        Mini device id (a smart meter, DESIGN.md "Real tariff shapes"), else null."""
        if self.meter_type is not None:
            return self.meter_type
        return "S2ADE" if self.telemetry_device_id is not None else None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if (
            self.valid_from is not None
            and self.valid_to is not None
            and self.valid_to <= self.valid_from
        ):
            raise ValueError(
                f"valid_to {self.valid_to.isoformat()} must be after valid_from "
                f"{self.valid_from.isoformat()} (leave valid_to out for an open-ended agreement)"
            )
        return self

    def in_force(self, now: datetime) -> bool:
        """Whether this agreement is active at ``now`` (open ends are always in force)."""
        started = self.valid_from is None or self.valid_from <= now
        return started and (self.valid_to is None or now < self.valid_to)


class GasMeterPoint(_Strict):
    """One gas meter point of the account with its current agreement."""

    mprn: str = Field(min_length=1)
    product_code: str = Field(min_length=1)
    tariff_code: str = Field(min_length=1)
    serial_number: str = Field(min_length=1)
    telemetry_device_id: str | None = None


class _Timed(Protocol):
    @property
    def at(self) -> datetime: ...


Timed = TypeVar("Timed", bound=_Timed)


def in_time_order(entries: list[Timed]) -> list[Timed]:
    """``entries`` unchanged, or a ValueError naming the first one not after the last."""
    for index in range(1, len(entries)):
        if entries[index].at <= entries[index - 1].at:
            raise ValueError(
                f"entries must be in time order: [{index}] at "
                f"{entries[index].at.isoformat()} is not after [{index - 1}] at "
                f"{entries[index - 1].at.isoformat()}"
            )
    return entries


class BalanceChange(_Strict):
    """From ``at`` on the account's balance is ``balance`` (pence; negative: owed)."""

    at: AwareDatetime
    balance: int


class Account(_Strict):
    number: str = Field(min_length=1)
    electricity: list[ElectricityMeterPoint] = Field(default_factory=list)
    gas: list[GasMeterPoint] = Field(default_factory=list)
    balance: int = 0
    billing_period_start_day: int | None = Field(default=None, ge=1, le=28)
    postcode: str = "SW1A 1AA"
    address: str | None = None
    balance_timeline: list[BalanceChange] = Field(default_factory=list)

    @field_validator("balance_timeline")
    @classmethod
    def _balances_in_order(cls, changes: list[BalanceChange]) -> list[BalanceChange]:
        return in_time_order(changes)

    def balance_at(self, now: datetime) -> int:
        """The balance Kraken answers at ``now``: the last change at or before it."""
        balance = self.balance
        for change in self.balance_timeline:
            if change.at <= now:
                balance = change.balance
        return balance

    @field_validator("electricity")
    @classmethod
    def _successive_agreements(
        cls, points: list[ElectricityMeterPoint]
    ) -> list[ElectricityMeterPoint]:
        earliest, latest = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
        for index, point in enumerate(points):
            for other_index in range(index):
                other = points[other_index]
                if other.mpan != point.mpan:
                    continue
                if other.direction != point.direction:
                    raise ValueError(
                        f"[{index}] and [{other_index}] are the same meter point "
                        f"{point.mpan} with different directions; one MPAN is either "
                        "IMPORT or EXPORT"
                    )
                starts = (point.valid_from or earliest, other.valid_from or earliest)
                ends = (point.valid_to or latest, other.valid_to or latest)
                if max(starts) < min(ends):
                    raise ValueError(
                        f"[{index}] and [{other_index}] are agreements on meter point "
                        f"{point.mpan} that overlap: give them valid_from/valid_to so that "
                        "one ends where the next begins"
                    )
        return points


class RateRow(_Strict):
    """A REST result row (unit rate or standing charge), optionally not yet published."""

    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None
    value_inc_vat: float
    value_exc_vat: float | None = None
    payment_method: str | None = None
    published_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(
                f"valid_to {self.valid_to.isoformat()} must be after valid_from "
                f"{self.valid_from.isoformat()} (use null for an open-ended row)"
            )
        return self


class TelemetryReading(_Strict):
    """A smartMeterTelemetry row in Kraken's shape (Decimals as numbers or strings)."""

    readAt: AwareDatetime
    consumption: Decimal | None = None
    consumptionDelta: Decimal | None = None
    demand: Decimal | None = None
    export: Decimal | None = None


class Telemetry(_Strict):
    """Either a constant household (``demand_w``, optional ``export_w``) or ``readings``.

    ``readings`` rows are served exactly as given, quirks included (``export: null``, a
    ``consumption`` of 0): real meters send those (Kraken README, "Smart meter telemetry").
    """

    demand_w: float | None = Field(default=None, ge=0)
    export_w: float | None = Field(default=None, ge=0)
    readings: list[TelemetryReading] | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> Self:
        constant = self.demand_w is not None or self.export_w is not None
        if constant and self.readings is not None:
            raise ValueError("give either demand_w (with optional export_w) or readings, not both")
        if not constant and self.readings is None:
            raise ValueError("give demand_w (with optional export_w) or readings")
        if self.export_w is not None and self.demand_w is None:
            raise ValueError("export_w needs demand_w as well (use 0 for a home that only exports)")
        return self


class GasTelemetry(Telemetry):
    """``gas_telemetry``: shaped like ``telemetry``; a gas meter exports nothing."""

    @model_validator(mode="after")
    def _no_export(self) -> Self:
        if self.export_w is not None:
            raise ValueError("a gas meter does not export: remove export_w")
        return self


class Dispatch(_Strict):
    start: AwareDatetime
    end: AwareDatetime
    type: DispatchType
    energyAddedKwh: Decimal | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.end <= self.start:
            raise ValueError(
                f"end {self.end.isoformat()} must be after start {self.start.isoformat()}"
            )
        return self


class TimelineEntry(_Strict):
    """From ``at`` on, the device is in ``currentState`` with these planned dispatches."""

    at: AwareDatetime
    currentState: DeviceState
    flexPlannedDispatches: list[Dispatch] = Field(default_factory=list)
    isSuspended: bool = False
    boostChargeRefusalReasons: list[BoostRefusal] | None = None


class WeekdayPreference(_Strict):
    """One entry of ``devices[].preferences.schedules``: a weekday's ready-by and target."""

    dayOfWeek: DayOfWeek
    time: str = Field(pattern=r"^\d\d:\d\d(:\d\d)?$")
    min: float | None = None
    max: float


class Preferences(_Strict):
    """A device's charge target as Kraken's ``preferences`` answers it."""

    mode: Literal["CHARGE", "COOL", "HEAT"] = "CHARGE"
    unit: Literal["CELSIUS", "PERCENTAGE"] = "PERCENTAGE"
    targetType: Literal[
        "ABSOLUTE_STATE_OF_CHARGE", "RELATIVE_STATE_OF_CHARGE", "ABSOLUTE_TEMPERATURE"
    ] = "ABSOLUTE_STATE_OF_CHARGE"
    schedules: list[WeekdayPreference] = Field(default_factory=list)


class CompletedDispatch(_Strict):
    start: AwareDatetime
    end: AwareDatetime
    delta: Decimal
    source: str = "smart-charge"
    location: Literal["AT_HOME", "AWAY"] = "AT_HOME"


class TargetRegion(_Strict):
    regionId: int


class JoinRefusal(_Strict):
    """Joining this event is refused with Kraken's error ``code`` and ``message``."""

    code: str = Field(default=JOIN_REFUSED_CODE, pattern=r"^KT-[A-Z]{2}-\d{4,5}$")
    message: str = Field(min_length=1)


class SavingSessionEvent(_Strict):
    """An Octoplus event as ``savingSessions.events`` answers it (plus the simulator's own
    keys: when it was announced, the points a joined household earns, a join refusal)."""

    id: int
    code: str = Field(min_length=1)
    startAt: AwareDatetime
    endAt: AwareDatetime
    rewardPerKwhInOctoPoints: int = Field(default=0, ge=0)
    targetRegion: list[TargetRegion] | None = None
    devEvent: bool = False
    eventType: Literal["TURN_DOWN", "TURN_UP"] = "TURN_DOWN"
    announced_at: AwareDatetime | None = None
    rewardGivenInOctoPoints: int | None = Field(default=None, ge=0)
    join_refusal: JoinRefusal | None = None

    @field_validator("targetRegion", mode="before")
    @classmethod
    def _regions(cls, given: object) -> object:
        """Kraken's list of ``{regionId}``; one ``{regionId}`` or a bare region id is
        accepted as that one region."""
        if isinstance(given, int) and not isinstance(given, bool):
            return [{"regionId": given}]
        if isinstance(given, dict):
            return [given]
        return given

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.endAt <= self.startAt:
            raise ValueError(f"event {self.code}: endAt must be after startAt")
        if self.announced_at is not None and self.announced_at > self.startAt:
            raise ValueError(f"event {self.code}: announced_at must not be after startAt")
        return self


class WheelSpins(_Strict):
    """Spins of the Octoplus wheel of fortune left this month, per fuel."""

    electricity: int = Field(default=0, ge=0)
    gas: int = Field(default=0, ge=0)


class SavingSessions(_Strict):
    """Octopus saving sessions and Octoplus: events on the backend host; enrolment, points
    and the wheel on the main host."""

    octoplus_enrolled: bool = True
    has_joined_campaign: bool = True
    region_id: int | None = None
    events: list[SavingSessionEvent] = Field(default_factory=list)
    joined_event_ids: list[int] = Field(default_factory=list)
    octoplus_points: int | None = Field(default=None, ge=0)
    wheel_spins: WheelSpins = Field(default_factory=WheelSpins)
    wheel_prizes: list[int] = Field(default_factory=lambda: [100], min_length=1)

    @model_validator(mode="after")
    def _unique_events(self) -> Self:
        ids = [event.id for event in self.events]
        codes = [event.code for event in self.events]
        if len(set(ids)) != len(ids) or len(set(codes)) != len(codes):
            raise ValueError("each event needs its own id and code")
        return self


class Device(_Strict):
    id: str = Field(min_length=1)
    deviceType: DeviceType
    make: str | None = None
    model: str | None = None
    provider: str | None = None
    typename: DeviceTypename | None = Field(default=None, alias="__typename")
    timeline: list[TimelineEntry] = Field(min_length=1)
    preferences: Preferences | None = None

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, provider: str | None) -> str | None:
        if provider is not None and provider not in PROVIDERS:
            raise ValueError(
                f"{provider!r} is not one of Kraken's ProviderChoices, e.g. TESLA, OHME, "
                "MYENERGI, SMARTCAR (or leave provider out)"
            )
        return provider

    @field_validator("timeline")
    @classmethod
    def _timeline_in_order(cls, timeline: list[TimelineEntry]) -> list[TimelineEntry]:
        return in_time_order(timeline)

    @property
    def graphql_typename(self) -> DeviceTypename:
        if self.typename is not None:
            return self.typename
        return "SmartFlexVehicle" if self.deviceType == "ELECTRIC_VEHICLES" else "SmartFlexDevice"


class Fault(_Strict):
    """Inside [from, to) the named operation fails in the given way."""

    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime
    operation: str
    error_code: str | None = Field(default=None, pattern=r"^KT-[A-Z]{2}-\d{4,5}$")
    message: str | None = None
    http_status: int | None = Field(default=None, ge=400, le=599)
    timeout: float | None = None
    malformed: Literal[True] | None = None
    removed_field: str | None = Field(default=None, pattern=r"^[A-Za-z_]\w*$")
    retry_after: int | None = Field(default=None, ge=0)

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, operation: str) -> str:
        if operation not in GRAPHQL_OPERATIONS | REST_OPERATIONS:
            known = ", ".join(sorted(GRAPHQL_OPERATIONS | REST_OPERATIONS))
            raise ValueError(f"unknown operation {operation!r}; use one of: {known}")
        return operation

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout_seconds(cls, value: object) -> object:
        # ``true`` means "long enough for any sane client timeout"; a number is seconds.
        if value is True:
            return DEFAULT_TIMEOUT_SECONDS
        if value is False:
            return None
        if isinstance(value, int | float):
            return float(value)
        if value is None:
            return None
        raise ValueError(f"timeout must be true or a number of seconds, got {value!r}")

    @model_validator(mode="after")
    def _one_failure(self) -> Self:
        if self.to <= self.from_:
            raise ValueError(
                f"to {self.to.isoformat()} must be after from {self.from_.isoformat()}"
            )
        given = [
            name
            for name, value in (
                ("error_code", self.error_code),
                ("http_status", self.http_status),
                ("timeout", self.timeout),
                ("malformed", self.malformed),
                ("removed_field", self.removed_field),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of error_code, http_status, timeout, malformed or "
                "removed_field "
                f"(got {', '.join(given) or 'none'})"
            )
        if self.operation in REST_OPERATIONS and (
            self.error_code is not None or self.removed_field is not None
        ):
            raise ValueError(
                f"{self.operation} is REST: error codes and removed fields are GraphQL only, "
                "use http_status, timeout or malformed"
            )
        if self.retry_after is not None and self.http_status != 429:
            raise ValueError("retry_after goes with http_status 429")
        if self.timeout is not None and not 0 < self.timeout <= MAX_TIMEOUT_SECONDS:
            raise ValueError(
                f"timeout must be true or a number of seconds in (0, {MAX_TIMEOUT_SECONDS:g}]"
            )
        return self

    @property
    def timeout_seconds(self) -> float | None:
        return self.timeout

    def covers(self, operation: str, now: datetime) -> bool:
        return self.operation == operation and self.from_ <= now < self.to


class Scenario(_Strict):
    description: str = ""
    start: AwareDatetime
    account: Account
    api_key: str | None = Field(default=None, min_length=1)
    unit_rates: dict[str, list[RateRow]] = Field(default_factory=dict)
    day_unit_rates: dict[str, list[RateRow]] = Field(default_factory=dict)
    night_unit_rates: dict[str, list[RateRow]] = Field(default_factory=dict)
    standing_charges: dict[str, list[RateRow]] = Field(default_factory=dict)
    telemetry: Telemetry | None = None
    gas_telemetry: GasTelemetry | None = None
    products: dict[str, Product] = Field(default_factory=dict)
    devices: list[Device] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)
    completed_dispatches: list[CompletedDispatch] = Field(default_factory=list)
    saving_sessions: SavingSessions | None = None
    octoplus_points: int | None = Field(default=None, ge=0)

    @property
    def points_balance(self) -> int:
        """The OctoPoints balance the scenario starts with (top level, as DESIGN.md has it,
        or inside ``saving_sessions``)."""
        inside = self.saving_sessions.octoplus_points if self.saving_sessions else None
        return self.octoplus_points or inside or 0

    @model_validator(mode="after")
    def _one_points_balance(self) -> Self:
        inside = self.saving_sessions.octoplus_points if self.saving_sessions else None
        if None not in (inside, self.octoplus_points) and inside != self.octoplus_points:
            raise ValueError(
                "octoplus_points is given twice (top level and in saving_sessions) with "
                "different values: give it once"
            )
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for device in self.devices:
            if device.id in seen:
                raise ValueError(f"device id {device.id!r} is used twice")
            seen.add(device.id)
        return self

    @model_validator(mode="after")
    def _gas_meters_have_their_own_device_ids(self) -> Self:
        electricity = {p.telemetry_device_id for p in self.account.electricity}
        for index, point in enumerate(self.account.gas):
            if point.telemetry_device_id is not None and point.telemetry_device_id in electricity:
                raise ValueError(
                    f"account.gas[{index}].telemetry_device_id {point.telemetry_device_id} is "
                    "also an electricity meter's: each meter has its own device id, and "
                    "gas_telemetry is served for the gas meter's"
                )
        return self

    @model_validator(mode="after")
    def _products_list_the_agreements(self) -> Self:
        for code, product in self.products.items():
            if product.code is not None and product.code != code:
                raise ValueError(
                    f"products.{code} has code {product.code!r}: the key is the product code, "
                    "so make them the same"
                )
        catalogue = ProductCatalogue(self)
        points: list[tuple[Fuel, int, ElectricityMeterPoint | GasMeterPoint]] = [
            ("electricity", i, p) for i, p in enumerate(self.account.electricity)
        ]
        points += [("gas", i, p) for i, p in enumerate(self.account.gas)]
        for fuel, index, point in points:
            if point.product_code not in self.products:
                continue
            if catalogue.tariff(point.product_code, point.tariff_code, fuel) is None:
                raise ValueError(
                    f"account.{fuel}[{index}].tariff_code {point.tariff_code} is not listed "
                    f"among the {fuel} tariffs of products.{point.product_code}: add it there "
                    "(with its links), or correct the agreement's tariff_code"
                )
        for index, electricity in enumerate(self.account.electricity):
            given = electricity.ev_device_peak_rate, electricity.ev_device_off_peak_rate
            typename = catalogue.electricity_typename(electricity)
            if any(rate is not None for rate in given) and typename != "FourRateEvTariff":
                raise ValueError(
                    f"account.electricity[{index}] gives EV device rates, which only a "
                    f"FourRateEvTariff has, but its tariff is a {typename}: set tariff_typename "
                    "to FourRateEvTariff or list the tariff in products under "
                    "four_rate_ev_electricity_tariffs"
                )
        return self

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)


@cache
def electricity_meter_types() -> tuple[str, ...]:
    """The values of ``ElectricityMeterMeterType`` in the simulator's subset schema."""
    meter_type = load_subset_schema().type_map["ElectricityMeterMeterType"]
    assert isinstance(meter_type, GraphQLEnumType)
    return tuple(meter_type.values)


def _json_path(loc: tuple[int | str, ...]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind == "timezone_aware":
        return (
            f"the time {given!r} has no timezone: add one, e.g. "
            f"{str(given).rstrip()}Z for UTC or +01:00 for British Summer Time"
        )
    if kind == "extra_forbidden":
        return "unknown key: remove it or check its spelling against DESIGN.md"
    if kind.startswith("datetime"):
        return f"{given!r} is not a time: write ISO 8601 with a timezone, e.g. 2026-03-10T12:00:00Z"
    if kind == "missing":
        return "this key is required"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg']} (got {given!r})"


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario JSON text; ``source`` names it in error messages."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise ScenarioError(
            f"{source}: not valid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    try:
        return Scenario.model_validate_json(text)
    except ValidationError as error:
        lines = [f"{source}: not a valid scenario ({error.error_count()} problem(s)):"]
        for detail in error.errors():
            lines.append(f"  at {_json_path(detail['loc'])}: {_describe(detail)}")
        raise ScenarioError("\n".join(lines)) from None


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"{file}: cannot read the scenario ({error.strerror})") from None
    return parse_scenario(text, source=str(file))


def _scenario_dir() -> Path:
    return Path(str(resources.files(__package__).joinpath("scenarios")))


def bundled_scenarios() -> list[str]:
    """Names (without ``.json``) of the scenarios shipped with the package."""
    return sorted(file.stem for file in _scenario_dir().glob("*.json"))


def bundled_scenario_path(name: str) -> Path:
    """The path of a bundled scenario, by name with or without ``.json``."""
    stem = name.removesuffix(".json")
    path = _scenario_dir() / f"{stem}.json"
    if not path.is_file():
        raise ScenarioError(
            f"no bundled scenario {name!r}; bundled: {', '.join(bundled_scenarios()) or 'none'}"
        )
    return path
