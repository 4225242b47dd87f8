"""Resolvers: the scenario's account, devices, dispatches and telemetry as Kraken types.

Root resolvers check the token and the scenario's faults, then build plain dicts in
Kraken's shape; abstract types carry ``__typename`` so graphql-core's default type
resolver picks the concrete type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo, GraphQLSchema

from kraken_core.simulator.graphql_schema import load_backend_schema, load_main_schema
from kraken_core.simulator.kraken_errors import kraken_error
from kraken_core.simulator.rates import rate_in_force, served_rows
from kraken_core.simulator.scenario import (
    JOIN_REFUSED_CODE,
    PROVIDERS,
    Device,
    ElectricityMeterPoint,
    GasMeterPoint,
    SavingSessionEvent,
    TimelineEntry,
)
from kraken_core.simulator.telemetry import latest_readings, ranged_readings

if TYPE_CHECKING:
    from kraken_core.simulator.app import Simulator


@dataclass(frozen=True)
class RequestContext:
    """What every resolver of one request sees: one ``now`` for the whole request."""

    simulator: Simulator
    now: datetime
    authorization: str | None


Resolver = Callable[[RequestContext, dict[str, Any]], Any]

_STATUS_TYPENAMES = {
    "SmartFlexVehicle": "SmartFlexVehicleStatus",
    "SmartFlexChargePoint": "SmartFlexChargePointStatus",
    "SmartFlexDevice": "SmartFlexDeviceStatus",
}


def _root(field: str, resolve: Resolver, *, needs_token: bool = True) -> Callable[..., Any]:
    def resolver(_parent: object, info: GraphQLResolveInfo[RequestContext], **args: Any) -> Any:
        context: RequestContext = info.context
        if needs_token:
            context.simulator.authenticate(context.authorization, context.now)
        fault = context.simulator.fault_for(field, context.now)
        if fault is not None and fault.error_code is not None:
            raise kraken_error(fault.error_code, fault.message)
        return resolve(context, args)

    return resolver


def _obtain_kraken_token(context: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    given = args["input"]
    return context.simulator.obtain_token(
        context.now, api_key=given.get("APIKey"), refresh_token=given.get("refreshToken")
    )


def _rates_now(context: RequestContext, tariff_code: str) -> dict[str, float | None]:
    """``unitRate``, ``dayRate`` and ``nightRate`` of a tariff at now (each type of tariff
    has only some of these fields; GraphQL picks the ones its type has)."""
    scenario, now = context.simulator.scenario, context.now
    return {
        "unitRate": rate_in_force(scenario.unit_rates.get(tariff_code, []), now),
        "dayRate": rate_in_force(scenario.day_unit_rates.get(tariff_code, []), now),
        "nightRate": rate_in_force(scenario.night_unit_rates.get(tariff_code, []), now),
    }


def _agreement(context: RequestContext, index: int, point: ElectricityMeterPoint) -> dict[str, Any]:
    scenario = context.simulator.scenario
    known_rows = [
        *scenario.unit_rates.get(point.tariff_code, []),
        *scenario.standing_charges.get(point.tariff_code, []),
    ]
    valid_from = point.valid_from or min(
        (row.valid_from for row in known_rows), default=scenario.start
    )
    # Successive agreements on one MPAN share the meter point (Kraken's id is per MPAN).
    point_index = next(
        i for i, other in enumerate(scenario.account.electricity) if other.mpan == point.mpan
    )
    standing = served_rows(
        scenario.standing_charges.get(point.tariff_code, []), context.now, context.now, None
    )
    standing_in_force = [row for row in standing if row.valid_from <= context.now]
    device = {"id": str(point_index + 1), "deviceId": point.telemetry_device_id}
    has_device = point.telemetry_device_id is not None
    meter = {
        "id": str(point_index + 1),
        "serialNumber": point.serial_number,
        "meterType": point.served_meter_type,
        "smartImportElectricityMeter": device
        if has_device and point.direction == "IMPORT"
        else None,
        "smartExportElectricityMeter": device
        if has_device and point.direction == "EXPORT"
        else None,
    }
    return {
        "id": index + 1,
        "validFrom": valid_from,
        "validTo": point.valid_to,
        "tariff": {
            "__typename": context.simulator.products.electricity_typename(point),
            "id": point.tariff_code,
            "productCode": point.product_code,
            "tariffCode": point.tariff_code,
            "isExport": point.direction == "EXPORT",
            "standingCharge": standing_in_force[0].value_inc_vat if standing_in_force else None,
            **_rates_now(context, point.tariff_code),
            # FourRateEvTariff only; the other tariff types have no such fields.
            "evDevicePeakRate": point.ev_device_peak_rate,
            "evDeviceOffPeakRate": point.ev_device_off_peak_rate,
        },
        "meterPoint": {
            "id": str(point_index + 1),
            "mpan": point.mpan,
            "direction": point.direction,
            "meters": lambda _info, **_args: [meter],
        },
    }


def _gas_agreement(context: RequestContext, index: int, point: GasMeterPoint) -> dict[str, Any]:
    scenario = context.simulator.scenario
    known_rows = [
        *scenario.unit_rates.get(point.tariff_code, []),
        *scenario.standing_charges.get(point.tariff_code, []),
    ]
    device = {"id": f"g{index + 1}", "deviceId": point.telemetry_device_id}
    meter = {
        "id": f"g{index + 1}",
        "serialNumber": point.serial_number,
        "smartGasMeter": device if point.telemetry_device_id is not None else None,
    }
    return {
        "id": 1000 + index,
        "validFrom": min((row.valid_from for row in known_rows), default=scenario.start),
        "validTo": None,
        "tariff": {
            "id": point.tariff_code,
            "productCode": point.product_code,
            "tariffCode": point.tariff_code,
            "isExport": False,
            "unitRate": rate_in_force(scenario.unit_rates.get(point.tariff_code, []), context.now),
        },
        "meterPoint": {
            "id": f"g{index + 1}",
            "mprn": point.mprn,
            "meters": lambda _info, **_args: [meter],
        },
    }


def _billing_options(start_day: int | None, today: date) -> dict[str, Any] | None:
    """Monthly billing from ``start_day``: the current period's first and last day."""
    if start_day is None:
        return None
    start = today.replace(day=start_day)
    if start > today:
        start = (start.replace(day=1) - timedelta(days=1)).replace(day=start_day)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=start_day)
    return {
        "periodStartDay": start_day,
        "periodLength": "MONTHLY",
        "isFixed": True,
        "currentBillingPeriodStartDate": start.isoformat(),
        "currentBillingPeriodEndDate": (following - timedelta(days=1)).isoformat(),
    }


