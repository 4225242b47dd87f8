"""The GraphQL documents the client sends, one ``.graphql`` file each.

Selections several documents share live once in ``fragments/``; the loader appends the
fragments a document spreads (and those they spread) so each document sent is whole.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from graphql import DocumentNode, FragmentDefinitionNode, parse, print_ast

DOCUMENTS_PACKAGE = __name__
_SPREAD = re.compile(r"\.\.\.\s*(?!on\b)([_A-Za-z]\w*)")


@cache
def shared_fragments() -> dict[str, str]:
    """Fragment name -> its definition, from every file in ``fragments/``."""
    folder = resources.files(DOCUMENTS_PACKAGE) / "fragments"
    found: dict[str, str] = {}
    for file in sorted(folder.iterdir(), key=lambda f: f.name):
        if file.name.endswith(".graphql"):
            for definition in parse(file.read_text(encoding="utf-8")).definitions:
                if isinstance(definition, FragmentDefinitionNode):
                    found[definition.name.value] = print_ast(definition)
    return found


@cache
def document_source(name: str) -> str:
    """The document ``name`` as sent: its file plus the shared fragments it uses."""
    source = (resources.files(DOCUMENTS_PACKAGE) / f"{name}.graphql").read_text(encoding="utf-8")
    fragments = shared_fragments()
    defined = {
        d.name.value for d in parse(source).definitions if isinstance(d, FragmentDefinitionNode)
    }
    wanted: list[str] = []
    pending = _SPREAD.findall(source)
    while pending:
        fragment = pending.pop()
        if fragment in defined or fragment in wanted or fragment not in fragments:
            continue
        wanted.append(fragment)
        pending += _SPREAD.findall(fragments[fragment])
    return "\n\n".join([source.rstrip("\n"), *(fragments[f] for f in sorted(wanted))]) + "\n"


@cache
def document(name: str) -> DocumentNode:
    """The parsed document ``name`` (e.g. ``"account"``), parsed once."""
    return parse(document_source(name))
