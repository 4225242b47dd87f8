"""The bridge API's models: what every front door reads and sends.

Read models (device states, the day's timeline, statistics, the request budget, health)
are built by the engine; request models (action bodies, settings) are what a front door
parses before calling the engine. The REST bridge and any other front door use these and
nothing of the engine's own, so one implementation answers both in the same JSON.

Device states are one model per device kind. ``kraken-bridge schema`` prints their JSON
Schema (docs/device-state.schema.json), which the Homey app's state maps are tested
against.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal, Protocol, Self, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from kraken_core.domain.efficiency import Period
from kraken_core.domain.tariff import RateSource
from kraken_core.domain.windows import DispatchType

DeviceKind = Literal[
    "import_tariff",
    "export_tariff",
    "energy_account",
    "smart_energy_device",
    "gas_tariff",
    "gas_meter",
]
DEVICE_KINDS: tuple[DeviceKind, ...] = get_args(DeviceKind)


def _utc_z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: A UTC time, written ``2026-03-10T18:00:00Z`` (whole seconds) as every bridge time is.
UtcTime = Annotated[
    AwareDatetime,
    PlainSerializer(_utc_z, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class _Model(BaseModel):
    # Every field is always sent (null when unknown), defaults included: say so.
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )


# --- device states ----------------------------------------------------------------------


class TariffDeviceState(_Model):
    """An import or export tariff now (pence per kWh, including VAT)."""

    unit_rate: float | None = Field(description="effective p/kWh now")
    tariff_unit_rate: float | None = Field(description="scheduled p/kWh now")
    next_unit_rate: float | None
    slot_start: UtcTime
    slot_end: UtcTime
    rate_source: RateSource
    price_quadrant: int | None = Field(ge=0, le=3)
    next_price_quadrant: int | None = Field(ge=0, le=3)
    tomorrow_prices_published: bool
    standing_charge: float | None = Field(description="p/day")
    product_code: str | None
    tariff_code: str | None
    four_rate_ev: bool


class ExportTariffState(TariffDeviceState):
    """An export tariff now: what exporting a kWh earns (pence per kWh)."""


class ImportTariffState(TariffDeviceState):
    """The home's import tariff, with the smart-charging allowance of the day."""

    allowance_used_minutes: int
    allowance_left_minutes: int | None = Field(description="null without a cap")
    allowance_reached: bool
    allowance_limit_minutes: int
    allowance_resets_at: UtcTime


class PlannedDispatchState(_Model):
    start: UtcTime
    end: UtcTime
    type: DispatchType
    energy_kwh: float | None


#: The ready-by times Kraken takes: 04:00 to 11:00 in 30-minute steps (UK time).
ReadyBy = Literal[
    "04:00", "04:30", "05:00", "05:30", "06:00", "06:30", "07:00", "07:30",
    "08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00",
]  # fmt: skip


class SmartEnergyDeviceState(_Model):
    """An EV or charger under Octopus's smart control."""

    kraken_device_id: str
    device_state: str | None = Field(description="Kraken's currentState")
    dispatches_honoured: bool
    dispatching: bool
    boosting: bool
    planned_dispatches: tuple[PlannedDispatchState, ...]
    next_dispatch_start: UtcTime | None
    next_dispatch_end: UtcTime | None
    planned_dispatch_count: int
    planned_energy_kwh: float | None
    current_dispatch_end: UtcTime | None
    ev_unit_rate: float | None = Field(description="what the car's own charging costs now")
    ev_peak_rate: float | None = Field(
        default=None, description="four-rate EV tariffs: Kraken's evDevicePeakRate, p/kWh"
    )
    ev_off_peak_rate: float | None = Field(
        default=None, description="four-rate EV tariffs: Kraken's evDeviceOffPeakRate, p/kWh"
    )
    allowance_used_minutes: int
    allowance_left_minutes: int | None
    allowance_reached: bool
    # --- issue 15: intelligent settings read back (Kraken's preferences and status) ---
    charge_target_percent: int | None = Field(
        default=None,
        description="the charge target (% of the battery) of the next ready-by time to "
        "come (UK time); null when Octopus has none for the device",
    )
    ready_by: ReadyBy | None = Field(
        default=None,
        description="HH:MM (UK time) the car is to be charged by, the next to come of the "
        "weekdays' ready-by times (04:00-11:00 in 30-minute steps; null for any other)",
    )
    charge_target_same_every_day: bool | None = Field(
        default=None,
        description="every weekday has the same target and ready-by time; null without one",
    )
    smart_control_enabled: bool | None = Field(
        default=None,
        description="Octopus's smart control is on (not suspended: Kraken's status.isSuspended)",
    )


