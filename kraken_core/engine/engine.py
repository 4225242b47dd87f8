"""The polling engine: runs each data kind's poller when it is due, on the injected clock.

- heavy kinds, each on its own: ``account`` then ``tariffs`` (:mod:`.tariffs`);
- light kinds, together in one request: ``telemetry``, ``devices``, ``dispatches``
  (:mod:`.live`);
- the history of what the poll learnt, with its own backfill (:mod:`.history`);
- gas meters (:mod:`.gas`), and Octoplus: saving sessions, power-ups, points, the wheel
  (:mod:`.octoplus`), each on its own slower schedule;
- then the publisher turns it all into device states (:mod:`.publisher`), also at every
  half-hour boundary, dispatch edge and saving-session moment (lead times, start, end),
  when prices, ``dispatching`` and ``saving_session_active`` change without asking
  Kraken anything.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import datetime, timedelta

from kraken_core.api.models import SettingsView, UserSettings
from kraken_core.clock import Clock, SimulatedClock
from kraken_core.domain.product import household_tariffs
from kraken_core.domain.timeline import SLOT, slot_start
from kraken_core.engine.gas import GasPoller
from kraken_core.engine.history import (
    History,
    HistoryInputs,
    HistorySettings,
    RateLookup,
    no_rates,
)
from kraken_core.engine.hub import DeviceHub
from kraken_core.engine.live import (
    DevicesPoller,
    DispatchesPoller,
    LiveTransaction,
    TelemetryPoller,
)
from kraken_core.engine.octoplus import Octoplus
from kraken_core.engine.pollers import Pacing, Poller
from kraken_core.engine.publisher import Sources, StatePublisher, publish_gas_meters
from kraken_core.engine.refresh import QUICK, DispatchRefreshPolicy
from kraken_core.engine.settings import EngineSettings
from kraken_core.engine.tariffs import STANDING_CHARGES, AccountPoller, TariffPoller
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.models import SmartFlexDevice
from kraken_core.store.db import Store


class Engine:
    def __init__(
        self,
        client: KrakenClient,
        clock: Clock,
        hub: DeviceHub,
        store: Store,
        settings: EngineSettings | None = None,
        rng: random.Random | None = None,
        history_settings: HistorySettings | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.store = store
        jitter = rng or random.Random()  # noqa: S311 (jitter, not security)
        self._pacing = Pacing(settings or EngineSettings(), jitter)
        now = clock.now()
        refresh = DispatchRefreshPolicy(self.settings.poll_interval)
        self.account = AccountPoller(client, self._pacing, now)
        self.tariffs = TariffPoller(client, store, self._pacing, now, self.account)
        self.telemetry = TelemetryPoller(self._pacing, now)
        self.devices = DevicesPoller(self._pacing, now, refresh)
        self.dispatches = DispatchesPoller(self._pacing, now, refresh)
        self._live = LiveTransaction(
            client, clock, self.account, self.telemetry, self.devices, self.dispatches
        )
        self.history = History(store, self._pacing, now, history_settings)
        self.gas = GasPoller(client, store, self._pacing, now, self.account, self.tariffs)
        self.octoplus = Octoplus(client, self._pacing, now, self.account)
        sources = Sources(
            self.account,
            self.tariffs,
            self.telemetry,
            self.devices,
            self.dispatches,
            self.history,
            self.octoplus,
        )
        self.hub = hub
        self.publisher = StatePublisher(
            hub, client.account_number, lambda: self._pacing.settings, sources
        )
        self._slot_due = slot_start(now) + SLOT
        self._wake = asyncio.Event()

    @property
    def settings(self) -> EngineSettings:
        return self._pacing.settings

    def pollers(self) -> tuple[Poller, ...]:
        """Every data kind, in the order they run."""
        return (
            self.account,
            self.tariffs,
            *self._live.pollers(),
            self.history.backfill,
            self.history.completed,
            self.gas,
            *self.octoplus.pollers(),
        )

    # --- settings -----------------------------------------------------------------------

    def settings_view(self) -> SettingsView:
        settings = self.settings
        return SettingsView(
            poll_interval_minutes=int(settings.poll_interval.total_seconds() // 60),
            allowance_limit_minutes=settings.allowance_limit_minutes,
            allowance_day_start=settings.allowance_day_start.strftime("%H:%M"),
            gas_calorific_value=settings.gas_calorific_value,
            telemetry_stale_minutes=int(settings.telemetry_stale_after.total_seconds() // 60),
            auto_join_saving_sessions=settings.auto_join_saving_sessions,
        )

    def update_settings(self, given: UserSettings) -> SettingsView:
        """Apply what a front door passed down (a field left out keeps its value)."""
        settings = self.settings
        if given.poll_interval_minutes is not None:
            interval = timedelta(minutes=given.poll_interval_minutes)
            settings = replace(settings, poll_interval=interval)
            self.dispatches.refresh.poll_interval = interval
        if given.allowance_limit_minutes is not None:
            settings = replace(settings, allowance_limit_minutes=given.allowance_limit_minutes)
        if given.allowance_day_start is not None:
            settings = replace(settings, allowance_day_start=given.allowance_day_start)
        if given.gas_calorific_value is not None:
            settings = replace(settings, gas_calorific_value=given.gas_calorific_value)
        if given.telemetry_stale_minutes is not None:
            stale_after = timedelta(minutes=given.telemetry_stale_minutes)
            settings = replace(settings, telemetry_stale_after=stale_after)
        if given.auto_join_saving_sessions is not None:
            auto_join = given.auto_join_saving_sessions
            settings = replace(settings, auto_join_saving_sessions=auto_join)
            if auto_join:  # join what is announced now, without waiting for the next read
                self.octoplus.sessions.due = min(self.octoplus.sessions.due, self.clock.now())
        self._pacing.settings = settings
        self.wake()
        return self.settings_view()

    # --- scheduling ---------------------------------------------------------------------

    def next_due(self) -> datetime:
        live = (poller.due for poller in self._live.pollers())
        return min(
            self.account.due,
            self.tariffs.due,
            *live,
            self._slot_due,
            self.gas.due,
            self.octoplus.due,
        )

    async def run_due(self) -> None:
        """Run every poller that is due now (in dependency order), then republish states."""
        now = self.clock.now()
        if self.account.due <= now:
            before = self.account.tariff_codes()
            if await self.account.run(self.clock):
                await self._account_read(tariffs_changed=before != self.account.tariff_codes())
        # The clock, not ``now``: an account read that just found a tariff makes its rates
        # due at once, and they belong in this same pass (the first states carry prices).
        if self.tariffs.due <= self.clock.now() and await self.tariffs.run(self.clock):
            await self.gas.refresh_figures(self.clock.now())
        polled_live = self._live.due(now)
        if polled_live and await self._live.poll(now):
            self.publisher.dispatches_read(self.clock.now())
            self._slot_due = min(self._slot_due, self._next_slot_run(self.clock.now()))
        if self._slot_due <= now:
            self._slot_due = self._next_slot_run(now)
        await self._record_history(may_ask_kraken=polled_live)
        if self.gas.due <= now:
            await self.gas.run(self.clock)
        if self.octoplus.due <= now:
            await self._octoplus_run()
        self._publish(self.clock.now())

    async def _octoplus_run(self) -> None:
        """Octoplus reads; a sessions read is news (announcements), may join sessions, and
        brings new moments (lead times, starts, ends) the publisher must wake for."""
        if not await self.octoplus.run(self.clock):
            return
        now = self.clock.now()
        if self.settings.auto_join_saving_sessions:
            for event, reason in await self.octoplus.auto_join(now):
                self.publisher.join_refused(event, reason)
        self.publisher.flex_read(self.clock.now())
        self._slot_due = min(self._slot_due, self._next_slot_run(self.clock.now()))

    def _publish(self, now: datetime) -> None:
        self.publisher.publish(now)
        publish_gas_meters(self.hub, self.gas, self.settings, now)

    async def _account_read(self, *, tariffs_changed: bool) -> None:
        self.publisher.agreements_read()
        if tariffs_changed:  # a switch (or the first read): rates for the new tariff now
            self.tariffs.forget_products()
            await self.tariffs.load_stored()
            self.tariffs.due = self.clock.now()

    def _next_slot_run(self, now: datetime) -> datetime:
        """Prices change at slot boundaries, ``dispatching`` at dispatch edges, saving
        sessions at their lead times, starts and ends."""
        boundary = slot_start(now) + SLOT
        edge = self.publisher.next_edge(now)
        return min(boundary, edge) if edge else boundary

    async def run_forever(self) -> None:
        while True:
            self._wake.clear()
            sleeper = asyncio.ensure_future(self.clock.sleep_until(self.next_due()))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
            await self.run_due()

    def wake(self) -> None:
        """Something became due earlier than planned (a manual refresh, a hint)."""
        self._wake.set()

    async def run_until(self, clock: SimulatedClock, at: datetime) -> None:
        """Drive a simulated clock poll by poll up to ``at`` (snapshot, tests)."""
        while self.next_due() <= at:
            clock.set(max(clock.now(), self.next_due()))
            await self.run_due()
        clock.set(at)
        self._publish(clock.now())

    # --- on demand ----------------------------------------------------------------------

    def request_dispatch_refresh(self, kraken_device_id: str, reason: str) -> datetime:
        """Schedule a dispatch refresh (``manual``, ``plug_in``, ``unplug``, ``event``).

        Raises :class:`RefreshRefused` with a message saying when it can run.
        """
        now = self.clock.now()
        when = self.dispatches.refresh.request(kraken_device_id, now, reason=reason)
        self.dispatches.due = min(self.dispatches.due, when)
        if reason in ("plug_in", "unplug"):  # the state changes too: look soon
            self.devices.due = min(self.devices.due, now + QUICK)
        self.wake()
        return when

    def device_changed(self, device: SmartFlexDevice) -> None:
        """Kraken answered a change (smart control, charge target) with the device as it
        is now: its state is published at once, and the devices are read again soon, so
        a front door sees the change without waiting for the next scheduled read."""
        now = self.clock.now()
        self.devices.take_changed(device, now)
        self.publisher.dispatches_read(now)
        self.devices.due = min(self.devices.due, now + QUICK)
        self._publish(now)
        self.wake()

    # --- history ------------------------------------------------------------------------

    async def _record_history(self, *, may_ask_kraken: bool) -> None:
        """Once per poll: store readings (backfilling a hole first), slot energy and prices."""
        home = household_tariffs(
            self.account.meter_points, self.settings.four_rate_ev, self.tariffs.groups
        )
        if home.import_point is None:
            return
        export = home.export_point
        inputs = HistoryInputs(
            telemetry_device_id=home.import_point.telemetry_device_id,
            latest_reading=self.telemetry.latest,
            import_rates=self._rates_lookup(home.import_point.tariff_code),
            export_rates=self._rates_lookup(export.tariff_code) if export else no_rates,
            standing_rows=self.tariffs.rates_of(
                home.import_point.tariff_code, STANDING_CHARGES
            ).rows,
            dispatches=self.publisher.billable(),
            four_rate_ev=home.four_rate_ev,
            planned=self.dispatches.planned,
            billing_period_start=self.account.billing_period_start,
        )
        await self.history.sync(
            self.client, inputs, self.clock.now(), may_ask_kraken=may_ask_kraken
        )

    def _rates_lookup(self, tariff_code: str) -> RateLookup:
        return lambda start, end: self.tariffs.slots(tariff_code, (start, end))
