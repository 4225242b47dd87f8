"""Every domain rule through the real ``kraken-bridge snapshot``: a scenario in
tests/scenarios with an ``.expected.json`` beside it (``NAME.json`` and
``NAME.expected.json``) is checked against it: a time and the state fields that must hold
then, by device id."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.bridge_process import BRIDGE, SCENARIOS

EXPECTATIONS = sorted(SCENARIOS.glob("*.expected.json"))
#: (scenario, index, check) of every check in every expectation file.
CHECK_LIST: list[tuple[Path, int, dict[str, Any]]] = [
    (path.with_name(path.name.replace(".expected", "")), index, check)
    for path in EXPECTATIONS
    for index, check in enumerate(json.loads(path.read_text(encoding="utf-8"))["checks"])
]
CHECKS = [
    pytest.param(scenario, index, check, id=f"{scenario.stem}@{check['at']}")
    for scenario, index, check in CHECK_LIST
]


def snapshot(scenario: Path, at: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(BRIDGE), "snapshot", "--scenario", str(scenario), "--at", at],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_every_expectation_has_its_scenario_beside_it() -> None:
    scenarios = {p.stem for p in SCENARIOS.glob("*.json") if not p.name.endswith(".expected.json")}
    expectations = {p.name.removesuffix(".expected.json") for p in EXPECTATIONS}
    assert expectations - scenarios == set(), "an .expected.json without its scenario"
    assert len(expectations) >= 8


@pytest.fixture(scope="module")
def snapshots() -> dict[tuple[Path, str], dict[str, Any]]:
    """Every check's snapshot, one real ``kraken-bridge snapshot`` process each, as many
    at once as the machine has cores (each plays its scenario from the start)."""
    wanted = sorted({(scenario, check["at"]) for scenario, _, check in CHECK_LIST})
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        done = pool.map(lambda key: snapshot(*key), wanted)
        return dict(zip(wanted, done, strict=True))


@pytest.mark.parametrize(("scenario", "index", "check"), CHECKS)
def test_snapshot_state_matches_the_expected_file(
    scenario: Path,
    index: int,
    check: dict[str, Any],
    snapshots: dict[tuple[Path, str], dict[str, Any]],
) -> None:
    document = snapshots[(scenario, check["at"])]
    assert document["at"] == check["at"]
    devices = {device["id"]: device for device in document["devices"]}
    for device_id, fields in check["devices"].items():
        assert device_id in devices, f"check {index}: no device {device_id} in {sorted(devices)}"
        assert devices[device_id]["available"], f"{device_id} unavailable"
        state = devices[device_id]["state"]
        shown = {name: state.get(name, "<missing>") for name in fields}
        assert shown == fields, f"check {index} at {check['at']}, {device_id}"
