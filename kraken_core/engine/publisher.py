"""Turns what the pollers hold into device states and events, through the domain's pure
functions: the only place device states are made.

It also keeps the memory that events need: the dispatch ledger (what ran, what was
planned at the last successful poll), the agreements last seen (a change of product is a
trigger), whether tomorrow's prices were published (the moment they are is another) and
the Octoplus ledger (saving sessions and power-ups announced, started, ended).
Triggers wait until the states they describe are published.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kraken_core.api.events import to_json_value
from kraken_core.api.models import (
    EnergyAccountState,
    ExportTariffState,
    GasMeterState,
    GasTariffState,
    ImportTariffState,
    OctoplusFigures,
    PlannedDispatchState,
    SmartEnergyDeviceState,
)
from kraken_core.domain.allowance import AllowanceStatus, allowance_status
from kraken_core.domain.bands import SmartDevice, device_billable_smart, household_billable
from kraken_core.domain.charge_target import charge_target_now, smart_control_enabled
from kraken_core.domain.dispatch import (
    DeviceObservation,
    DispatchLedger,
    PlannedDispatch,
    observe_dispatches,
    smart_device_state,
)
from kraken_core.domain.octoplus import (
    FlexEvent,
    FlexKind,
    FlexLedger,
    FlexTrigger,
    flex_clock,
    flex_read,
    flex_status,
)
from kraken_core.domain.product import (
    Agreement,
    MeterPoint,
    household_tariffs,
    is_four_rate_ev,
    product_changes,
)
from kraken_core.domain.registers import gas_m3
from kraken_core.domain.tariff import (
    TariffState,
    day_mean_rate,
    ev_unit_rate,
    next_price_change,
    tariff_state,
    tomorrow_prices_published,
)
from kraken_core.domain.timeline import day_rates, local_day, slot_start
from kraken_core.domain.windows import DispatchWindow
from kraken_core.engine.gas import GasPoller
from kraken_core.engine.history import History
from kraken_core.engine.hub import DeviceHub
from kraken_core.engine.live import DevicesPoller, DispatchesPoller, TelemetryPoller
from kraken_core.engine.octoplus import Octoplus
from kraken_core.engine.settings import EngineSettings
from kraken_core.engine.tariffs import STANDING_CHARGES, AccountPoller, TariffPoller, rate_window
from kraken_core.kraken.models import TelemetryReading


def account_device_id(account_number: str) -> str:
    return f"energy_account.{account_number}"


def smart_device_id(kraken_id: str) -> str:
    return f"smart_energy_device.{kraken_id}"


@dataclass(frozen=True)
class Sources:
    """What the publisher reads: each poller's data, and the history's figures."""

    account: AccountPoller
    tariffs: TariffPoller
    telemetry: TelemetryPoller
    devices: DevicesPoller
    dispatches: DispatchesPoller
    history: History
    octoplus: Octoplus


class StatePublisher:
    def __init__(
        self,
        hub: DeviceHub,
        account_number: str,
        settings: Callable[[], EngineSettings],
        sources: Sources,
    ) -> None:
        self.hub = hub
        self.account_number = account_number
        self._settings = settings
        self._account, self._tariffs = sources.account, sources.tariffs
        self._telemetry, self._history = sources.telemetry, sources.history
        self._devices, self._dispatches = sources.devices, sources.dispatches
        self._octoplus = sources.octoplus
        self.ledger = DispatchLedger()
        self.flex = FlexLedger()
        self._agreements: dict[str, Agreement] | None = None
        self._tomorrow_published: dict[str, bool] = {}
        self._pending: list[tuple[str, str, dict[str, Any]]] = []

    # --- what the pollers learnt ------------------------------------------------------

    def agreements_read(self) -> None:
        """After an account read: a changed product is a trigger; devices appear."""
        points = self._account.meter_points
        device_of = {p.mpan: p.device_id for p in points} | {
            p.mprn: p.tariff_device_id for p in self._account.gas_points
        }
        current = {p.mpan: Agreement(p.product_code, p.tariff_code) for p in points} | {
            p.mprn: Agreement(p.product_code, p.tariff_code) for p in self._account.gas_points
        }
        for change in product_changes(self._agreements or {}, current):
            self._trigger(
                device_of[change.meter_point],
                "tariff_product_changed",
                {
                    "previous_product_code": change.previous.product_code,
                    "previous_tariff_code": change.previous.tariff_code,
                    "product_code": change.current.product_code,
                    "tariff_code": change.current.tariff_code,
                },
            )
        self._agreements = current
        self.register_devices()

    def dispatches_read(self, now: datetime) -> None:
        """After a successful devices or dispatches read: events compare it with the last."""
        self.register_devices()
        planned = self._dispatches.planned
        observations = {
            device_id: DeviceObservation(device.device_state, planned.get(device_id, ()))
            for device_id, device in self._devices.devices.items()
        }
        self.ledger, events = observe_dispatches(self.ledger, observations, now)
        for event in events:
            self._trigger(smart_device_id(event.device_id), event.card, dict(event.tokens))

    def flex_read(self, now: datetime) -> None:
        """After a successful saving-sessions read: a session or power-up not seen before
        is announced (not on the first read: those were known before the bridge)."""
        self.flex, triggers = flex_read(self.flex, self._octoplus.sessions.events, now)
        self._flex_triggers(triggers)

    def join_refused(self, event: FlexEvent, reason: str) -> None:
        """Joining a session automatically was refused: the reason, in Kraken's words."""
        self._flex_triggers(
            [FlexTrigger("saving_session_join_refused", {**_event_tokens(event), "reason": reason})]
        )

    def _flex_triggers(self, triggers: list[FlexTrigger]) -> None:
        if not triggers or not self._account.meter_points:
            return  # no Energy Account yet to fire them on
        for trigger in triggers:
            self._trigger(account_device_id(self.account_number), trigger.card, trigger.tokens)

    def register_devices(self) -> None:
        points = self._account.meter_points
        for point in points:
            label = "Export tariff" if point.direction == "EXPORT" else "Import tariff"
            self.hub.ensure(point.device_id, point.device_kind, f"{label} ({point.product_code})")
        if points:
            self.hub.ensure(
                account_device_id(self.account_number),
                "energy_account",
                f"Octopus account {self.account_number}",
            )
        for device in self._devices.devices.values():
            self.hub.ensure(smart_device_id(device.id), "smart_energy_device", device.name)
        for gas in self._account.gas_points:
            self.hub.ensure(gas.tariff_device_id, "gas_tariff", f"Gas tariff ({gas.product_code})")

    # --- derived views ----------------------------------------------------------------

    def billable(self) -> list[DispatchWindow]:
        """Every device's dispatch that counts for billing, SMART cut at the allowance."""
        return household_billable(self.ledger, self._settings().allowance)

    def next_edge(self, now: datetime) -> datetime | None:
        """The next start or end of a counted dispatch, or moment of a saving session or
        power-up (device states change, or a trigger is due, then)."""
        edges = [e for e in (self.ledger.next_edge(now), self.flex.next_edge(now)) if e]
        return min(edges, default=None)

    # --- publishing ---------------------------------------------------------------------

    def publish(self, now: datetime) -> None:
        """Publish every device's state for ``now`` (events only for changed values)."""
        settings = self._settings()
        billable = self.billable()
        # Used minutes count every SMART minute that ran, past the limit too.
        allowance = allowance_status(self.ledger.windows(), settings.allowance, now)
        home_rate, import_slots = self._publish_tariffs(now, billable, allowance)
        self._publish_gas_tariffs(now)
        self.flex, moments = flex_clock(self.flex, now)
        self._flex_triggers(moments)
        self._publish_account(now)
        self._publish_smart_devices(now, billable, allowance, home_rate, import_slots)
        self._flush_triggers()

    def _publish_tariffs(
        self, now: datetime, billable: list[DispatchWindow], allowance: AllowanceStatus
    ) -> tuple[float | None, dict[datetime, float]]:
        """Each tariff device; returns the home's rate now and its slots (the first import)."""
        settings = self._settings()
        window = rate_window(now)
        home = household_tariffs(
            self._account.meter_points, settings.four_rate_ev, self._tariffs.groups
        )
        home_rate: float | None = None
        import_slots: dict[datetime, float] = {}
        for point in self._account.meter_points:
            slots = self._tariffs.slots(point.tariff_code, window)
            state = self._tariff_state(point, slots, now, billable)
            if point.direction == "IMPORT":
                self.hub.set_state(point.device_id, _import_state(state, allowance, settings))
            else:
                self.hub.set_state(point.device_id, ExportTariffState(**vars(state)))
            if point == home.import_point:
                home_rate, import_slots = state.unit_rate, slots
            self._note_tomorrow(point.device_id, state.unit_rate, state, slots, now)
            self._tariff_availability(point.device_id, state.unit_rate)
        return home_rate, import_slots

    def _publish_gas_tariffs(self, now: datetime) -> None:
        window = rate_window(now)
        for point in self._account.gas_points:
            slots = self._tariffs.slots(point.tariff_code, window)
            standing = self._tariffs.rates_of(point.tariff_code, STANDING_CHARGES)
            change = next_price_change(slots, now)
            unit_rate = slots.get(slot_start(now))
            published = tomorrow_prices_published(slots, now)
            state = GasTariffState(
                unit_rate=unit_rate,
                next_unit_rate=change.rate if change else unit_rate,
                next_rate_from=change.at if change else None,
                tomorrow_unit_rate=day_mean_rate(slots, local_day(now) + timedelta(days=1)),
                tomorrow_prices_published=published,
                standing_charge=standing.slots_for(window).get(slot_start(now)),
                product_code=point.product_code,
                tariff_code=point.tariff_code,
            )
            self.hub.set_state(point.tariff_device_id, state)
            self._note_tomorrow(point.tariff_device_id, unit_rate, state, slots, now)
            self._tariff_availability(point.tariff_device_id, unit_rate)

    def _tariff_availability(self, device_id: str, unit_rate: float | None) -> None:
        reason = None
        if unit_rate is None:
            error = self._tariffs.last_error
            reason = "No unit rate known for this half-hour yet" + (f": {error}" if error else "")
        self.hub.set_availability(device_id, unit_rate is not None, reason)

    def _tariff_state(
        self,
        point: MeterPoint,
        slots: dict[datetime, float],
        now: datetime,
        billable: list[DispatchWindow],
    ) -> TariffState:
        is_import = point.direction == "IMPORT"
        standing = self._tariffs.rates_of(point.tariff_code, STANDING_CHARGES)
        return tariff_state(
            slots,
            now,
            standing_charge=standing.slots_for(rate_window(now)).get(slot_start(now)),
            product_code=point.product_code,
            tariff_code=point.tariff_code,
            dispatches=billable if is_import else (),
            four_rate_ev=is_import
            and is_four_rate_ev(
                point, self._tariffs.groups.get(point.tariff_code), self._settings().four_rate_ev
            ),
        )

    def _publish_smart_devices(
        self,
        now: datetime,
        billable: list[DispatchWindow],
        allowance: AllowanceStatus,
        home_rate: float | None,
        import_slots: dict[datetime, float],
    ) -> None:
        settings = self._settings()
        home = household_tariffs(
            self._account.meter_points, settings.four_rate_ev, self._tariffs.groups
        )
        point = home.import_point if home.four_rate_ev else None
        ev_peak = point.ev_device_peak_rate if point else None
        ev_off_peak = point.ev_device_off_peak_rate if point else None
        if settings.ev_off_peak_rate is not None:  # the user's own figure wins
            ev_off_peak = settings.ev_off_peak_rate
        for device_id, device in self._devices.devices.items():
            stale = self._devices.stale_reason_for(
                device_id, now
            ) or self._dispatches.stale_reason_for(device_id, now)
            planned = self._dispatches.planned.get(device_id, ())
            ev_rate = ev_unit_rate(
                import_slots,
                now,
                device_billable_smart(self.ledger, device_id, billable),
                home_rate=home_rate,
                four_rate_ev=home.four_rate_ev,
                ev_off_peak_rate=ev_off_peak,
                ev_peak_rate=ev_peak,
            )
            state = _smart_state(device, planned, now, (ev_rate, ev_peak, ev_off_peak), allowance)
            self.hub.set_state(smart_device_id(device_id), state)
            self.hub.set_availability(smart_device_id(device_id), stale is None, stale)

    def _publish_account(self, now: datetime) -> None:
        points = self._account.meter_points
        if not points:
            return
        hub_id = account_device_id(self.account_number)
        reading = self._telemetry.latest
        registers = self._history.registers
        demand = reading.demand_w if reading else None
        has_meter = any(p.telemetry_device_id for p in points)
        self.hub.set_state(
            hub_id,
            EnergyAccountState(
                # The Home Mini's demand is signed: import positive, export negative.
                power_w=float(demand) if demand is not None else None,
                import_kwh_total=_kwh(registers.import_wh) if registers else None,
                export_kwh_total=_kwh(registers.export_wh) if registers else None,
                **self._history.account.model_dump(),
                balance=self._account.balance_p,
                **self._home_mini_health(reading, has_meter, now),
                **self._octoplus_figures(now).model_dump(),
            ),
        )
        stale = self._telemetry.stale_reason(now) if has_meter else None
        if registers is None:
            stale = (
                "Waiting for the first Home Mini reading"
                if has_meter
                else "No Octopus Home Mini on this account: live meter readings are not available"
            )
        self.hub.set_availability(hub_id, stale is None, stale)

    def _home_mini_health(
        self, reading: TelemetryReading | None, has_meter: bool, now: datetime
    ) -> dict[str, Any]:
        """When the Home Mini last read the meter, and whether that is too long ago: a
        Home Mini can fall silent while Octopus keeps answering (with no new reading).
        The live reading's own time; the history's newest only until the first live read
        after a start (a backfilled reading is stamped at the end of its half-hour)."""
        newest = reading.read_at if reading else self._history.last_reading_at
        last = newest if has_meter else None
        stale = None if last is None else now - last > self._settings().telemetry_stale_limit
        return {
            "last_reading_at": last,
            "telemetry_stale": stale,
            "telemetry_stale_since": last if stale else None,
        }

    def _octoplus_figures(self, now: datetime) -> OctoplusFigures:
        status = self._octoplus.points.latest
        events = self._octoplus.sessions.events
        saving = flex_status(events, FlexKind.SAVING_SESSION, now)
        power_up = flex_status(events, FlexKind.POWER_UP, now)
        spins = [] if status is None else [status.electricity_spins, status.gas_spins]
        known_spins = [n for n in spins if n is not None]
        session = saving.next
        return OctoplusFigures(
            octoplus_enrolled=status.enrolled if status else None,
            octoplus_points=status.points if status else None,
            wheel_spins_available=sum(known_spins) if known_spins else None,
            wheel_spins_electricity=status.electricity_spins if status else None,
            wheel_spins_gas=status.gas_spins if status else None,
            saving_session_active=saving.active,
            next_saving_session_start=session.start if session else None,
            next_saving_session_end=session.end if session else None,
            next_saving_session_joined=session.joined if session else None,
            next_saving_session_reward=session.reward_per_kwh if session else None,
            next_saving_session_code=session.code if session else None,
            power_up_active=power_up.active,
            next_power_up_start=power_up.next.start if power_up.next else None,
            next_power_up_end=power_up.next.end if power_up.next else None,
        )

    def _note_tomorrow(
        self,
        device_id: str,
        unit_rate: float | None,
        state: TariffState | GasTariffState,
        slots: dict[datetime, float],
        now: datetime,
    ) -> None:
        """Trigger when tomorrow's prices turn published (not on the first known state)."""
        if unit_rate is None:
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

    def _trigger(self, device_id: str, card: str, tokens: Mapping[str, Any]) -> None:
        """Queue a flow-card trigger; sent after the states it describes are published."""
        self._pending.append((device_id, card, dict(tokens)))

    def _flush_triggers(self) -> None:
        pending, self._pending = self._pending, []
        for device_id, card, tokens in pending:
            self.hub.bus.publish(
                "trigger", {"device_id": device_id, "card": card, "tokens": to_json_value(tokens)}
            )


