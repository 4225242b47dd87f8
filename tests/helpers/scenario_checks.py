"""What every test of a refused scenario file checks: the loader names the file, the JSON
path of the mistake and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kraken_core.simulator.scenario import ScenarioError, load_scenario


def assert_refused(directory: Path, data: dict[str, Any], path: str, hint: str) -> None:
    """Writing ``data`` as a scenario file and loading it is refused at ``path`` with
    ``hint`` in the message, and the message names the file."""
    file = directory / "broken.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as refused:
        load_scenario(file)
    message = str(refused.value)
    assert str(file) in message
    assert f"at {path}:" in message
    assert hint in message
