"""The deployment files name only settings the bridge knows, and keep to the rules."""

from __future__ import annotations

import re
from pathlib import Path

from kraken_core.settings import BridgeSettings

REPO = Path(__file__).resolve().parents[1]
DEPLOY_FILES = [
    REPO / "Dockerfile",
    REPO / "deploy/docker-compose.yml",
    REPO / "deploy/kraken-bridge.service",
    REPO / "README.md",
]


def test_every_kraken_bridge_variable_in_deploy_files_is_a_setting() -> None:
    known = {f"KRAKEN_BRIDGE_{name.upper()}" for name in BridgeSettings.model_fields}
    for path in DEPLOY_FILES:
        named = set(re.findall(r"KRAKEN_BRIDGE_[A-Z0-9_]+[A-Z0-9]", path.read_text()))
        assert named <= known, f"{path.name} names unknown settings: {sorted(named - known)}"


def test_the_image_runs_as_a_non_root_user_with_a_data_volume_and_health_check() -> None:
    text = (REPO / "Dockerfile").read_text()
    final_stage = text.rsplit("FROM ", 1)[1]
    assert re.search(r"^USER (?!root)\w+", final_stage, re.MULTILINE)
    assert 'VOLUME ["/data"]' in final_stage
    assert "HEALTHCHECK" in final_stage
    assert "/api/v1/health" in final_stage


def test_the_systemd_unit_passes_the_key_as_a_credential_not_an_environment_variable() -> None:
    text = (REPO / "deploy/kraken-bridge.service").read_text()
    assert "LoadCredential=kraken_bridge_api_key:" in text
    assert "KRAKEN_BRIDGE_API_KEY=" not in text
