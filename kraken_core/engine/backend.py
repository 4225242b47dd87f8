"""The engine as front doors see it (:class:`kraken_core.api.backend.Backend`): read
models out, requests in, and the settings Homey passes down kept across restarts."""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from kraken_core import __version__
from kraken_core.api.events import EventBus, to_json_value
from kraken_core.api.models import (
    ActionResult,
    Budget,
    BudgetLine,
    DeviceView,
    Health,
    SettingsView,
    Stats,
    StatsSeries,
    Timeline,
    UserSettings,
)
from kraken_core.domain.efficiency import Period
from kraken_core.domain.timeline import local_day
from kraken_core.engine.actions import perform
from kraken_core.engine.engine import Engine
from kraken_core.engine.history_queries import HistoryQueries
from kraken_core.engine.timeline_view import day_timeline

log = logging.getLogger(__name__)

SETTINGS_FILE = "homey-settings.json"
BUDGET_KINDS = (
    "account",
    "tariffs",
    "telemetry",
    "devices",
    "dispatches",
    "saving_sessions",
    "octoplus",
)
BUDGET_HORIZON = timedelta(hours=12)  # a read further off than this is "not planned"


class EngineBackend:
    def __init__(
        self,
        engine: Engine,
        *,
        data_dir: Path | None = None,
        settings_summary: Mapping[str, object] | None = None,
        uptime_s: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self._engine = engine
        self._history = HistoryQueries(engine.store, engine.clock)
        self._data_dir = data_dir
        self._settings_summary = dict(settings_summary or {})
        self._uptime_s = uptime_s

    @property
    def events(self) -> EventBus:
        return self._engine.hub.bus

    def now(self) -> datetime:
        return self._engine.clock.now()

    def today(self) -> date:
        return local_day(self.now())

    # --- reading ------------------------------------------------------------------------

    def health(self) -> Health:
        now = self.now()
        pollers = self._engine.pollers()
        return Health(
            status="ok",
            version=__version__,
            account_linked=bool(self._engine.account.meter_points),
            last_success={p.name: p.last_success for p in pollers},
            last_error={p.name: p.last_error for p in pollers},
            stale={p.name: reason for p in pollers if (reason := p.stale_reason(now))},
        )

    def devices(self) -> list[DeviceView]:
        return [record.view() for record in self._engine.hub.devices.values()]

    def device(self, device_id: str) -> DeviceView | None:
        record = self._engine.hub.devices.get(device_id)
        return record.view() if record else None

    def timeline(self, day: date) -> Timeline:
        return day_timeline(self._engine, day, self.now())

    def budget(self) -> Budget:
        now = self.now()
        client = self._engine.client
        statuses = {p.name: p.status(now, BUDGET_HORIZON) for p in self._engine.pollers()}
        return Budget(
            operations=[BudgetLine(**vars(status)) for status in client.budget.status()],
            next_refresh={kind: statuses[kind].next_due for kind in BUDGET_KINDS},
            requests_sent=dict(client.request_counts),
        )

    def diagnostics(self) -> dict[str, object]:
        """What a user can paste into a support thread: no key, no token."""
        now = self.now()
        budget = self.budget().model_dump(mode="json")
        return {
            "version": __version__,
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "uptime_s": round(self._uptime_s()),
            "now": to_json_value(now),
            "settings": self._settings_summary,
            "jobs": {p.name: p.status(now).model_dump(mode="json") for p in self._engine.pollers()},
            "requests_sent": budget["requests_sent"],
            "budget": budget["operations"],
            "devices": [
                view.model_dump(mode="json", exclude={"name", "state"}) for view in self.devices()
            ],
            "events": {"last_id": self.events.last_id},
        }

    async def stats(self, period: Period, day: date) -> Stats:
        return await self._history.stats(period, day)

    async def stats_series(self, by: Literal["day", "month"], to: date) -> StatsSeries:
        return await self._history.series(by, to)

    async def history_csv(self, start: datetime, end: datetime) -> str:
        return await self._history.csv(start, end)

    # --- changing things ----------------------------------------------------------------

    def settings(self) -> SettingsView:
        return self._engine.settings_view()

    def update_settings(self, given: UserSettings) -> SettingsView:
        view = self._engine.update_settings(given)
        if self._data_dir is not None:
            self._save(view)
        return view

    def load_saved_settings(self) -> None:
        """Apply what Homey set earlier (kept across restarts); a damaged file is ignored."""
        if self._data_dir is None:
            return
        path = self._data_dir / SETTINGS_FILE
        try:
            given = UserSettings.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValidationError) as exc:
            log.warning("settings in %s ignored (%s); Homey's next change rewrites it", path, exc)
            return
        self._engine.update_settings(given)

    def _save(self, view: SettingsView) -> None:
        assert self._data_dir is not None
        path = self._data_dir / SETTINGS_FILE
        self._data_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(view.model_dump()), encoding="utf-8")
        os.replace(temporary, path)  # whole or not at all

    async def perform(
        self, device_id: str, action: str, body: Mapping[str, object] | None
    ) -> ActionResult:
        return await perform(self._engine, device_id, action, body)
