"""``kraken-bridge doctor`` says in plain words what is wrong with a set-up."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers.bridge_process import API_KEY, BRIDGE, simulator_process


def doctor(env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_BRIDGE_")}
    return subprocess.run(
        [str(BRIDGE), "doctor"],
        capture_output=True,
        text=True,
        env={**clean, "HOME": str(home), **env},
        timeout=60,
        check=False,
    )


def kraken_at(simulator: str) -> dict[str, str]:
    """Every Kraken address at the simulator (the bridge takes all three or none)."""
    return {
        "KRAKEN_BRIDGE_GRAPHQL_URL": f"{simulator}/v1/graphql/",
        "KRAKEN_BRIDGE_REST_URL": f"{simulator}/v1/",
        "KRAKEN_BRIDGE_BACKEND_GRAPHQL_URL": f"{simulator}/backend/v1/graphql/",
    }


def test_a_working_setup_passes_every_check(tmp_path: Path) -> None:
    with simulator_process(tmp_path) as simulator:
        result = doctor(
            {
                "KRAKEN_BRIDGE_API_KEY": API_KEY,
                "KRAKEN_BRIDGE_ACCOUNT_NUMBER": "A-1234ABCD",
                **kraken_at(simulator),
            },
            tmp_path,
        )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "ok   Clock",
        "ok   API key",
        "ok   Account",
        "ok   Home Mini",
    ]
    assert "E-1R-INTELLI-VAR-24-10-29-C" in result.stdout
    assert "00-00-00-00-00-00-00-01" in result.stdout
    assert API_KEY not in result.stdout + result.stderr


def test_a_wrong_account_number_is_named(tmp_path: Path) -> None:
    with simulator_process(tmp_path) as simulator:
        result = doctor(
            {
                "KRAKEN_BRIDGE_API_KEY": API_KEY,
                "KRAKEN_BRIDGE_ACCOUNT_NUMBER": "A-9999ZZZZ",
                **kraken_at(simulator),
            },
            tmp_path,
        )
    assert result.returncode == 1
    account = next(line for line in result.stdout.splitlines() if "Account" in line)
    assert account.startswith("FAIL")
    assert "A-9999ZZZZ" in account


def test_no_key_says_where_to_put_it(tmp_path: Path) -> None:
    with simulator_process(tmp_path) as simulator:
        result = doctor(kraken_at(simulator), tmp_path)
    assert result.returncode == 1
    assert "FAIL API key: not set" in result.stdout
    assert "KRAKEN_BRIDGE_API_KEY_FILE" in result.stdout