def _check_account(context: RequestContext, account_number: str) -> None:
    if account_number != context.simulator.scenario.account.number:
        raise kraken_error("KT-CT-4177")


def _account(context: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    _check_account(context, args["accountNumber"])
    account = context.simulator.scenario.account
    agreements = [
        (point, _agreement(context, index, point))
        for index, point in enumerate(account.electricity)
    ]

    def electricity_agreements(_info: object, active: bool | None = None) -> list[Any]:
        # ``active: true``: only the agreements in force now; otherwise every one.
        return [answer for point, answer in agreements if not active or point.in_force(context.now)]

    gas = [_gas_agreement(context, index, point) for index, point in enumerate(account.gas)]
    return {
        "id": "1",
        "number": account.number,
        "balance": lambda _info, **_args: account.balance_at(context.now),
        "billingOptions": _billing_options(account.billing_period_start_day, context.now.date()),
        "properties": lambda _info, **_args: [
            {"id": "1", "postcode": account.postcode, "address": account.address}
        ],
        "electricityAgreements": electricity_agreements,
        "gasAgreements": lambda _info, **_args: gas,
    }


def _provider(device: Device) -> str:
    if device.provider is not None:
        return device.provider
    from_make = (device.make or "").upper().replace(" ", "_")
    return from_make if from_make in PROVIDERS else "SMARTCAR"


def _device_answer(context: RequestContext, device: Device, state: TimelineEntry) -> dict[str, Any]:
    typename = device.graphql_typename
    preferences = context.simulator.preferences_of(device)
    return {
        "__typename": typename,
        "id": device.id,
        "name": None,
        "deviceType": device.deviceType,
        "provider": _provider(device),
        "integrationDeviceId": None,
        "propertyId": None,
        "make": device.make,
        "model": device.model,
        "status": {
            "__typename": _STATUS_TYPENAMES[typename],
            "current": "RETIRED" if state.currentState == "RETIRED" else "LIVE",
            "currentState": state.currentState,
            "isSuspended": state.isSuspended,
        },
        "preferences": None
        if preferences is None
        else {"__typename": "SmartFlexDevicePreferences", **preferences.model_dump()},
    }


def _devices(context: RequestContext, args: dict[str, Any]) -> list[dict[str, Any]]:
    _check_account(context, args["accountNumber"])
    wanted = args.get("deviceId")
    answer: list[dict[str, Any]] = []
    for device in context.simulator.scenario.devices:
        state = context.simulator.device_state(device, context.now)
        if state is None or (wanted is not None and device.id != wanted):
            continue
        answer.append(_device_answer(context, device, state))
    return answer


def _device_in_force(context: RequestContext, device_id: str) -> tuple[Device, TimelineEntry]:
    simulator = context.simulator
    device = next((d for d in simulator.scenario.devices if d.id == device_id), None)
    state = simulator.device_state(device, context.now) if device is not None else None
    if device is None or state is None:
        raise kraken_error("KT-CT-4301")
    return device, state


def _update_boost_charge(context: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    given = args.get("input") or {}
    device, state = _device_in_force(context, given["deviceId"])
    updated = context.simulator.boost(device, state, given["action"], context.now)
    return _device_answer(context, device, updated)


def _update_device_smart_control(context: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    given = args["input"]
    device, state = _device_in_force(context, given["deviceId"])
    updated = context.simulator.set_smart_control(
        device, state, suspended=given["action"] == "SUSPEND", now=context.now
    )
    return _device_answer(context, device, updated)


def _set_device_preferences(context: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    given = args["input"]
    device, state = _device_in_force(context, given["deviceId"])
    context.simulator.set_preferences(device, given)
    return _device_answer(context, device, state)


def _completed_dispatches(context: RequestContext, args: dict[str, Any]) -> list[Any]:
    _check_account(context, args["accountNumber"])
    done = [d for d in context.simulator.scenario.completed_dispatches if d.end <= context.now]
    return [
        {
            "start": d.start,
            "end": d.end,
            "delta": d.delta,
            "meta": {"source": d.source, "location": d.location},
        }
        for d in sorted(done, key=lambda d: d.start, reverse=True)
    ]


def _served_events(context: RequestContext, include_dev: bool = True) -> list[SavingSessionEvent]:
    """The scenario's events announced by now, in start order (dev events only if asked)."""
    sessions = context.simulator.scenario.saving_sessions
    if sessions is None:
        return []
    return sorted(
        (
            event
            for event in sessions.events
            if (event.announced_at is None or event.announced_at <= context.now)
            and (include_dev or not event.devEvent)
        ),
        key=lambda event: event.startAt,
    )


def _event_answer(event: SavingSessionEvent) -> dict[str, Any]:
    answer = event.model_dump(
        include={
            "id",
            "code",
            "startAt",
            "endAt",
            "rewardPerKwhInOctoPoints",
            "devEvent",
            "eventType",
        }
    )
    regions = event.targetRegion
    answer["targetRegion"] = (
        None if regions is None else [{"regionId": r.regionId} for r in regions]
    )
    return answer


def _saving_sessions(context: RequestContext, _args: dict[str, Any]) -> dict[str, Any] | None:
    simulator = context.simulator
    sessions = simulator.scenario.saving_sessions
    if sessions is None:
        return {"events": lambda _info, **_a: [], "account": lambda _info, **_a: None}
    joined = [
        {
            "eventId": event.id,
            "startAt": event.startAt,
            "endAt": event.endAt,
            "rewardGivenInOctoPoints": None
            if event.endAt > context.now
            else event.rewardGivenInOctoPoints or 0,
        }
        for event in _served_events(context)
        if simulator.has_joined(event)
    ]

    def events(_info: object, includeDev: bool | None = None, **_a: Any) -> list[Any]:
        return [
            _event_answer(e) for e in _served_events(context, include_dev=includeDev is not False)
        ]

    def account(_info: object, **account_args: Any) -> dict[str, Any]:
        _check_account(context, account_args["accountNumber"])
        region = sessions.region_id
        return {
            "signedUpMeterPoint": None if region is None else {"regionId": region},
            "hasJoinedCampaign": sessions.has_joined_campaign,
            "joinedEvents": joined,
        }

    return {"events": events, "account": account}


def _join_saving_sessions_event(context: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    given = args["input"]
    _check_account(context, given["accountNumber"])
    simulator = context.simulator
    code = given["eventCode"]
    event = next((e for e in _served_events(context) if e.code == code), None)
    if event is None:
        raise kraken_error(JOIN_REFUSED_CODE, f"There is no event with the code {code}.")
    simulator.join(event, context.now)
    return {
        "joinedEventCodes": [e.code for e in _served_events(context) if simulator.has_joined(e)]
    }


def _octoplus_account_info(context: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    _check_account(context, args["accountNumber"])
    return {"isOctoplusEnrolled": context.simulator.octoplus_enrolled}


def _loyalty_point_ledgers(context: RequestContext, _args: dict[str, Any]) -> list[Any]:
    simulator = context.simulator
    if not simulator.octoplus_enrolled:
        return []
    # One entry: the balance as it stands (Kraken writes the points as text).
    balance = simulator.points_balance(context.now)
    return [{"id": "1", "balanceCarriedForward": str(balance), "postedAt": context.now}]


def _wheel_of_fortune_spins_allowed(
    context: RequestContext, args: dict[str, Any]
) -> dict[str, Any]:
    _check_account(context, args["accountNumber"])
    return {"spinsAllowed": context.simulator.spins_left(args["fuelType"])}


def _spin_wheel_of_fortune(context: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    given = args["input"]
    _check_account(context, given["accountNumber"])
    prize = context.simulator.spin(given["fuelType"])
    return {"prize": {"value": prize}}


def _flex_planned_dispatches(context: RequestContext, args: dict[str, Any]) -> list[Any]:
    _device, state = _device_in_force(context, args["deviceId"])
    return [
        dispatch.model_dump()
        for dispatch in sorted(state.flexPlannedDispatches, key=lambda d: d.start)
        if dispatch.end > context.now
    ]


def _smart_meter_telemetry(context: RequestContext, args: dict[str, Any]) -> list[Any]:
    simulator = context.simulator
    meter = simulator.telemetry_meter(args["deviceId"])
    if meter is None:
        raise kraken_error("KT-GB-4050")
    start, end, grouping = args.get("start"), args.get("end"), args.get("grouping")
    given = [value is not None for value in (start, end, grouping)]
    scenario = simulator.scenario
    # Kraken README, "Gas": the gas meter's device id answers the gas meter's readings.
    telemetry = scenario.gas_telemetry if meter == "gas" else scenario.telemetry
    origin = scenario.start_utc
    if not any(given):
        return latest_readings(telemetry, origin, context.now)
    if not all(given):
        raise kraken_error("KT-GB-4040")
    assert isinstance(start, datetime)
    assert isinstance(end, datetime)
    assert isinstance(grouping, str)
    if end <= start:
        raise kraken_error("KT-GB-4041")
    return ranged_readings(telemetry, origin, context.now, start, end, grouping)


def _attach_resolvers(schema: GraphQLSchema) -> GraphQLSchema:
    assert schema.query_type is not None
    assert schema.mutation_type is not None
    query, mutation = schema.query_type.fields, schema.mutation_type.fields
    mutation["obtainKrakenToken"].resolve = _root(
        "obtainKrakenToken", _obtain_kraken_token, needs_token=False
    )
    resolvers: dict[str, Resolver] = {
        "account": _account,
        "devices": _devices,
        "flexPlannedDispatches": _flex_planned_dispatches,
        "completedDispatches": _completed_dispatches,
        "smartMeterTelemetry": _smart_meter_telemetry,
        "updateBoostCharge": _update_boost_charge,
        "updateDeviceSmartControl": _update_device_smart_control,
        "setDevicePreferences": _set_device_preferences,
        "savingSessions": _saving_sessions,
        "joinSavingSessionsEvent": _join_saving_sessions_event,
        "octoplusAccountInfo": _octoplus_account_info,
        "loyaltyPointLedgers": _loyalty_point_ledgers,
        "wheelOfFortuneSpinsAllowed": _wheel_of_fortune_spins_allowed,
        "spinWheelOfFortune": _spin_wheel_of_fortune,
    }
    for name, resolve in resolvers.items():
        field = query.get(name) or mutation.get(name)
        if field is not None:
            field.resolve = _root(name, resolve)
    return schema


@cache
def executable_schema() -> GraphQLSchema:
    """The main host: the subset schema and Octoplus, with the simulator's resolvers
    (built once per process)."""
    return _attach_resolvers(load_main_schema())


@cache
def executable_backend_schema() -> GraphQLSchema:
    """Octopus's backend host: the main host's fields plus saving sessions."""
    return _attach_resolvers(load_backend_schema())
