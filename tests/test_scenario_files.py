"""Where scenario files live: the bundled ones in the package (the demo,
``bundled_scenarios()``), the tests' ones in tests/scenarios, one flat folder where a
``NAME.expected.json`` sits beside its ``NAME.json``. A scenario's file name is how tests,
the demo and the benchmarks name it, so no two scenarios share one."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from kraken_core.simulator.scenario import Scenario, bundled_scenarios
from tests.helpers.bridge_process import REPO, SCENARIOS

BUNDLED = REPO / "kraken_core" / "simulator" / "scenarios"
NOT_OURS = {"node_modules", ".venv", ".git"}
EXPECTED = ".expected.json"
REQUIRED = {name for name, field in Scenario.model_fields.items() if field.is_required()}


def is_scenario(path: Path) -> bool:
    """A JSON object with every field a scenario requires, or a scenario's expectations."""
    if path.name.endswith(EXPECTED):
        return True
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(document, dict) and document.keys() >= REQUIRED


def scenario_files() -> list[Path]:
    """Every scenario file (and ``.expected.json``) in the repository, outside
    ``NOT_OURS``."""
    found: list[Path] = []
    for folder, subfolders, names in os.walk(REPO):
        subfolders[:] = [name for name in subfolders if name not in NOT_OURS]
        paths = (Path(folder, name) for name in names if name.endswith(".json"))
        found += [path for path in paths if is_scenario(path)]
    return sorted(found)


def scenario_name(path: Path) -> str:
    """``NAME`` for both ``NAME.json`` and its partner ``NAME.expected.json``."""
    return path.name.removesuffix(EXPECTED).removesuffix(".json")


def test_scenario_files_live_in_the_package_or_in_tests_scenarios() -> None:
    files = scenario_files()
    # The search sees every file of both folders, the bundled ones included.
    assert set(BUNDLED.glob("*.json")) | set(SCENARIOS.glob("*.json")) <= set(files)
    assert {path.stem for path in BUNDLED.glob("*.json")} == set(bundled_scenarios())
    elsewhere = [
        str(path.relative_to(REPO)) for path in files if path.parent not in {BUNDLED, SCENARIOS}
    ]
    assert elsewhere == [], (
        "scenario files belong in kraken_core/simulator/scenarios/ (bundled with the "
        "package) or tests/scenarios/ (everything tests use)"
    )


def test_no_two_scenarios_share_a_name() -> None:
    folders: defaultdict[str, set[str]] = defaultdict(set)
    for path in scenario_files():
        folders[scenario_name(path)].add(str(path.parent.relative_to(REPO)))
    shared = {name: sorted(where) for name, where in folders.items() if len(where) > 1}
    assert shared == {}, "rename one of each pair after the situation it captures"
