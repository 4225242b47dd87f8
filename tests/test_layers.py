"""The layers a reader is promised (README, "Layers"): which package may import which,
and no function longer than a screen. Read from the source, so a shortcut fails here
before it spreads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kraken_core"
MAX_FUNCTION_LINES = 60

# package -> the kraken_core packages (or modules) it may import; itself always allowed.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "clock": set(),
    "kraken": {"clock", "__init__"},
    "simulator": {"clock", "kraken.extension"},  # the Octopus-only SDL text, not logic
    "store": {"domain"},
    "api": {"domain", "clock"},
    "engine": {"api", "clock", "domain", "kraken", "store", "__init__"},
    "bridge": {"api", "domain", "__init__"},
    # The command line's helpers: settings from the environment, the set-up check, and
    # the log filter that keeps secrets out.
    "settings": {"kraken"},
    "doctor": {"clock", "kraken"},
    "redaction": set(),
}
# The composition root, the front doors' start-up (REST, the Homey app) and the CLI may
# know every part.
ROOTS = {"service", "serving", "hosted", "cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts)


def our_imports(path: Path) -> set[str]:
    """Every ``kraken_core`` module ``path`` imports (top level or inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = (
                [node.module]
                if node.module != "kraken_core"
                else [f"kraken_core.{alias.name}" for alias in node.names]
            )
            found |= {name for name in names if name.startswith("kraken_core")}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("kraken_core")}
    return {name.removeprefix("kraken_core").lstrip(".") or "__init__" for name in found}


def allowed(importer: str, imported: str) -> bool:
    own = importer.split(".")[0]
    if own in ROOTS or imported.split(".")[0] == own:
        return True
    rules = ALLOWED[own]
    return any(imported == rule or imported.startswith(rule + ".") for rule in rules) or (
        imported == "__version__" and "__init__" in rules
    )


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", SOURCES, ids=module_name)
def test_each_module_imports_only_the_layers_below_it(path: Path) -> None:
    importer = module_name(path)
    if importer.split(".")[0] not in ALLOWED and importer not in ROOTS:
        pytest.fail(f"{importer} belongs to no layer: add its package to ALLOWED and README")
    wrong = sorted(name for name in our_imports(path) if not allowed(importer, name))
    assert wrong == [], f"{importer} imports {wrong}"


def test_the_rules_catch_a_bridge_that_reaches_into_the_engine(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from kraken_core.engine.engine import Engine\n")
    assert our_imports(sneaky) == {"engine.engine"}
    assert not allowed("bridge.sneaky", "engine.engine")
    assert allowed("service", "engine.engine")
    assert not allowed("domain.tariff", "kraken.models")


@pytest.mark.parametrize("path", SOURCES, ids=module_name)
def test_no_function_is_longer_than_a_screen(path: Path) -> None:
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], f"{module_name(path)}: split {long}"


def test_the_service_runs_without_a_web_server() -> None:
    """The Homey Python app ships kraken_core without bridge/, simulator/ and the CLI, and
    without FastAPI, uvicorn, zeroconf or pydantic-settings: importing what it runs must
    not reach for any of them."""
    code = (
        "import sys\n"
        "import kraken_core.service, kraken_core.doctor, kraken_core.redaction\n"
        "import kraken_core.api.answers, kraken_core.hosted\n"
        "banned = ('fastapi', 'uvicorn', 'starlette', 'zeroconf', 'pydantic_settings',\n"
        "          'kraken_core.bridge', 'kraken_core.simulator', 'kraken_core.cli')\n"
        "print(sorted(m for m in sys.modules if m.startswith(banned)))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert ran.stdout.strip() == "[]"
