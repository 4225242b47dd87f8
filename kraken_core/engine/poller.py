"""The polling engine: what to ask Kraken and when, on the injected clock.

One job per data kind, each with its own schedule, backoff and staleness:
- heavy: ``account`` (at most hourly) and ``tariffs`` (only rates not yet known; every
  few minutes from 16:00 UK time until tomorrow's prices are found);
- light: ``telemetry`` (every polling interval), ``devices`` (every interval while a
  device can receive dispatches, every few minutes otherwise) and ``dispatches`` (per
  device, see :mod:`kraken_core.engine.refresh`). Light kinds due together go to Kraken
  as one request;
- ``slot``: recomputes prices at half-hour boundaries and dispatch edges, asking nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from kraken_core.clock import Clock, SimulatedClock
from kraken_core.domain.allowance import AllowanceRule, allowance_status, billable_windows
from kraken_core.domain.dispatch import (
    DeviceObservation,
    DispatchLedger,
    PlannedDispatch,
    dispatches_honoured,
    intersect_windows,
    observe_dispatches,
    smart_device_state,
)
from kraken_core.domain.product import Agreement, is_four_rate_ev, product_changes
from kraken_core.domain.tariff import DispatchWindow, TariffState, ev_unit_rate, tariff_state
from kraken_core.domain.timeline import (
    LONDON,
    SLOT,
    RatePeriod,
    day_rates,
    half_hour_rates,
    local_day,
    local_day_bounds,
    slot_start,
)
from kraken_core.engine.events import DeviceHub, to_json_value
from kraken_core.engine.history import History, HistoryInputs
from kraken_core.engine.refresh import QUICK, RETRY, DispatchRefreshPolicy
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.errors import KrakenError, KrakenNoData, KrakenThrottled
from kraken_core.kraken.models import PlannedDispatch as KrakenPlannedDispatch
from kraken_core.kraken.models import RateRow, SmartFlexDevice, TelemetryReading
from kraken_core.store.db import Store

log = logging.getLogger(__name__)

UNIT_RATES = "standard-unit-rates"
STANDING_CHARGES = "standing-charges"
LIVE_KINDS = ("telemetry", "devices", "dispatches")
COMBINE_WITHIN = timedelta(seconds=45)
PUBLICATION_WINDOW = timedelta(hours=4)  # day-ahead prices normally appear 16:00-20:00
IDLE = timedelta(days=1)  # "not due": no device needs its dispatches fetched


@dataclass(frozen=True)
class EngineSettings:
    poll_interval: timedelta = timedelta(minutes=1)
    slow_state_interval: timedelta = timedelta(minutes=5)  # no device can receive dispatches
    account_interval: timedelta = timedelta(minutes=60)
    publication_poll: timedelta = timedelta(minutes=4)  # + jitter stays under 5 minutes
    publication_time: time = time(16, 0)  # UK time tomorrow's day-ahead prices appear
    jitter_s: tuple[float, float] = (5.0, 25.0)
    backoff_cap: timedelta = timedelta(minutes=10)
    # Octopus caps smart charging: minutes of SMART dispatch per allowance day (0: no cap,
    # older contracts) and the local time that day starts (not published; users report noon).
    allowance_limit_minutes: int = 360
    allowance_day_start: time = time(12, 0)
    # Four-rate EV tariffs discount only the car: None detects it from the tariff code.
    four_rate_ev: bool | None = None
    ev_off_peak_rate: float | None = None  # p/kWh; None: the day's off-peak rate

    @property
    def allowance(self) -> AllowanceRule:
        return AllowanceRule(self.allowance_limit_minutes, self.allowance_day_start)


@dataclass(frozen=True)
class MeterPoint:
    mpan: str
    direction: str
    product_code: str
    tariff_code: str
    telemetry_device_id: str | None

    @property
    def device_id(self) -> str:
        kind = "export_tariff" if self.direction == "EXPORT" else "import_tariff"
        return f"{kind}.{self.mpan}"


@dataclass
class TariffRates:
    """Rows known for one tariff and kind, and the span they are known to cover."""

    rows: list[RatePeriod] = field(default_factory=list)
    known: tuple[datetime, datetime] | None = None
    _slots_key: object = field(default=None, repr=False)
    _window_slots: dict[datetime, float] = field(default_factory=dict, repr=False)

    def slots_for(self, window: tuple[datetime, datetime]) -> dict[datetime, float]:
        """Slot rates of ``window`` from the rows (an open-ended fixed rate stays known
        after midnight without a new fetch); cached until the rows or window change."""
        key = (window, len(self.rows), self.rows[-1] if self.rows else None)
        if self._slots_key != key:
            self._slots_key, self._window_slots = key, half_hour_rates(self.rows, *window)
        return self._window_slots


@dataclass
class Job:
    name: str
    due: datetime
    failures: int = 0
    last_success: datetime | None = None
    last_error: str | None = None


class Engine:
    def __init__(
        self,
        client: KrakenClient,
        clock: Clock,
        hub: DeviceHub,
        store: Store,
        settings: EngineSettings | None = None,
        rng: random.Random | None = None,
        history: History | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.hub = hub
        self.store = store
        self.settings = settings or EngineSettings()
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not security)
        now = clock.now()
        self.jobs: dict[str, Job] = {
            name: Job(name, now) for name in ("account", "tariffs", *LIVE_KINDS)
        }
        self.jobs["slot"] = Job("slot", slot_start(now) + SLOT)
        self._runners: dict[str, Callable[[], Awaitable[None]]] = {
            "account": self._poll_account,
            "tariffs": self._poll_tariffs,
        }
        self.refresh = DispatchRefreshPolicy(self.settings.poll_interval)
        self._wake = asyncio.Event()
        self._live_jitter_s = self._draw_jitter()
        self.account_number = client.account_number
        self.meter_points: list[MeterPoint] = []
        self.rates: dict[tuple[str, str], TariffRates] = {}
        self.smart_devices: dict[str, SmartFlexDevice] = {}
        self.planned: dict[str, list[PlannedDispatch]] = {}
        self.latest_reading: TelemetryReading | None = None
        self.billing_period_start: date | None = None
        self.history = history or History(store)  # readings, slots, Energy Account figures
        # Derived memory: dispatch that has run, the previous successful answers that
        # events compare with, and triggers waiting for the states they describe.
        self.dispatch_ledger = DispatchLedger()
        self._agreements: dict[str, Agreement] | None = None
        self._tomorrow_published: dict[str, bool] = {}
        self._pending_triggers: list[tuple[str, str, dict[str, Any]]] = []

    # --- scheduling ---------------------------------------------------------------------

    def next_due(self) -> datetime:
        return min(job.due for job in self.jobs.values())

    async def run_due(self) -> None:
        """Run every job that is due now (in dependency order), then republish states."""
        now = self.clock.now()
        for name in ("account", "tariffs"):
            if self.jobs[name].due <= now:
                await self._run(self.jobs[name])
        polled_live = any(self.jobs[kind].due <= now for kind in LIVE_KINDS)
        if polled_live:
            # Kinds due within the next few seconds ride along in the same request.
            soon = now + COMBINE_WITHIN
            await self._poll_live([kind for kind in LIVE_KINDS if self.jobs[kind].due <= soon])
        slot = self.jobs["slot"]
        if slot.due <= now:
            slot.due = self._next_due("slot", now)
        await self._record_history(may_ask_kraken=polled_live)
        self.recompute()

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
        """Drive a simulated clock job by job up to ``at`` (snapshot, tests)."""
        while self.next_due() <= at:
            clock.set(max(clock.now(), self.next_due()))
            await self.run_due()
        clock.set(at)
        self.recompute()

    def _draw_jitter(self) -> float:
        low, high = self.settings.jitter_s
        return self._rng.uniform(low, high)

    def _jittered(self, when: datetime, jitter_s: float | None = None) -> datetime:
        """``when`` moved off the minute boundary (Octopus asks for no :00/:30 polls)."""
        seconds = self._draw_jitter() if jitter_s is None else jitter_s
        return when.replace(second=0, microsecond=0) + timedelta(seconds=seconds)

    async def _run(self, job: Job) -> None:
        try:
            await self._runners[job.name]()
        except KrakenError as exc:
            self._record(job, self.clock.now(), exc)
        else:
            self._record(job, self.clock.now(), None)

    def _record(self, job: Job, now: datetime, error: KrakenError | None) -> None:
        """Book a poll's outcome: success schedules the next, failure backs off."""
        if isinstance(error, KrakenThrottled):
            job.failures += 1
            job.last_error = str(error)
            job.due = self._jittered(error.retry_at or now + self.settings.backoff_cap)
            log.warning("%s paused: %s", job.name, error)
            return
        if error is not None and not isinstance(error, KrakenNoData):
            job.failures += 1
            job.last_error = str(error)
            backoff = min(timedelta(minutes=job.failures), self.settings.backoff_cap)
            job.due = self._jittered(now + backoff, self._live_jitter_s)
            log.warning("%s failed (%d in a row): %s", job.name, job.failures, error)
            return
        # KrakenNoData is a temporary "nothing now": keep the cache, not a failure.
        job.failures, job.last_error = 0, None if error is None else str(error)
        job.last_success = now
        job.due = self._next_due(job.name, now)

    def _next_due(self, name: str, now: datetime) -> datetime:
        if name == "slot":  # prices change at slot boundaries, `dispatching` at dispatch edges
            edge = self.dispatch_ledger.next_edge(now)
            return min(slot_start(now) + SLOT, edge) if edge else slot_start(now) + SLOT
        if name == "account":
            return self._jittered(now + self.settings.account_interval)
        if name == "tariffs":
            return self._next_tariff_poll(now)
        if name == "dispatches":
            return self.refresh.next_due() or now + IDLE
        if name == "devices" and self.refresh.checking_state():
            return self._jittered(now + RETRY, self._live_jitter_s)
        if name == "devices" and not self.refresh.can_receive():
            return self._jittered(now + self.settings.slow_state_interval, self._live_jitter_s)
        return self._jittered(now + self.settings.poll_interval, self._live_jitter_s)

    def _next_tariff_poll(self, now: datetime) -> datetime:
        """Only while tomorrow's prices are missing and due, every few minutes."""
        today = local_day(now)
        publication = datetime.combine(today, self.settings.publication_time, LONDON)
        if not self._tomorrow_known(now):
            if now >= publication + PUBLICATION_WINDOW:
                # Later than usual: keep looking, gently.
                return self._jittered(now + self.settings.account_interval / 2)
            if now >= publication:
                return self._jittered(now + self.settings.publication_poll)
            return self._jittered(publication)
        return self._jittered(publication + timedelta(days=1))

    def _tomorrow_known(self, now: datetime) -> bool:
        _, want_to = rate_window(now)
        return all(
            rates.known is not None and rates.known[1] >= want_to
            for (_, kind), rates in self.rates.items()
            if kind == UNIT_RATES
        )

    # --- polls --------------------------------------------------------------------------

    async def _poll_account(self) -> None:
        account = await self.client.account()
        self.billing_period_start = account.billing_period_start
        now = self.clock.now()
        points: list[MeterPoint] = []
        for agreement in account.electricity_agreements:
            if agreement.valid_from is not None and agreement.valid_from > now:
                continue
            if agreement.valid_to is not None and agreement.valid_to <= now:
                continue
            tariff = agreement.tariff
            if tariff is None or not tariff.product_code or not tariff.tariff_code:
                continue
            wire_point = agreement.meter_point
            telemetry_id = next(
                (
                    m.smart_import_meter.device_id
                    for m in wire_point.meters
                    if m.smart_import_meter is not None and m.smart_import_meter.device_id
                ),
                None,
            )
            points.append(
                MeterPoint(
                    mpan=wire_point.mpan,
                    direction=wire_point.direction or "IMPORT",
                    product_code=tariff.product_code,
                    tariff_code=tariff.tariff_code,
                    telemetry_device_id=telemetry_id,
                )
            )
        changed = {p.tariff_code for p in points} != {p.tariff_code for p in self.meter_points}
        self.meter_points = points
        self._note_product_changes(points)
        for point in points:
            for kind in (UNIT_RATES, STANDING_CHARGES):
                if (point.tariff_code, kind) not in self.rates:
                    rows, known = await self.store.load_rates(point.tariff_code, kind)
                    rates = TariffRates(rows=rows, known=known)
                    self.rates[(point.tariff_code, kind)] = rates
        if changed:
            self.jobs["tariffs"].due = now
        self._register_devices()

    async def _poll_tariffs(self) -> None:
        now = self.clock.now()
        want_from, want_to = rate_window(now)
        for point in self.meter_points:
            for kind in (UNIT_RATES, STANDING_CHARGES):
                rates = self.rates.setdefault((point.tariff_code, kind), TariffRates())
                await self._fetch_missing(point, kind, rates, want_from, want_to)

    async def _fetch_missing(
        self,
        point: MeterPoint,
        kind: str,
        rates: TariffRates,
        want_from: datetime,
        want_to: datetime,
    ) -> None:
        """Fetch only the part of [want_from, want_to) not already known."""
        if rates.known is not None and rates.known[0] <= want_from:
            if rates.known[1] >= want_to:
                return
            fetch_from = max(rates.known[1], want_from)
        else:
            fetch_from = want_from
        fetch = self.client.unit_rates if kind == UNIT_RATES else self.client.standing_charges
        answer = await fetch(point.product_code, point.tariff_code, fetch_from, want_to)
        rows = [_rate_period(row) for row in answer]
        if not rows:
            return
        open_ended = any(row.valid_to is None for row in rows)
        known_until = (
            want_to
            if open_ended
            else min(want_to, max(row.valid_to for row in rows if row.valid_to is not None))
        )
        known_from = min(fetch_from, rates.known[0]) if rates.known else fetch_from
        rates.rows = sorted(
            {(r.valid_from, r.payment_method): r for r in [*rates.rows, *rows]}.values(),
            key=lambda r: r.valid_from,
        )
        rates.known = (known_from, max(known_until, rates.known[1]) if rates.known else known_until)
        await self.store.save_rates(point.tariff_code, kind, rows, *rates.known)

    async def _poll_live(self, kinds: list[str]) -> None:
        """One light transaction for the due kinds; each kind succeeds or fails alone."""
        now = self.clock.now()
        self._live_jitter_s = self._draw_jitter()
        meter = self._telemetry_device_id() if "telemetry" in kinds else None
        dispatch_ids = self.refresh.due(now + COMBINE_WITHIN) if "dispatches" in kinds else []
        answer = await self.client.live(
            meter_device_id=meter,
            devices="devices" in kinds,
            dispatch_device_ids=dispatch_ids,
        )
        now = self.clock.now()
        complete = True
        if "telemetry" in kinds:
            complete &= self._take_telemetry(answer.telemetry, now)
        if "devices" in kinds:
            complete &= self._take_devices(answer.devices, now)
        dispatches_ok = all(
            [self._take_dispatches(d, answer.dispatches.get(d), now) for d in dispatch_ids]
        )
        complete &= dispatches_ok
        if "dispatches" in kinds and dispatches_ok:
            self._record(self.jobs["dispatches"], now, None)
        # Events compare successive successful polls only.
        if complete and ("devices" in kinds or dispatch_ids):
            self._register_devices()
            self._observe_dispatches()

    def _telemetry_device_id(self) -> str | None:
        return next(
            (
                p.telemetry_device_id
                for p in self.meter_points
                if p.direction == "IMPORT" and p.telemetry_device_id
            ),
            None,
        )

    def _take_telemetry(
        self, result: list[TelemetryReading] | KrakenError | None, now: datetime
    ) -> bool:
        if isinstance(result, KrakenError):
            self._record(self.jobs["telemetry"], now, result)
            return False
        if result:
            self.latest_reading = max(result, key=lambda r: r.read_at)
        self._record(self.jobs["telemetry"], now, None)
        return True

    def _take_devices(
        self, result: list[SmartFlexDevice] | KrakenError | None, now: datetime
    ) -> bool:
        if result is None or isinstance(result, KrakenError):
            if isinstance(result, KrakenError):
                self._record(self.jobs["devices"], now, result)
            return False
        self.smart_devices = {device.id: device for device in result}
        self.planned = {d: p for d, p in self.planned.items() if d in self.smart_devices}
        honoured = {d.id: dispatches_honoured(d.status.current_state) for d in result}
        self.refresh.observe_states(honoured, now)
        self._record(self.jobs["devices"], now, None)
        self.jobs["dispatches"].due = self._next_due("dispatches", now)
        return True

    def _take_dispatches(
        self,
        device_id: str,
        result: list[KrakenPlannedDispatch] | KrakenError | None,
        now: datetime,
    ) -> bool:
        if isinstance(result, KrakenNoData):  # keep the cached dispatches
            self.refresh.fetched(device_id, now, schedule_found=bool(self.planned.get(device_id)))
            return True
        if result is None or isinstance(result, KrakenError):
            job = self.jobs["dispatches"]
            error = result or KrakenError("no answer for this device", operation="dispatches")
            self._record(job, now, error)
            self.refresh.failed(device_id, job.due)
            return False
        self.planned[device_id] = [
            PlannedDispatch(
                start=d.start,
                end=d.end,
                type=str(d.type),
                energy_kwh=float(d.energy_added_kwh) if d.energy_added_kwh else None,
            )
            for d in result
        ]
        self.refresh.fetched(device_id, now, schedule_found=bool(result))
        return True

    # --- on demand ----------------------------------------------------------------------

    def request_dispatch_refresh(self, kraken_device_id: str, reason: str) -> datetime:
        """Schedule a dispatch refresh (``manual``, ``plug_in``, ``unplug``, ``event``).

        Raises :class:`RefreshRefused` with a message saying when it can run.
        """
        now = self.clock.now()
        when = self.refresh.request(kraken_device_id, now, reason=reason)
        dispatches = self.jobs["dispatches"]
        dispatches.due = min(dispatches.due, when)
        if reason in ("plug_in", "unplug"):  # the state changes too: look soon
            devices = self.jobs["devices"]
            devices.due = min(devices.due, now + QUICK)
        self.wake()
        return when

    # --- publishing ---------------------------------------------------------------------

    def _register_devices(self) -> None:
        for point in self.meter_points:
            label = "Export tariff" if point.direction == "EXPORT" else "Import tariff"
            kind = point.device_id.split(".", 1)[0]
            self.hub.ensure(point.device_id, kind, f"{label} ({point.product_code})")
        if self.meter_points:
            self.hub.ensure(
                f"energy_account.{self.account_number}",
                "energy_account",
                f"Octopus account {self.account_number}",
            )
        for device in self.smart_devices.values():
            name = " ".join(part for part in (device.make, device.model) if part) or "EV"
            self.hub.ensure(f"smart_energy_device.{device.id}", "smart_energy_device", name)

    def counted_dispatches(self) -> list[DispatchWindow]:
        """Dispatch that counts for billing: what has run and what is planned, every
        device, SMART cut where the allowance runs out."""
        return billable_windows(self.dispatch_ledger.windows(), self.settings.allowance)

    def _observe_dispatches(self) -> None:
        observations = {
            device_id: DeviceObservation(
                device.status.current_state, tuple(self.planned.get(device_id, []))
            )
            for device_id, device in self.smart_devices.items()
        }
        now = self.clock.now()
        self.dispatch_ledger, events = observe_dispatches(self.dispatch_ledger, observations, now)
        for event in events:
            self._trigger(f"smart_energy_device.{event.device_id}", event.card, dict(event.tokens))
        slot_job = self.jobs["slot"]
        slot_job.due = min(slot_job.due, self._next_due("slot", now))

    def _note_product_changes(self, points: list[MeterPoint]) -> None:
        current = {p.mpan: Agreement(p.product_code, p.tariff_code) for p in points}
        for change in product_changes(self._agreements or {}, current):
            point = next(p for p in points if p.mpan == change.meter_point)
            self._trigger(
                point.device_id,
                "tariff_product_changed",
                {
                    "previous_product_code": change.previous.product_code,
                    "previous_tariff_code": change.previous.tariff_code,
                    "product_code": change.current.product_code,
                    "tariff_code": change.current.tariff_code,
                },
            )
        self._agreements = current

    def _trigger(self, device_id: str, card: str, tokens: dict[str, Any]) -> None:
        """Queue a flow-card trigger; sent after the states it describes are published."""
        self._pending_triggers.append((device_id, card, tokens))

    def _flush_triggers(self) -> None:
        pending, self._pending_triggers = self._pending_triggers, []
        for device_id, card, tokens in pending:
            self.hub.bus.publish(
                "trigger", {"device_id": device_id, "card": card, "tokens": to_json_value(tokens)}
            )

    def recompute(self) -> None:
        """Publish every device's state for ``now`` (events only for changed values)."""
        now = self.clock.now()
        window = rate_window(now)
        dispatches = self.counted_dispatches()
        # Used minutes count every SMART minute that ran, past the limit too.
        allowance = allowance_status(self.dispatch_ledger.windows(), self.settings.allowance, now)
        allowance_fields = {
            "allowance_used_minutes": allowance.used_minutes,
            "allowance_left_minutes": allowance.left_minutes,
            "allowance_reached": allowance.reached,
        }
        home_rate: float | None = None
        import_slots: dict[datetime, float] = {}
        four_rate = False
        for point in self.meter_points:
            unit = self.rates.get((point.tariff_code, UNIT_RATES), TariffRates())
            standing = self.rates.get((point.tariff_code, STANDING_CHARGES), TariffRates())
            slots = unit.slots_for(window)
            is_import = point.direction == "IMPORT"
            state = tariff_state(
                slots,
                now,
                standing_charge=standing.slots_for(window).get(slot_start(now)),
                product_code=point.product_code,
                tariff_code=point.tariff_code,
                dispatches=dispatches if is_import else (),
                four_rate_ev=is_import
                and is_four_rate_ev(point.tariff_code, self.settings.four_rate_ev),
            )
            extra: dict[str, Any] = {}
            if is_import:
                extra = {
                    **allowance_fields,
                    "allowance_limit_minutes": self.settings.allowance_limit_minutes,
                    "allowance_resets_at": allowance.window_end,
                }
                if home_rate is None:
                    home_rate, import_slots, four_rate = state.unit_rate, slots, state.four_rate_ev
            self.hub.set_state(point.device_id, {**vars(state), **extra})
            self._note_tomorrow(point.device_id, state, slots, now)
            reason = None
            if state.unit_rate is None:
                error = self.jobs["tariffs"].last_error
                reason = "No unit rate known for this half-hour yet" + (
                    f": {error}" if error else ""
                )
            self.hub.set_availability(point.device_id, state.unit_rate is not None, reason)
        self._publish_account()
        billable_smart = [w for w in dispatches if w.type == "SMART"]
        for device_id, device in self.smart_devices.items():
            hub_id = f"smart_energy_device.{device_id}"
            smart = smart_device_state(
                device.status.current_state, self.planned.get(device_id, []), now
            )
            own = intersect_windows(self.dispatch_ledger.device_windows(device_id), billable_smart)
            ev_rate = ev_unit_rate(
                import_slots,
                now,
                own,
                home_rate=home_rate,
                four_rate_ev=four_rate,
                ev_off_peak_rate=self.settings.ev_off_peak_rate,
            )
            self.hub.set_state(
                hub_id,
                {
                    "kraken_device_id": device_id,
                    **vars(smart),
                    "ev_unit_rate": ev_rate,
                    **allowance_fields,
                },
            )
            self.hub.set_availability(hub_id, True, None)
        self._flush_triggers()

    def _note_tomorrow(
        self, device_id: str, state: TariffState, slots: dict[datetime, float], now: datetime
    ) -> None:
        """Trigger when tomorrow's prices turn published (not on the first known state)."""
        if state.unit_rate is None:
            return
        published = state.tomorrow_prices_published
        if published and self._tomorrow_published.get(device_id) is False:
            tomorrow = local_day(now) + timedelta(days=1)
            prices = day_rates(slots, tomorrow) or []
            self._trigger(
                device_id,
                "tomorrow_prices_published",
                {
                    "day": tomorrow.isoformat(),
                    "min_unit_rate": min(prices, default=0.0),
                    "max_unit_rate": max(prices, default=0.0),
                    "average_unit_rate": sum(prices) / len(prices) if prices else 0.0,
                },
            )
        self._tomorrow_published[device_id] = published

    async def _record_history(self, *, may_ask_kraken: bool) -> None:
        """Once per poll: store readings (backfilling a hole first), slot energy and prices."""
        import_point = next((p for p in self.meter_points if p.direction == "IMPORT"), None)
        if import_point is None:
            return
        export_point = next((p for p in self.meter_points if p.direction == "EXPORT"), None)
        rows = self.rates.get((import_point.tariff_code, UNIT_RATES), TariffRates()).rows
        export = self.rates.get((export_point.tariff_code, UNIT_RATES)) if export_point else None
        standing = self.rates.get((import_point.tariff_code, STANDING_CHARGES), TariffRates())
        inputs = HistoryInputs(
            telemetry_device_id=import_point.telemetry_device_id,
            latest_reading=self.latest_reading,
            import_rows=rows,
            export_rows=export.rows if export else None,
            standing_rows=standing.rows,
            dispatches=self.counted_dispatches(),
            four_rate_ev=is_four_rate_ev(import_point.tariff_code, self.settings.four_rate_ev),
            planned=self.planned,
            billing_period_start=self.billing_period_start,
        )
        await self.history.sync(
            self.client, inputs, self.clock.now(), may_ask_kraken=may_ask_kraken
        )

    def _publish_account(self) -> None:
        if not self.meter_points:
            return
        hub_id = f"energy_account.{self.account_number}"
        reading = self.latest_reading
        registers = self.history.registers
        demand = reading.demand_w if reading else None
        self.hub.set_state(
            hub_id,
            {
                # The Home Mini's demand is signed: import positive, export negative.
                "power_w": float(demand) if demand is not None else None,
                "import_kwh_total": _kwh(registers.import_wh) if registers else None,
                "export_kwh_total": _kwh(registers.export_wh) if registers else None,
                **self.history.account,
            },
        )
        has_meter = any(p.telemetry_device_id for p in self.meter_points)
        self.hub.set_availability(
            hub_id,
            registers is not None,
            "Waiting for the first Home Mini reading"
            if has_meter
            else "No Octopus Home Mini on this account: live meter readings are not available",
        )


def _kwh(wh: object) -> float | None:
    return None if wh is None else round(float(str(wh)) / 1000, 3)


def rate_window(now: datetime) -> tuple[datetime, datetime]:
    """The span of rates the engine keeps: today and tomorrow, London days."""
    today = local_day(now)
    return local_day_bounds(today)[0], local_day_bounds(today + timedelta(days=1))[1]


def _rate_period(row: RateRow) -> RatePeriod:
    return RatePeriod(
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        value_inc_vat=row.value_inc_vat,
        payment_method=row.payment_method,
    )
