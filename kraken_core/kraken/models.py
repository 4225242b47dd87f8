"""Typed shapes of Kraken's answers, as our documents ask for them.

Every field a document requests is required here: GraphQL always answers each field it
was asked for (``null`` when it has no value), so a missing key means the schema moved
under us and is reported as :class:`KrakenSchemaError` naming the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal, TypeVar, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from kraken_core.kraken.errors import KrakenSchemaError


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class KrakenToken(WireModel):
    token: str = Field(repr=False)
    refresh_token: str | None = Field(alias="refreshToken", repr=False)
    refresh_expires_in: int | None = Field(alias="refreshExpiresIn")


class SmartMeterDevice(WireModel):
    device_id: str | None = Field(alias="deviceId")


class ElectricityMeter(WireModel):
    serial_number: str | None = Field(alias="serialNumber")
    meter_type: str | None = Field(alias="meterType")
    """Kraken's ``ElectricityMeterMeterType`` (``S1``, ``S2ADE``, ``N`` …); null if unknown."""
    smart_import_meter: SmartMeterDevice | None = Field(alias="smartImportElectricityMeter")
    smart_export_meter: SmartMeterDevice | None = Field(alias="smartExportElectricityMeter")


class ElectricityMeterPoint(WireModel):
    mpan: str
    direction: str | None
    meters: list[ElectricityMeter]


class Tariff(WireModel):
    product_code: str | None = Field(default=None, alias="productCode")
    tariff_code: str | None = Field(default=None, alias="tariffCode")


class ElectricityTariff(Tariff):
    """The agreement's tariff: ``typename`` is the ``ElectricityTariffType`` member
    (``StandardTariff``, ``DayNightTariff``, ``HalfHourlyTariff``, ``FourRateEvTariff``, …).
    The EV rates (p/kWh inc. VAT) exist only on ``FourRateEvTariff``."""

    typename: str = Field(alias="__typename")
    ev_device_peak_rate: float | None = Field(default=None, alias="evDevicePeakRate")
    ev_device_off_peak_rate: float | None = Field(default=None, alias="evDeviceOffPeakRate")


class ElectricityAgreement(WireModel):
    valid_from: AwareDatetime | None = Field(alias="validFrom")
    valid_to: AwareDatetime | None = Field(alias="validTo")
    tariff: ElectricityTariff | None
    meter_point: ElectricityMeterPoint = Field(alias="meterPoint")


class GasMeter(WireModel):
    serial_number: str | None = Field(alias="serialNumber")
    smart_gas_meter: SmartMeterDevice | None = Field(alias="smartGasMeter")


class GasMeterPoint(WireModel):
    mprn: str | None
    meters: list[GasMeter]


class GasAgreement(WireModel):
    valid_from: AwareDatetime | None = Field(alias="validFrom")
    valid_to: AwareDatetime | None = Field(alias="validTo")
    tariff: Tariff | None
    meter_point: GasMeterPoint = Field(alias="meterPoint")


class BillingOptions(WireModel):
    period_start_day: int | None = Field(alias="periodStartDay")
    current_period_start: date | None = Field(alias="currentBillingPeriodStartDate")


class Property(WireModel):
    id: str | None
    address: str | None
    postcode: str


class Account(WireModel):
    number: str | None
    balance_p: int = Field(alias="balance")
    """Account balance in pence: positive is credit, negative is owed (Kraken's sign)."""
    billing_options: BillingOptions | None = Field(alias="billingOptions")
    properties: list[Property | None]
    electricity_agreements: list[ElectricityAgreement] = Field(alias="electricityAgreements")
    gas_agreements: list[GasAgreement] = Field(alias="gasAgreements")

    @property
    def billing_period_start(self) -> date | None:
        """The first day of the current billing period, if Kraken says."""
        return self.billing_options.current_period_start if self.billing_options else None


class DeviceStatus(WireModel):
    current: str | None
    current_state: str | None = Field(alias="currentState")
    is_suspended: bool | None = Field(alias="isSuspended")


#: Kraken's ``DayOfWeek`` enum (schema: ``enum DayOfWeek``), Monday first.
DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
DAYS_OF_WEEK: tuple[DayOfWeek, ...] = get_args(DayOfWeek)


