"""The hand-written SDL of Octopus-only fields.

- ``octopus_extension.graphql``: fields of Octopus's own Kraken (the main host) that the
  shared schema lacks (Octoplus: enrolment, points, the wheel of fortune);
- ``octopus_backend_extension.graphql``: fields of Octopus's backend host (saving
  sessions and joining them).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

BACKEND_DOCUMENT_PREFIX = "backend_"
"""Documents named ``backend_*.graphql`` go to Octopus's backend host and may use both
extensions."""
OCTOPUS_DOCUMENT_PREFIX = "octopus_"
"""Documents named ``octopus_*.graphql`` go to the main host and may use the main host's
extension; every other document must be valid on Kraken's own schema alone."""


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


@cache
def octopus_extension_sdl() -> str:
    """Octopus-only fields of the main host."""
    return _read("octopus_extension.graphql")


@cache
def octopus_backend_extension_sdl() -> str:
    """Octopus-only fields of the backend host (on top of the main host's)."""
    return _read("octopus_backend_extension.graphql")


def extension_sdl_for(document_name: str) -> str:
    """The extension SDL a document may use, by its name's prefix ("" for none)."""
    if document_name.startswith(BACKEND_DOCUMENT_PREFIX):
        return octopus_extension_sdl() + "\n" + octopus_backend_extension_sdl()
    if document_name.startswith(OCTOPUS_DOCUMENT_PREFIX):
        return octopus_extension_sdl()
    return ""