class AccountFigures(_Model):
    """The Energy Account's figures from history: kWh, pence, tariff efficiency as a
    whole percent of the score's range, the off-peak share as a percent to 0.1."""

    import_kwh_today: float | None = None
    export_kwh_today: float | None = None
    import_cost_today: float | None = None
    export_value_today: float | None = None
    standing_charge_today: float | None = None
    telemetry_gap_slots_today: int | None = None
    billing_period_start: date | None = None
    billing_period_end: date | None = None
    period_import_kwh: float | None = None
    period_export_kwh: float | None = None
    period_import_cost: float | None = None
    period_export_value: float | None = None
    period_standing_charge: float | None = None
    period_cost: float | None = None
    projected_bill: float | None = None
    tariff_efficiency_today: int | None = None
    off_peak_share_today: float | None = None
    tariff_efficiency_month: int | None = None
    tariff_efficiency_12m: int | None = None
    # --- yesterday, this month, the last 12 months (money on the account) ---
    import_kwh_yesterday: float | None = Field(
        default=None, description="null when the history holds no reading of yesterday"
    )
    export_kwh_yesterday: float | None = Field(
        default=None, description="null also while the meter has never reported export"
    )
    import_cost_yesterday: float | None = Field(
        default=None, description="pence, unit rates only (as import_cost_today)"
    )
    export_value_yesterday: float | None = Field(default=None, description="pence")
    import_kwh_month: float | None = Field(
        default=None, description="this calendar month (UK time) up to now"
    )
    export_kwh_month: float | None = None
    import_cost_month: float | None = Field(default=None, description="pence, unit rates only")
    export_value_month: float | None = Field(default=None, description="pence")
    bill_12m: float | None = Field(
        default=None,
        description="pence: what the 12 calendar months before this one cost (UK time; in "
        "March 2026: March 2025 to February 2026): imports at their half-hour prices, less "
        "export earnings, plus the standing charge of each day the history holds readings "
        "of. Only days with readings count, so while the history is younger than 12 months "
        "this is a partial sum (bill_12m_months says how many months it covers); null "
        "while none of the 12 months has any reading (the bridge's first month)",
    )
    bill_12m_months: int | None = Field(
        default=None,
        ge=0,
        le=12,
        description="how many of the 12 months the history holds readings of (12: a whole "
        "year; the first month counted may be partial)",
    )
    bill_12m_from: date | None = Field(
        default=None, description="first day of the 12 months (UK calendar)"
    )
    bill_12m_to: date | None = Field(default=None, description="last day of the 12 months")


class OctoplusFigures(_Model):
    """Octoplus on the Energy Account: the household's saving sessions (its region's or
    national, never Octopus's test events, never power-ups) and power-ups, kept apart;
    points and the wheel of fortune. Unknown (null) until Kraken has answered."""

    octoplus_enrolled: bool | None = None
    octoplus_points: int | None = Field(default=None, description="OctoPoints balance")
    wheel_spins_available: int | None = Field(
        default=None, description="spins of the wheel of fortune left this month, all fuels"
    )
    wheel_spins_electricity: int | None = None
    wheel_spins_gas: int | None = Field(default=None, description="null without a gas meter")
    saving_session_active: bool = Field(
        default=False, description="a saving session the household can take part in is on"
    )
    next_saving_session_start: UtcTime | None = Field(
        default=None, description="of the session on now, else the next one"
    )
    next_saving_session_end: UtcTime | None = None
    next_saving_session_joined: bool | None = Field(
        default=None, description="the account has joined it (null: no session)"
    )
    next_saving_session_reward: int | None = Field(
        default=None, description="OctoPoints per kWh saved"
    )
    next_saving_session_code: str | None = Field(
        default=None, description="Kraken's event code (what join_saving_session takes)"
    )
    power_up_active: bool = Field(default=False, description="a power-up is on")
    next_power_up_start: UtcTime | None = Field(
        default=None, description="of the power-up on now, else the next one"
    )
    next_power_up_end: UtcTime | None = None


