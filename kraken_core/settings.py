"""Configuration from the environment (``KRAKEN_BRIDGE_*``) and the command line."""

from __future__ import annotations

import os
import secrets
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kraken_core.kraken.client import (
    OCTOPUS_BACKEND_GRAPHQL_URL,
    OCTOPUS_GRAPHQL_URL,
    OCTOPUS_REST_URL,
)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kraken-bridge"


DOCKER_SECRETS_DIR = Path("/run/secrets")


class SettingsError(ValueError):
    """A setting that cannot work; the message says which and how to fix it."""


class BridgeSettings(BaseSettings):
    """Settings from ``KRAKEN_BRIDGE_*`` variables and credential files.

    The API key may come from ``KRAKEN_BRIDGE_API_KEY``, from a file named by
    ``KRAKEN_BRIDGE_API_KEY_FILE``, or from a file ``kraken_bridge_api_key`` in a secrets
    directory (systemd's ``$CREDENTIALS_DIRECTORY`` or Docker's ``/run/secrets``).
    """

    model_config = SettingsConfigDict(env_prefix="KRAKEN_BRIDGE_", extra="ignore")

    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    account_number: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    token: SecretStr | None = None
    poll_interval_minutes: int = 1

    @field_validator("poll_interval_minutes")
    @classmethod
    def _known_interval(cls, minutes: int) -> int:
        # An int field, not Literal[1, 2, 3, 5]: environment values arrive as text.
        if minutes not in (1, 2, 3, 5):
            raise ValueError(f"must be 1, 2, 3 or 5 minutes, not {minutes}")
        return minutes

    # Raw Home Mini readings are kept this long, then live on only as half-hour slots.
    # Smart-charging allowance (Octopus's 6 hours in 24) and four-rate EV tariffs; the
    # Homey app's settings page can change the allowance later (PUT /api/v1/settings).
    allowance_limit_minutes: int = Field(default=360, ge=0, le=1440)
    allowance_day_start: time = time(12, 0)
    four_rate_ev: bool | None = None  # None: detect from the product (FourRateEvTariff)
    # Economy 7 night hours: a smart meter's are 00:30-07:30 GMT, an older meter's
    # 00:00-07:00 UK time. None reads the kind of meter from Kraken (meterType).
    economy7_meter: Literal["smart_meter", "older_meter"] | None = None
    mdns: bool = False  # advertise _kraken-bridge._tcp on the LAN for Homey's pairing
    history_retention_days: int = Field(default=14, ge=1, le=3650)
    # How far back a hole in the readings (the bridge was off) is asked of Kraken.
    telemetry_backfill_days: int = Field(default=7, ge=0, le=90)
    graphql_url: str = OCTOPUS_GRAPHQL_URL
    rest_url: str = OCTOPUS_REST_URL
    backend_graphql_url: str = OCTOPUS_BACKEND_GRAPHQL_URL  # saving sessions
    # Join every saving session announced (the Homey app's setting can change it later).
    auto_join_saving_sessions: bool = False

    @model_validator(mode="after")
    def _one_kraken(self) -> BridgeSettings:
        """All three Kraken addresses point away from Octopus, or none do: a test Kraken
        mixed with Octopus's own would send the key to both and show half of each."""
        given = {
            "KRAKEN_BRIDGE_GRAPHQL_URL": self.graphql_url != OCTOPUS_GRAPHQL_URL,
            "KRAKEN_BRIDGE_REST_URL": self.rest_url != OCTOPUS_REST_URL,
            "KRAKEN_BRIDGE_BACKEND_GRAPHQL_URL": (
                self.backend_graphql_url != OCTOPUS_BACKEND_GRAPHQL_URL
            ),
        }
        if any(given.values()) and not all(given.values()):
            missing = ", ".join(name for name, moved in given.items() if not moved)
            raise SettingsError(
                f"{missing} still point at Octopus while another Kraken address does not: "
                "give all three (kraken-bridge simulate prints them) or none"
            )
        return self

    @model_validator(mode="after")
    def _key_from_file(self) -> BridgeSettings:
        if self.api_key is None and self.api_key_file is not None:
            try:
                key = self.api_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(
                    f"KRAKEN_BRIDGE_API_KEY_FILE={self.api_key_file} cannot be read "
                    f"({exc.strerror}): point it at a file holding only your Octopus API key"
                ) from None
            if not key:
                raise SettingsError(f"KRAKEN_BRIDGE_API_KEY_FILE={self.api_key_file} is empty")
            self.api_key = SecretStr(key)
        if self.account_number is not None:
            self.account_number = self.account_number.strip().upper()
        return self


def secrets_dirs() -> list[Path]:
    """Credential directories that exist: systemd's first, then Docker's."""
    candidates = [os.environ.get("CREDENTIALS_DIRECTORY"), str(DOCKER_SECRETS_DIR)]
    return [Path(c) for c in candidates if c and Path(c).is_dir()]


def load_settings(**overrides: object) -> BridgeSettings:
    """Settings from the environment and credential directories, then ``overrides``."""
    return BridgeSettings(_secrets_dir=secrets_dirs() or None, **overrides)  # type: ignore[arg-type]


TOKEN_FILE = "bridge-token"  # noqa: S105 (a file name)


def bridge_token(settings: BridgeSettings) -> tuple[str, bool]:
    """The bearer token and whether it was just made.

    From the settings if given, else the data directory, where it is made (mode 0600) on
    first start.
    """
    if settings.token is not None:
        return settings.token.get_secret_value(), False
    path = settings.data_dir / TOKEN_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    return _write_token(path), True


def rotate_token(settings: BridgeSettings) -> str:
    """Replace the stored token with a new one; clients must be given the new one."""
    if settings.token is not None:
        raise SettingsError(
            "the token is set by KRAKEN_BRIDGE_TOKEN: change that variable to rotate it"
        )
    path = settings.data_dir / TOKEN_FILE
    path.unlink(missing_ok=True)
    return _write_token(path)


def _write_token(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token
