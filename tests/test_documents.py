"""Every GraphQL document the client sends is valid on Kraken and on the simulator.

Documents named ``backend_*`` go to Octopus's backend host and may use both hand-written
Octopus extensions (kraken_core/kraken/octopus_extension.graphql and
octopus_backend_extension.graphql); ``octopus_*`` go to the main host and may use the
main host's (octopus_extension.graphql); every other document must be valid on Kraken's
own schema alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, extend_schema, parse, validate

from kraken_core.kraken.documents import document_source, shared_fragments
from kraken_core.kraken.extension import (
    BACKEND_DOCUMENT_PREFIX,
    OCTOPUS_DOCUMENT_PREFIX,
    extension_sdl_for,
    octopus_backend_extension_sdl,
    octopus_extension_sdl,
)
from kraken_core.simulator.graphql_schema import (
    load_backend_schema,
    load_main_schema,
    load_subset_schema,
)

DOCUMENTS = sorted(
    (Path(__file__).resolve().parents[1] / "kraken_core" / "kraken" / "documents").glob("*.graphql")
)


def _is_backend(document: Path) -> bool:
    return document.stem.startswith(BACKEND_DOCUMENT_PREFIX)


def _kraken_schema(shared_schema: GraphQLSchema, document: Path) -> GraphQLSchema:
    """Kraken's schema plus the Octopus-only fields the document's host has."""
    extension = extension_sdl_for(document.stem)
    return extend_schema(shared_schema, parse(extension)) if extension else shared_schema


def _simulator_schema(document: Path) -> GraphQLSchema:
    if _is_backend(document):
        return load_backend_schema()
    if document.stem.startswith(OCTOPUS_DOCUMENT_PREFIX):
        return load_main_schema()
    return load_subset_schema()


def test_shared_fragments_are_used_and_appended_once() -> None:
    assert "SmartFlexDeviceFields" in shared_fragments()
    for name in ("devices", "live", "update_boost_charge"):
        sent = document_source(name)
        assert sent.count("fragment SmartFlexDeviceFields") == 1, name


def test_there_are_documents_to_check() -> None:
    assert DOCUMENTS, "no kraken_core/kraken/documents/*.graphql found"
    assert any(_is_backend(document) for document in DOCUMENTS)
    assert any(document.stem.startswith(OCTOPUS_DOCUMENT_PREFIX) for document in DOCUMENTS)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.stem)
def test_document_is_valid_against_kraken(document: Path, shared_schema: GraphQLSchema) -> None:
    schema = _kraken_schema(shared_schema, document)
    errors = validate(schema, parse(document_source(document.stem)))
    assert not errors, f"{document.name} is invalid on Kraken: " + "; ".join(
        error.message for error in errors
    )


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.stem)
def test_document_is_valid_against_the_simulator(document: Path) -> None:
    errors = validate(_simulator_schema(document), parse(document_source(document.stem)))
    assert not errors, (
        f"{document.name} cannot run on the simulator (extend "
        "kraken_core/simulator/schema.graphql from Kraken's schema): "
        + "; ".join(error.message for error in errors)
    )


def test_the_extension_only_adds_what_kraken_lacks(shared_schema: GraphQLSchema) -> None:
    """An extension that redefined a Kraken type would hide a real schema difference."""
    extension = parse(octopus_extension_sdl() + "\n" + octopus_backend_extension_sdl())
    defined = {
        definition.name.value
        for definition in extension.definitions
        if hasattr(definition, "name") and definition.kind.endswith("_definition")
    }
    assert defined, "the extension defines no types"
    assert not defined & set(shared_schema.type_map), "the extension redefines Kraken types"
    assert shared_schema.query_type is not None
    for added in ("savingSessions", "octoplusAccountInfo", "wheelOfFortuneSpinsAllowed"):
        assert added not in shared_schema.query_type.fields
    assert shared_schema.mutation_type is not None
    for changed in ("joinSavingSessionsEvent", "spinWheelOfFortune"):
        assert changed not in shared_schema.mutation_type.fields


def test_documents_only_use_their_hosts_fields() -> None:
    """The main host has no saving sessions; a Kraken-only document needs no extension."""
    for document in DOCUMENTS:
        used = document_source(document.stem)
        if not _is_backend(document):
            assert "savingSessions" not in used, document.name
            assert "joinSavingSessionsEvent" not in used, document.name