class PreferenceSchedule(WireModel):
    """One weekday of a charge target: ready by ``ready_by`` at ``max_value`` (e.g. 80 %).

    Read from a device's ``preferences.schedules`` and sent back, all seven days at once,
    by :meth:`KrakenClient.set_device_preferences`. ``ready_by`` is a wall-clock time of
    day (Kraken's ``Time``, ``HH:MM``). Kraken may answer ``max: null`` for a device
    without a target, but a schedule sent needs one; ``min`` is null for a car.
    """

    day_of_week: DayOfWeek = Field(alias="dayOfWeek")
    ready_by: time = Field(alias="time")
    max_value: float | None = Field(alias="max")
    min_value: float | None = Field(alias="min")


class DevicePreferences(WireModel):
    """A device's charge target: per weekday, a ready-by time and a target (e.g. 80 %)."""

    mode: str
    unit: str
    target_type: str = Field(alias="targetType")
    schedules: list[PreferenceSchedule] | None


class SmartFlexDevice(WireModel):
    id: str
    device_type: str = Field(alias="deviceType")
    provider: str | None
    status: DeviceStatus
    make: str | None = None
    model: str | None = None
    preferences: DevicePreferences | None = None


class PlannedDispatch(WireModel):
    start: AwareDatetime
    end: AwareDatetime
    type: Literal["SMART", "BOOST", "TEST"] | str
    energy_added_kwh: Decimal | None = Field(alias="energyAddedKwh")


class CompletedDispatchMeta(WireModel):
    source: str | None
    location: str | None


class CompletedDispatch(WireModel):
    """A dispatch that happened; ``delta_kwh`` is negative for energy imported."""

    start: AwareDatetime
    end: AwareDatetime
    delta_kwh: Decimal | None = Field(alias="delta")
    meta: CompletedDispatchMeta | None


class TelemetryReading(WireModel):
    read_at: AwareDatetime = Field(alias="readAt")
    consumption_wh: Decimal | None = Field(alias="consumption")
    consumption_delta_wh: Decimal | None = Field(alias="consumptionDelta")
    demand_w: Decimal | None = Field(alias="demand")
    export_wh: Decimal | None = Field(alias="export")


class RateRow(WireModel):
    """One row of Kraken's REST unit-rate or standing-charge answer."""

    value_inc_vat: float
    value_exc_vat: float | None = None
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None
    payment_method: str | None = None


class ProductLink(WireModel):
    rel: str
    href: str


class ProductTariff(WireModel):
    """One region's tariff for one payment method: its code and the rate endpoints
    Octopus links (``rel`` standard_unit_rates, day_unit_rates, night_unit_rates,
    standing_charges)."""

    code: str
    links: list[ProductLink] = Field(default_factory=list)

    def link(self, rel: str) -> ProductLink | None:
        return next((link for link in self.links if link.rel == rel), None)


#: The register groups of ``GET /v1/products/{code}/`` (developer.octopus.energy/rest,
#: "Products"; shared kraken/README.md, "Unit rates"), electricity first.
REGISTER_GROUPS = (
    "single_register_electricity_tariffs",
    "dual_register_electricity_tariffs",
    "four_rate_ev_electricity_tariffs",
    "single_register_gas_tariffs",
)
#: Payment methods a region's tariff is listed under (shared kraken/README.md, "Unit
#: rates"), the one the bridge prices first; any other key ranks after these.
PAYMENT_METHOD_KEYS = ("direct_debit_monthly", "varying")

TariffsByRegion = dict[str, dict[str, ProductTariff | None]]


