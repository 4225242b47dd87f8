"""The device-state contract: docs/device-state.schema.json is what the models say now,
and what the bridge really sends is what that schema says. The Homey app's state maps are
checked against the same file (tests/node/state_maps.test.js)."""

from __future__ import annotations

import pytest

from kraken_core.cli import main
from tests.helpers.bridge_process import REPO

SCHEMA_FILE = REPO / "docs" / "device-state.schema.json"
REGENERATE = ".venv/bin/kraken-bridge schema > docs/device-state.schema.json"


def test_the_committed_schema_is_what_the_models_produce(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema"]) == 0
    produced = capsys.readouterr().out
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.is_file() else ""
    assert committed == produced, (
        f"{SCHEMA_FILE.relative_to(REPO)} differs from the device-state models "
        f"(kraken_core/api/models.py); regenerate it with `{REGENERATE}` and commit it, "
        "then check the Homey app's state maps with `npm test`"
    )
