"""What a front door may ask of the service: read models out, requests in.

The REST bridge (:mod:`kraken_core.bridge`) is written against this protocol alone, so a
second front door (the Homey app API) answers with the same functions and the same JSON.
The engine's :class:`~kraken_core.engine.backend.EngineBackend` implements it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal, Protocol

from kraken_core.api.events import EventBus
from kraken_core.api.models import (
    ActionResult,
    Budget,
    DeviceView,
    Health,
    SettingsView,
    Stats,
    StatsSeries,
    Timeline,
    UserSettings,
)
from kraken_core.domain.efficiency import Period


class Backend(Protocol):
    @property
    def events(self) -> EventBus:
        """The stream of state, availability and trigger events."""
        ...

    def now(self) -> datetime: ...

    def today(self) -> date:
        """The London day it is now."""
        ...

    def health(self) -> Health: ...

    def devices(self) -> list[DeviceView]: ...

    def device(self, device_id: str) -> DeviceView | None: ...

    def timeline(self, day: date) -> Timeline:
        """A London day's slots and dispatch, as the import tariff device prices them."""
        ...

    def budget(self) -> Budget: ...

    def diagnostics(self) -> dict[str, object]:
        """A report safe to paste into a support thread: no API key, no token."""
        ...

    def settings(self) -> SettingsView: ...

    def update_settings(self, given: UserSettings) -> SettingsView:
        """Apply and keep (across restarts) what the Homey app's settings pass down."""
        ...

    async def perform(
        self, device_id: str, action: str, body: Mapping[str, object] | None
    ) -> ActionResult:
        """Carry out ``action``; raises :class:`~kraken_core.api.models.ActionError`
        (its message the sentence to show) when refused or the body is wrong."""
        ...

    async def stats(self, period: Period, day: date) -> Stats: ...

    async def stats_series(self, by: Literal["day", "month"], to: date) -> StatsSeries: ...

    async def history_csv(self, start: datetime, end: datetime) -> str: ...