class EnergyAccountState(AccountFigures, OctoplusFigures):
    """The whole home's grid meter (the Home Mini), its money, and Octoplus."""

    power_w: float | None = Field(description="import positive, export negative")
    import_kwh_total: float | None = Field(description="register, never decreasing")
    export_kwh_total: float | None = Field(description="register, never decreasing")
    # --- the account's balance, the Home Mini's health (money on the account) ---
    balance: int | None = Field(
        default=None,
        description="pence, as Octopus last said (read hourly): positive is credit, negative "
        "is owed",
    )
    last_reading_at: UtcTime | None = Field(
        default=None, description="when the newest Home Mini reading the bridge has was read"
    )
    telemetry_stale: bool | None = Field(
        default=None,
        description="the newest Home Mini reading is older than the telemetry_stale_minutes "
        "setting (at least twice the polling interval); null before the first reading",
    )
    telemetry_stale_since: UtcTime | None = Field(
        default=None,
        description="while telemetry_stale: the time of the last reading (the Home Mini has "
        "been silent since); null otherwise",
    )


class GasTariffState(_Model):
    """A gas meter point's tariff now (pence per kWh and per day, including VAT)."""

    unit_rate: float | None = Field(description="p/kWh now")
    next_unit_rate: float | None = Field(description="p/kWh from the next change of price")
    next_rate_from: UtcTime | None = Field(description="when next_unit_rate starts")
    tomorrow_unit_rate: float | None = Field(description="tomorrow's p/kWh (Tracker), once known")
    tomorrow_prices_published: bool
    standing_charge: float | None = Field(description="p/day")
    product_code: str | None
    tariff_code: str | None


class GasMeterState(_Model):
    """A gas meter read by the Octopus Home Mini (about every 30 minutes)."""

    gas_kwh_total: float | None = Field(description="register in kWh, never decreasing")
    gas_m3_total: float | None = Field(
        description="register in m³, from kWh by the calorific value setting"
    )
    gas_kwh_today: float | None
    gas_cost_today: float | None = Field(description="pence, unit rate only")
    last_reading_at: UtcTime | None = Field(
        description="when the register last stood at gas_kwh_total: the end of the newest "
        "half-hour read, or the time of the read while that half-hour is still open"
    )
    calorific_value: float = Field(description="MJ/m³ used for gas_m3_total")


DeviceState = (
    ImportTariffState
    | ExportTariffState
    | EnergyAccountState
    | SmartEnergyDeviceState
    | GasTariffState
    | GasMeterState
)

STATE_MODELS: dict[DeviceKind, type[_Model]] = {
    "import_tariff": ImportTariffState,
    "export_tariff": ExportTariffState,
    "energy_account": EnergyAccountState,
    "smart_energy_device": SmartEnergyDeviceState,
    "gas_tariff": GasTariffState,
    "gas_meter": GasMeterState,
}


