"""The GraphQL documents the client sends, one ``.graphql`` file each."""

from __future__ import annotations

from functools import cache
from importlib import resources

from graphql import DocumentNode, parse

DOCUMENTS_PACKAGE = __name__


def document_names() -> list[str]:
    """Names (file stems) of every bundled document."""
    files = resources.files(DOCUMENTS_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".graphql") for f in files if f.name.endswith(".graphql"))


@cache
def document_source(name: str) -> str:
    return (resources.files(DOCUMENTS_PACKAGE) / f"{name}.graphql").read_text(encoding="utf-8")


@cache
def document(name: str) -> DocumentNode:
    """The parsed document ``name`` (e.g. ``"account"``), parsed once."""
    return parse(document_source(name))
