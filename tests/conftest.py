"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KRAKEN_SHARED_DIR", REPO.parent / "shared"))
SHARED_SCHEMA = SHARED / "kraken" / "kraken-uk-schema.graphql"

# tests/homey_app needs the `homey` package (Python >= 3.13): `make homey-app-test` runs it
# in .venv-homey, and the main run (Python 3.11 or 3.12) leaves the folder to it.
collect_ignore = ["homey_app"] if sys.version_info < (3, 13) else []


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout: required in CI, skipped with a reason elsewhere."""
    if not SHARED_SCHEMA.is_file():
        reason = (
            f"{SHARED_SCHEMA} is missing: these checks compare the project with the shared "
            "Kraken schema (set KRAKEN_SHARED_DIR to point at a copy of shared/)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return SHARED


@pytest.fixture(scope="session")
def shared_schema(shared_dir: Path) -> GraphQLSchema:
    """The real Kraken schema (the SDL dump in shared/), loaded once per session."""
    return build_schema(SHARED_SCHEMA.read_text(encoding="utf-8"))


#: Lines a test wants in the run's closing summary (the fuzz run's figures), shown even
#: when pytest captures output, so CI's log carries them.
SUMMARY_LINES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in SUMMARY_LINES:
        terminalreporter.write_line(line)
