"""Every GraphQL document the client sends is valid on Kraken and on the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, parse, validate

from kraken_core.simulator.graphql_schema import load_subset_schema

DOCUMENTS = sorted(
    (Path(__file__).resolve().parents[1] / "kraken_core" / "kraken" / "documents").glob("*.graphql")
)


def test_there_are_documents_to_check() -> None:
    assert DOCUMENTS, "no kraken_core/kraken/documents/*.graphql found"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.stem)
def test_document_is_valid_against_kraken(document: Path, shared_schema: GraphQLSchema) -> None:
    errors = validate(shared_schema, parse(document.read_text(encoding="utf-8")))
    assert not errors, f"{document.name} is invalid on Kraken: " + "; ".join(
        error.message for error in errors
    )


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.stem)
def test_document_is_valid_against_the_simulator(document: Path) -> None:
    errors = validate(load_subset_schema(), parse(document.read_text(encoding="utf-8")))
    assert not errors, (
        f"{document.name} cannot run on the simulator (extend "
        "kraken_core/simulator/schema.graphql from Kraken's schema): "
        + "; ".join(error.message for error in errors)
    )