class Product(WireModel):
    """An Octopus product: in which register group each regional tariff code sits."""

    code: str
    display_name: str | None = None
    full_name: str | None = None
    single_register_electricity_tariffs: TariffsByRegion = Field(default_factory=dict)
    dual_register_electricity_tariffs: TariffsByRegion = Field(default_factory=dict)
    four_rate_ev_electricity_tariffs: TariffsByRegion = Field(default_factory=dict)
    single_register_gas_tariffs: TariffsByRegion = Field(default_factory=dict)

    def find(self, tariff_code: str) -> tuple[str, ProductTariff] | None:
        """The register group and entry listing ``tariff_code`` (a direct-debit entry
        first when the code is listed under several payment methods)."""
        for group in REGISTER_GROUPS:
            regions: TariffsByRegion = getattr(self, group)
            for methods in regions.values():
                entries = sorted(
                    ((key, entry) for key, entry in methods.items() if entry is not None),
                    key=lambda item: _method_rank(item[0]),
                )
                for _, entry in entries:
                    if entry.code == tariff_code:
                        return group, entry
        return None


def _method_rank(key: str) -> int:
    return (
        PAYMENT_METHOD_KEYS.index(key) if key in PAYMENT_METHOD_KEYS else len(PAYMENT_METHOD_KEYS)
    )


class RatePage(WireModel):
    count: int | None = None
    next: str | None = None
    results: list[RateRow]


class SavingSessionRegion(WireModel):
    region_id: int | None = Field(alias="regionId")


class SavingSessionEvent(WireModel):
    """An Octopus flexibility event (Octoplus): a saving session (``TURN_DOWN``: use less
    between start and end, paid in OctoPoints per kWh saved) or a power-up (``TURN_UP``)."""

    id: int | None
    code: str | None
    start: AwareDatetime = Field(alias="startAt")
    end: AwareDatetime = Field(alias="endAt")
    reward_per_kwh_octopoints: int | None = Field(alias="rewardPerKwhInOctoPoints")
    dev_event: bool | None = Field(alias="devEvent")
    event_type: str | None = Field(alias="eventType")
    target_regions: list[SavingSessionRegion] | None = Field(alias="targetRegion")


class JoinedSavingSession(WireModel):
    event_id: int | None = Field(alias="eventId")
    start: AwareDatetime = Field(alias="startAt")
    end: AwareDatetime = Field(alias="endAt")
    reward_given_octopoints: int | None = Field(alias="rewardGivenInOctoPoints")


class SavingSessionsAccount(WireModel):
    signed_up_meter_point: SavingSessionRegion | None = Field(alias="signedUpMeterPoint")
    has_joined_campaign: bool | None = Field(alias="hasJoinedCampaign")
    joined_events: list[JoinedSavingSession] = Field(alias="joinedEvents")

    @property
    def region_id(self) -> int | None:
        point = self.signed_up_meter_point
        return point.region_id if point else None


class SavingSessions(WireModel):
    events: list[SavingSessionEvent]
    account: SavingSessionsAccount | None


class OctoplusAccountInfo(WireModel):
    is_octoplus_enrolled: bool = Field(alias="isOctoplusEnrolled")


class LoyaltyPointLedgerEntry(WireModel):
    """One entry of the OctoPoints ledger (Kraken's ``LoyaltyPointLedgerEntryType``): the
    balance after it is ``balanceCarriedForward``, a whole number of points as text."""

    balance_carried_forward: Decimal | None = Field(alias="balanceCarriedForward")
    posted_at: AwareDatetime | None = Field(alias="postedAt")


class WheelSpinsAllowed(WireModel):
    spins_allowed: int | None = Field(alias="spinsAllowed")


class WheelPrize(WireModel):
    value: int | None


class WheelSpin(WireModel):
    prize: WheelPrize | None


class JoinedSavingSessions(WireModel):
    joined_event_codes: list[str | None] | None = Field(alias="joinedEventCodes")


Model = TypeVar("Model", bound=BaseModel)


def parse_answer(model: type[Model], payload: Any, *, operation: str) -> Model:
    """Validate one answer, turning a shape mismatch into a readable schema error."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in (operation, *first["loc"]))
        problem = "is missing" if first["type"] == "missing" else f"is invalid ({first['msg']})"
        raise KrakenSchemaError(
            f"Kraken's answer changed shape: field {where} {problem}. "
            "The bridge needs an update for this Kraken version.",
            operation=operation,
        ) from None


def as_utc_z(when: datetime) -> str:
    """Kraken's wire format for times: ``2026-03-10T12:00:00Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