def _event_tokens(event: FlexEvent) -> dict[str, Any]:
    return {
        "code": event.code,
        "start": event.start,
        "end": event.end,
        "reward_per_kwh": event.reward_per_kwh,
    }


def _import_state(
    state: TariffState, allowance: AllowanceStatus, settings: EngineSettings
) -> ImportTariffState:
    return ImportTariffState(
        **vars(state),
        allowance_used_minutes=allowance.used_minutes,
        allowance_left_minutes=allowance.left_minutes,
        allowance_reached=allowance.reached,
        allowance_limit_minutes=settings.allowance_limit_minutes,
        allowance_resets_at=allowance.window_end,
    )


def _smart_state(
    device: SmartDevice,
    planned: tuple[PlannedDispatch, ...],
    now: datetime,
    ev_rates: tuple[float | None, float | None, float | None],
    allowance: AllowanceStatus,
) -> SmartEnergyDeviceState:
    """``ev_rates``: what the car's charging costs now, the EV peak and off-peak rates."""
    smart = smart_device_state(device.device_state, planned, now)
    fields = vars(smart) | {
        "planned_dispatches": tuple(
            PlannedDispatchState(**vars(d)) for d in smart.planned_dispatches
        )
    }
    target = charge_target_now(device.charge_schedule, now, percent=device.charge_unit_percent)
    return SmartEnergyDeviceState(
        kraken_device_id=device.id,
        **fields,
        ev_unit_rate=ev_rates[0],
        ev_peak_rate=ev_rates[1],
        ev_off_peak_rate=ev_rates[2],
        allowance_used_minutes=allowance.used_minutes,
        allowance_left_minutes=allowance.left_minutes,
        allowance_reached=allowance.reached,
        charge_target_percent=target.target_percent if target else None,
        ready_by=target.ready_by if target else None,
        charge_target_same_every_day=target.same_every_day if target else None,
        smart_control_enabled=smart_control_enabled(device.is_suspended, device.device_state),
    )


