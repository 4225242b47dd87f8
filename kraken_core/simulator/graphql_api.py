"""Resolvers: the scenario's account, devices, dispatches and telemetry as Kraken types.

Root resolvers check the token and the scenario's faults, then build plain dicts in
Kraken's shape; abstract types carry ``__typename`` so graphql-core's default type
resolver picks the concrete type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo, GraphQLSchema

from kraken_core.simulator.graphql_schema import load_subset_schema
from kraken_core.simulator.kraken_errors import kraken_error
from kraken_core.simulator.rates import served_rows
from kraken_core.simulator.scenario import PROVIDERS, Device, ElectricityMeterPoint
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


def _tariff_typename(point: ElectricityMeterPoint) -> str:
    if "AGILE" in point.product_code.upper():
        return "HalfHourlyTariff"
    if point.tariff_code.upper().startswith("E-2R-"):
        return "DayNightTariff"
    return "StandardTariff"


def _agreement(context: RequestContext, index: int, point: ElectricityMeterPoint) -> dict[str, Any]:
    scenario = context.simulator.scenario
    known_rows = [
        *scenario.unit_rates.get(point.tariff_code, []),
        *scenario.standing_charges.get(point.tariff_code, []),
    ]
    valid_from = min((row.valid_from for row in known_rows), default=scenario.start)
    standing = served_rows(
        scenario.standing_charges.get(point.tariff_code, []), context.now, context.now, None
    )
    standing_in_force = [row for row in standing if row.valid_from <= context.now]
    device = {"id": str(index + 1), "deviceId": point.telemetry_device_id}
    has_device = point.telemetry_device_id is not None
    meter = {
        "id": str(index + 1),
        "serialNumber": point.serial_number,
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
        "validTo": None,
        "tariff": {
            "__typename": _tariff_typename(point),
            "id": point.tariff_code,
            "productCode": point.product_code,
            "tariffCode": point.tariff_code,
            "isExport": point.direction == "EXPORT",
            "standingCharge": standing_in_force[0].value_inc_vat if standing_in_force else None,
        },
        "meterPoint": {
            "id": str(index + 1),
            "mpan": point.mpan,
            "direction": point.direction,
            "meters": lambda _info, **_args: [meter],
        },
    }


def _check_account(context: RequestContext, account_number: str) -> None:
    if account_number != context.simulator.scenario.account.number:
        raise kraken_error("KT-CT-4177")


def _account(context: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    _check_account(context, args["accountNumber"])
    account = context.simulator.scenario.account
    agreements = [
        _agreement(context, index, point) for index, point in enumerate(account.electricity)
    ]
    return {
        "id": "1",
        "number": account.number,
        "electricityAgreements": lambda _info, **_args: agreements,
    }


def _provider(device: Device) -> str:
    if device.provider is not None:
        return device.provider
    from_make = (device.make or "").upper().replace(" ", "_")
    return from_make if from_make in PROVIDERS else "SMARTCAR"


def _devices(context: RequestContext, args: dict[str, Any]) -> list[dict[str, Any]]:
    _check_account(context, args["accountNumber"])
    wanted = args.get("deviceId")
    answer: list[dict[str, Any]] = []
    for device in context.simulator.scenario.devices:
        state = context.simulator.device_state(device, context.now)
        if state is None or (wanted is not None and device.id != wanted):
            continue
        typename = device.graphql_typename
        answer.append(
            {
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
                    "current": "LIVE",
                    "currentState": state.currentState,
                    "isSuspended": state.isSuspended,
                },
            }
        )
    return answer


def _flex_planned_dispatches(context: RequestContext, args: dict[str, Any]) -> list[Any]:
    simulator = context.simulator
    device = next((d for d in simulator.scenario.devices if d.id == args["deviceId"]), None)
    state = simulator.device_state(device, context.now) if device is not None else None
    if state is None:
        raise kraken_error("KT-CT-4301")
    return [
        dispatch.model_dump()
        for dispatch in sorted(state.flexPlannedDispatches, key=lambda d: d.start)
        if dispatch.end > context.now
    ]


def _smart_meter_telemetry(context: RequestContext, args: dict[str, Any]) -> list[Any]:
    simulator = context.simulator
    if args["deviceId"] not in simulator.telemetry_device_ids():
        raise kraken_error("KT-GB-4050")
    start, end, grouping = args.get("start"), args.get("end"), args.get("grouping")
    given = [value is not None for value in (start, end, grouping)]
    telemetry, origin = simulator.scenario.telemetry, simulator.scenario.start_utc
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


@cache
def executable_schema() -> GraphQLSchema:
    """The subset schema with the simulator's resolvers (built once per process)."""
    schema = load_subset_schema()
    assert schema.query_type is not None
    assert schema.mutation_type is not None
    query, mutation = schema.query_type.fields, schema.mutation_type.fields
    mutation["obtainKrakenToken"].resolve = _root(
        "obtainKrakenToken", _obtain_kraken_token, needs_token=False
    )
    query["account"].resolve = _root("account", _account)
    query["devices"].resolve = _root("devices", _devices)
    query["flexPlannedDispatches"].resolve = _root(
        "flexPlannedDispatches", _flex_planned_dispatches
    )
    query["smartMeterTelemetry"].resolve = _root("smartMeterTelemetry", _smart_meter_telemetry)
    return schema
