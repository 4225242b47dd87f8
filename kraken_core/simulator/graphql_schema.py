"""The subset SDL the simulator executes, with Kraken's scalars made concrete."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import cast

from graphql import (
    ConstValueNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    StringValueNode,
    build_schema,
)

from kraken_core.kraken.extension import (
    octopus_backend_extension_sdl,
    octopus_extension_sdl,
)


def subset_sdl() -> str:
    """The text of ``schema.graphql`` (shipped inside the package)."""
    return resources.files(__package__).joinpath("schema.graphql").read_text(encoding="utf-8")


def parse_datetime(value: object) -> datetime:
    """Kraken's ``DateTime`` input: ISO 8601; without an offset UTC is assumed, like Kraken."""
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime cannot represent a non-string value: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"DateTime cannot represent the value {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_datetime_literal(node: ConstValueNode) -> datetime:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("DateTime must be given as a string")
    return parse_datetime(node.value)


def serialize_datetime(value: object) -> str:
    """Like graphene: ``isoformat()`` of an aware time, e.g. ``2026-03-10T12:00:00+00:00``."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str):
        return value
    raise GraphQLError(f"DateTime cannot serialize {value!r}")


def serialize_decimal(value: object) -> str:
    """Like graphene: a Decimal goes on the wire as a string, e.g. ``"7.5"``."""
    if isinstance(value, bool):
        raise GraphQLError(f"Decimal cannot serialize {value!r}")
    if isinstance(value, Decimal | int | float | str):
        try:
            return str(Decimal(str(value)))
        except InvalidOperation:
            pass
    raise GraphQLError(f"Decimal cannot serialize {value!r}")


_TIME = re.compile(r"^\d\d:\d\d(:\d\d)?$")


def parse_time(value: object) -> time:
    """Kraken's ``Time`` input: ``HH:MM`` or ``HH:MM:SS`` (a ready-by time)."""
    if not isinstance(value, str) or not _TIME.match(value):
        raise GraphQLError(f"Time cannot represent {value!r}: write HH:MM or HH:MM:SS")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"Time cannot represent {value!r}: no such time of day") from None


def _parse_time_literal(node: ConstValueNode) -> time:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("Time must be given as a string")
    return parse_time(node.value)


def serialize_time(value: object) -> str:
    """Kraken answers ``Time`` as ``HH:MM:SS`` (graphene's ``Time`` is the ISO 8601 time,
    ``time.isoformat()``), whether the scenario wrote ``07:30`` or ``07:30:00``."""
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, str):
        return parse_time(value).isoformat()
    raise GraphQLError(f"Time cannot serialize {value!r}")


def load_subset_schema() -> GraphQLSchema:
    """Build the subset schema (no resolvers): for validation and for the schema tests."""
    return _with_scalars(build_schema(subset_sdl()))


def load_main_schema() -> GraphQLSchema:
    """The subset plus the main host's Octopus-only fields (Octoplus): what
    api.octopus.energy serves."""
    return _with_scalars(build_schema(subset_sdl() + "\n" + octopus_extension_sdl()))


def load_backend_schema() -> GraphQLSchema:
    """The subset plus every Octopus-only field, saving sessions included: what Octopus's
    backend host serves."""
    sdl = "\n".join((subset_sdl(), octopus_extension_sdl(), octopus_backend_extension_sdl()))
    return _with_scalars(build_schema(sdl))


def _with_scalars(schema: GraphQLSchema) -> GraphQLSchema:
    date_time = cast("GraphQLScalarType", schema.type_map["DateTime"])
    date_time.coerce_output_value = serialize_datetime
    date_time.coerce_input_value = parse_datetime
    date_time.coerce_input_literal = _parse_datetime_literal
    time_of_day = cast("GraphQLScalarType", schema.type_map["Time"])
    time_of_day.coerce_output_value = serialize_time
    time_of_day.coerce_input_value = parse_time
    time_of_day.coerce_input_literal = _parse_time_literal
    decimal = cast("GraphQLScalarType", schema.type_map["Decimal"])
    decimal.coerce_output_value = serialize_decimal
    return schema