def device_state_schema() -> dict[str, Any]:
    """JSON Schema of every kind's state as the bridge sends it (the Homey app's contract)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Kraken bridge device state",
        "description": "The state object of GET /api/v1/devices/{id} by device kind; "
        "state events carry the changed fields of the same object.",
        "kinds": {
            kind: model.model_json_schema(mode="serialization")
            for kind, model in STATE_MODELS.items()
        },
    }


# --- devices ----------------------------------------------------------------------------


class DeviceSummary(_Model):
    id: str
    kind: DeviceKind
    name: str


class DeviceView(DeviceSummary):
    available: bool
    unavailable_reason: str | None
    updated_at: UtcTime | None
    state: dict[str, Any] = Field(description="the JSON of the kind's state model")


# --- the day's timeline -----------------------------------------------------------------


class TimelineSlot(_Model):
    start: UtcTime
    end: UtcTime
    label: str = Field(description="London HH:MM")
    tariff_rate: float | None
    unit_rate: float | None
    price_quadrant: int | None
    rate_source: RateSource | None
    export_rate: float | None


class DispatchBandView(_Model):
    device_id: str
    device_name: str
    start: UtcTime
    end: UtcTime
    type: DispatchType
    counted: bool
    reason: str | None


class Timeline(_Model):
    date: date
    now: UtcTime
    current_slot: UtcTime | None
    start: UtcTime
    end: UtcTime
    import_device_id: str | None
    export_device_id: str | None
    tariff_code: str | None
    prices_published: bool
    min_unit_rate: float | None
    max_unit_rate: float | None
    slots: list[TimelineSlot]
    dispatches: list[DispatchBandView]


# --- statistics -------------------------------------------------------------------------


class Stats(_Model):
    """Tariff efficiency of a period (DESIGN.md), with its slot coverage."""

    model_config = ConfigDict(populate_by_name=True)

    period: Period
    from_: date = Field(alias="from")
    to: date
    slots: int
    priced_slots: int
    gap_slots: int
    import_kwh: float
    kwh_by_quadrant: tuple[float, float, float, float]
    share_percent: tuple[float, float, float, float]
    score: float | None
    score_percent: int | None
    average_price_paid: float | None
    minimum_price: float | None
    reference_price: float | None
    cost_ratio_percent: int | None
    saving_efficiency_percent: int | None
    saving_p: float | None


class StatsRow(Stats):
    label: str


class StatsSeries(_Model):
    model_config = ConfigDict(populate_by_name=True)

    by: Literal["day", "month"]
    from_: date = Field(alias="from")
    to: date
    rows: list[StatsRow]
    import_kwh: float
    saving_p: float | None


# --- the bridge's own workings ----------------------------------------------------------


class BudgetLine(_Model):
    operation: str
    limit: int
    window_s: int
    used: int
    remaining: int
    next_free_at: UtcTime | None


class Budget(_Model):
    operations: list[BudgetLine]
    next_refresh: dict[str, UtcTime | None]
    requests_sent: dict[str, int]


class Health(_Model):
    status: str
    version: str
    account_linked: bool
    last_success: dict[str, UtcTime | None]
    last_error: dict[str, str | None]
    stale: dict[str, str] = Field(
        description="data kinds failing past their limit, with the reason in words"
    )


class PollerStatus(_Model):
    next_due: UtcTime | None
    last_success: UtcTime | None
    failures_in_a_row: int
    last_error: str | None
    stale: str | None


# --- what a front door sends ------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoBody(_Request):
    pass


class ChargeTarget(_Request):
    """Either or both: a field left out keeps each weekday's own value (issue 15)."""

    target_percent: int | None = Field(default=None, ge=10, le=100)
    ready_by: time | None = Field(default=None, description="UK clock time, HH:MM")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, given: object) -> object:
        if isinstance(given, dict):
            for field in ("target_percent", "ready_by"):
                if field in given and given[field] is None:
                    raise ValueError(f"{field}: give a value, or leave {field} out to keep it")
        return given

    @field_validator("ready_by")
    @classmethod
    def _clock_time(cls, value: time | None) -> time | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("give a UK clock time without a zone, e.g. 07:30")
        return value

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.target_percent is None and self.ready_by is None:
            raise ValueError("give target_percent (10-100), ready_by (HH:MM) or both")
        return self