def _kwh(wh: object) -> float | None:
    return None if wh is None else round(float(str(wh)) / 1000, 3)


# --- gas meters (self-contained: the engine calls it after StatePublisher.publish) -------


def publish_gas_meters(
    hub: DeviceHub, gas: GasPoller, settings: EngineSettings, now: datetime
) -> None:
    """Each gas meter the Home Mini reads: its registers (kWh, and m³ by the calorific
    value setting), today's kWh and cost; unavailable while its readings are stale."""
    points = gas.points()
    cv = settings.gas_calorific_value
    for point in points:
        device_id = point.meter_device_id
        hub.ensure(
            device_id, "gas_meter", "Gas meter" if len(points) == 1 else f"Gas meter {point.mprn}"
        )
        figures = gas.figures_for(point.mprn, now)
        register = figures.register if figures else None
        kwh_total = register.wh / 1000 if register else None
        hub.set_state(
            device_id,
            GasMeterState(
                gas_kwh_total=round(kwh_total, 3) if kwh_total is not None else None,
                gas_m3_total=round(gas_m3(kwh_total, cv), 3) if kwh_total is not None else None,
                gas_kwh_today=figures.kwh_today if figures else None,
                gas_cost_today=figures.cost_today_p if figures else None,
                last_reading_at=register.at if register else None,
                calorific_value=cv,
            ),
        )
        reason = gas.stale_reason(now)
        if reason is None and register is None:
            reason = "Waiting for the first gas reading from the Octopus Home Mini"
        hub.set_availability(device_id, reason is None, reason)
