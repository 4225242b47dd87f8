"""Configuration from the environment (``KRAKEN_BRIDGE_*``) and the command line."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kraken_core.kraken.client import OCTOPUS_GRAPHQL_URL, OCTOPUS_REST_URL


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kraken-bridge"


class BridgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KRAKEN_BRIDGE_", extra="ignore")

    api_key: SecretStr | None = None
    account_number: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    token: SecretStr | None = None
    poll_interval_minutes: Literal[1, 2, 3, 5] = 1
    graphql_url: str = OCTOPUS_GRAPHQL_URL
    rest_url: str = OCTOPUS_REST_URL


TOKEN_FILE = "bridge-token"  # noqa: S105 (a file name)


def bridge_token(settings: BridgeSettings) -> str:
    """The bearer token: from the settings, else the data directory (made on first start)."""
    if settings.token is not None:
        return settings.token.get_secret_value()
    path = settings.data_dir / TOKEN_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token