class CheapestWindowQuery(_Request):
    duration_minutes: int = Field(ge=30, le=1440)
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None
    # --- a daily range and the best-paid window (price thresholds) ---
    from_time: time | None = Field(
        default=None,
        description="UK clock time, HH:MM, with to_time: search the stretch from from_time "
        "to to_time (past midnight when to_time is not later) that holds now, else the next",
    )
    to_time: time | None = Field(default=None, description="UK clock time, HH:MM")
    highest: bool = Field(
        default=False,
        description="the highest-priced window instead (on an export tariff: the best paid)",
    )

    @field_validator("from_time", "to_time")
    @classmethod
    def _clock_times(cls, value: time | None) -> time | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("give a UK clock time without a zone, e.g. 22:00")
        return value

    @model_validator(mode="after")
    def _one_kind_of_range(self) -> CheapestWindowQuery:
        clock = (self.from_time, self.to_time)
        if (clock[0] is None) != (clock[1] is None):
            raise ValueError("give from_time and to_time together (UK clock times, e.g. 22:00)")
        if clock[0] is not None and (self.from_ is not None or self.to is not None):
            raise ValueError("give either from/to (times) or from_time/to_time (clock times)")
        if clock[0] is not None and clock[0] == clock[1]:
            raise ValueError("from_time and to_time are the same: give a range, e.g. 22:00-07:00")
        return self


class JoinSavingSession(_Request):
    event_code: str | None = Field(
        default=None,
        min_length=1,
        description="Kraken's event code; default: the next session not joined yet",
    )


class SpinWheel(_Request):
    fuel: Literal["ELECTRICITY", "GAS"] = "ELECTRICITY"

    @field_validator("fuel", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


ActionBody = NoBody | ChargeTarget | CheapestWindowQuery | JoinSavingSession | SpinWheel

#: The body each action takes; an action not listed takes none (``{}``).
ACTION_BODIES: dict[str, type[_Request]] = {
    "set_charge_target": ChargeTarget,
    "find_cheapest_window": CheapestWindowQuery,
    "join_saving_session": JoinSavingSession,
    "spin_wheel": SpinWheel,
}


#: Calorific values the bridge accepts (MJ/m³): UK gas stays within about 37.5–43.
GAS_CV_RANGE = (30.0, 50.0)


class UserSettings(_Request):
    """What the Homey app's settings pass to the bridge (every field optional)."""

    poll_interval_minutes: Literal[1, 2, 3, 5] | None = None
    allowance_limit_minutes: int | None = Field(default=None, ge=0, le=1440)
    allowance_day_start: time | None = None
    gas_calorific_value: float | None = Field(
        default=None,
        description="MJ/m³ of the gas, as on the gas bill (UK gas is about 37.5–43)",
    )
    # The Energy Account warns when the newest Home Mini reading is older than this.
    telemetry_stale_minutes: int | None = Field(default=None, ge=5, le=1440)
    auto_join_saving_sessions: bool | None = Field(
        default=None, description="join every saving session announced for the household"
    )

    @field_validator("gas_calorific_value")
    @classmethod
    def _sane_calorific_value(cls, value: float | None) -> float | None:
        if value is not None and not GAS_CV_RANGE[0] <= value <= GAS_CV_RANGE[1]:
            low, high = GAS_CV_RANGE
            raise ValueError(
                f"a calorific value of {value:g} MJ/m³ is not gas's: give the value on your "
                f"gas bill, between {low:g} and {high:g} (UK gas is about 37.5–43)"
            )
        return value


class SettingsView(_Model):
    poll_interval_minutes: int
    allowance_limit_minutes: int
    allowance_day_start: str = Field(description="HH:MM, UK time")
    gas_calorific_value: float = Field(description="MJ/m³ used for gas_m3_total")
    telemetry_stale_minutes: int = Field(
        default=15, description="minutes without a Home Mini reading before telemetry_stale"
    )
    auto_join_saving_sessions: bool = Field(
        default=False, description="the bridge joins every saving session announced"
    )


def readable(exc: ValidationError | _HasErrors) -> str:
    """Pydantic's errors as one sentence: which field, what is wrong."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if p not in ("body", "query", "path"))
        parts.append(f"{where or 'body'}: {error['msg']}")
    return "; ".join(parts)


class _HasErrors(Protocol):
    """A validation error of FastAPI's (RequestValidationError) or pydantic's."""

    def errors(self) -> Sequence[Any]: ...


class ActionResult(_Model):
    status: int
    body: dict[str, Any]


class ActionError(Exception):
    """An action refused: ``status`` is the HTTP status, the message the user's sentence."""

    def __init__(self, status: int, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_at = retry_at
