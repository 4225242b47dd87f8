"""The hand-written SDL of Octopus-only fields (``octopus_extension.graphql``)."""

from __future__ import annotations

from functools import cache
from importlib import resources

BACKEND_DOCUMENT_PREFIX = "backend_"
"""Documents named ``backend_*.graphql`` go to Octopus's backend host and may use the
extension; every other document must be valid on Kraken's own schema alone."""


@cache
def octopus_extension_sdl() -> str:
    return (
        resources.files(__package__)
        .joinpath("octopus_extension.graphql")
        .read_text(encoding="utf-8")
    )
