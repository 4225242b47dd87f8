"""The simulator's hand-written SDL is a true subset of Kraken's schema.

Every type, field, argument, enum value, interface and union member the simulator
serves must exist, with the same type, in the shared Kraken schema: otherwise a document
could pass against the simulator and fail against Kraken.
"""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
)

from kraken_core.simulator.graphql_schema import load_subset_schema

_BUILT_INS = {"String", "Int", "Float", "Boolean", "ID"}


def _own_types(schema: GraphQLSchema) -> dict[str, GraphQLNamedType]:
    return {
        name: named
        for name, named in schema.type_map.items()
        if not name.startswith("__") and name not in _BUILT_INS
    }


def _differences(name: str, ours: GraphQLNamedType, theirs: GraphQLNamedType) -> list[str]:
    if type(ours) is not type(theirs):
        return [f"{name} is a {type(ours).__name__} here but a {type(theirs).__name__} in Kraken"]
    problems: list[str] = []
    if isinstance(ours, GraphQLObjectType | GraphQLInterfaceType):
        assert isinstance(theirs, GraphQLObjectType | GraphQLInterfaceType)
        their_interfaces = {i.name for i in theirs.interfaces}
        for interface in ours.interfaces:
            if interface.name not in their_interfaces:
                problems.append(f"{name} implements {interface.name}, Kraken's does not")
        for field_name, field in ours.fields.items():
            their_field = theirs.fields.get(field_name)
            if their_field is None:
                problems.append(f"{name}.{field_name} does not exist in Kraken")
                continue
            if str(field.type) != str(their_field.type):
                problems.append(
                    f"{name}.{field_name} is {field.type} here, {their_field.type} in Kraken"
                )
            for arg_name, arg in field.args.items():
                their_arg = their_field.args.get(arg_name)
                if their_arg is None:
                    problems.append(f"{name}.{field_name}({arg_name}:) does not exist in Kraken")
                elif str(arg.type) != str(their_arg.type):
                    problems.append(
                        f"{name}.{field_name}({arg_name}:) is {arg.type} here, "
                        f"{their_arg.type} in Kraken"
                    )
    elif isinstance(ours, GraphQLInputObjectType):
        assert isinstance(theirs, GraphQLInputObjectType)
        for field_name, input_field in ours.fields.items():
            their_input = theirs.fields.get(field_name)
            if their_input is None:
                problems.append(f"input {name}.{field_name} does not exist in Kraken")
            elif str(input_field.type) != str(their_input.type):
                problems.append(
                    f"input {name}.{field_name} is {input_field.type} here, "
                    f"{their_input.type} in Kraken"
                )
    elif isinstance(ours, GraphQLEnumType):
        assert isinstance(theirs, GraphQLEnumType)
        problems.extend(
            f"enum {name} value {value} does not exist in Kraken"
            for value in ours.values
            if value not in theirs.values
        )
    elif isinstance(ours, GraphQLUnionType):
        assert isinstance(theirs, GraphQLUnionType)
        their_members = {member.name for member in theirs.types}
        problems.extend(
            f"union {name} member {member.name} is not a member in Kraken"
            for member in ours.types
            if member.name not in their_members
        )
    else:
        assert isinstance(ours, GraphQLScalarType)
    return problems


def test_every_type_of_the_subset_exists_identically_in_kraken(
    shared_schema: GraphQLSchema,
) -> None:
    subset = load_subset_schema()
    theirs = _own_types(shared_schema)
    problems: list[str] = []
    for name, named in sorted(_own_types(subset).items()):
        their_type = theirs.get(name)
        if their_type is None:
            problems.append(f"type {name} does not exist in Kraken")
        else:
            problems.extend(_differences(name, named, their_type))
    assert not problems, "the subset SDL disagrees with Kraken:\n" + "\n".join(problems)


def test_root_types_are_kraken_root_types(shared_schema: GraphQLSchema) -> None:
    subset = load_subset_schema()
    assert subset.query_type is not None
    assert shared_schema.query_type is not None
    assert subset.query_type.name == shared_schema.query_type.name
    assert subset.mutation_type is not None
    assert shared_schema.mutation_type is not None
    assert subset.mutation_type.name == shared_schema.mutation_type.name


def test_the_comparison_notices_an_invented_field(shared_schema: GraphQLSchema) -> None:
    """Guard for the check itself: a made-up field and a changed type are reported."""
    from graphql import build_schema

    invented = build_schema(
        "type Query { account(accountNumber: String): AccountType }\n"
        "type AccountType { number: String! favouriteColour: String }"
    )
    theirs = _own_types(shared_schema)
    problems = _differences("Query", invented.type_map["Query"], theirs["Query"])
    problems += _differences("AccountType", invented.type_map["AccountType"], theirs["AccountType"])
    assert "Query.account(accountNumber:) is String here, String! in Kraken" in problems
    assert "AccountType.number is String! here, String in Kraken" in problems
    assert "AccountType.favouriteColour does not exist in Kraken" in problems
