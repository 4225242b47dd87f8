"""The engine's memory: Home Mini readings become priced half-hour slots in the store.

Once per poll :meth:`History.sync` records what the poll learnt in one transaction:
the newest telemetry reading (after backfilling any hole since the last stored one),
the energy each slot received, the price of every slot up to now, and the dispatches
as seen. It then refreshes the Energy Account figures, which the publisher publishes
without touching the database.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from kraken_core.api.models import AccountFigures
from kraken_core.domain.dispatch import PlannedDispatch
from kraken_core.domain.efficiency import (
    Period,
    SlotEnergy,
    efficiency,
    period_days,
    price_slot,
)
from kraken_core.domain.registers import (
    MeterReading,
    MeterRegisters,
    StoredRegisters,
    attribute_readings,
)
from kraken_core.domain.tariff import slot_price
from kraken_core.domain.timeline import (
    SLOT,
    RatePeriod,
    half_hour_rates,
    local_day,
    local_day_bounds,
    slot_start,
    slots_between,
)
from kraken_core.domain.windows import DispatchWindow
from kraken_core.engine.pollers import Pacing, Poller
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.errors import KrakenError, KrakenThrottled, KrakenUpstreamError
from kraken_core.kraken.models import TelemetryReading
from kraken_core.store.db import Store
from kraken_core.store.history import (
    DispatchRecord,
    HistoryStore,
    MoneyTotals,
    SlotPrices,
    days,
)

log = logging.getLogger(__name__)

TWELVE_MONTH_REFRESH = timedelta(hours=1)
PAST_FIGURES_REFRESH = timedelta(hours=1)  # yesterday, the month so far, the 12-month bill
BACKFILL_GROUPING = "HALF_HOURLY"
BACKFILL_STEP = timedelta(minutes=30)


@dataclass(frozen=True)
class HistorySettings:
    retention: timedelta = timedelta(days=14)  # raw readings; slots are kept for good
    backfill_limit: timedelta = timedelta(days=7)  # how far back Kraken is asked for a hole
    max_span: timedelta = timedelta(minutes=35)  # readings further apart leave a gap
    completed_dispatch_interval: timedelta = timedelta(hours=6)  # Kraken is ~12 h behind
    retry_after: timedelta = timedelta(minutes=5)  # a failed backfill is tried again


#: Slot rates of a tariff between two times, whatever shape its product publishes.
RateLookup = Callable[[datetime, datetime], dict[datetime, float]]


def no_rates(_start: datetime, _end: datetime) -> dict[datetime, float]:
    return {}


@dataclass(frozen=True)
class HistoryInputs:
    """What the engine knows that history needs, gathered once per poll."""

    telemetry_device_id: str | None
    latest_reading: TelemetryReading | None
    import_rates: RateLookup = no_rates  # the tariff's slot rates over a span
    export_rates: RateLookup = no_rates
    standing_rows: Sequence[RatePeriod] = ()
    dispatches: Sequence[DispatchWindow] = ()
    four_rate_ev: bool = False
    planned: Mapping[str, Sequence[PlannedDispatch]] = field(default_factory=dict)
    billing_period_start: date | None = None


def _wh(value: object) -> float | None:
    return None if value is None else float(str(value))


def meter_reading(reading: TelemetryReading, end: datetime) -> MeterReading:
    """A telemetry row as numbers, its registers standing as given at ``end``."""
    return MeterReading(
        reading.read_at,
        end,
        _wh(reading.consumption_wh),
        _wh(reading.consumption_delta_wh),
        _wh(reading.export_wh),
    )


def ranged_readings(
    readings: Sequence[TelemetryReading], step: timedelta, fetched_at: datetime
) -> list[MeterReading]:
    """Grouped rows: each row's ``consumption`` and ``export`` are the registers at the
    end of its bucket (its start plus the grouping step, or the next row's start, or the
    time of asking for a bucket still running)."""
    ordered = sorted(readings, key=lambda r: r.read_at)
    rows = []
    for index, reading in enumerate(ordered):
        end = min(reading.read_at + step, fetched_at)
        if index + 1 < len(ordered):
            end = min(end, ordered[index + 1].read_at)
        rows.append(meter_reading(reading, end))
    return rows


def _month_after(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


class BackfillPoller(Poller):
    """Home Mini readings missed while the bridge was away, asked for when a hole appears;
    a throttled or failed ask waits ``retry_after``. No device depends on it: a hole that
    cannot be filled stays a gap in the history."""

    def __init__(self, pacing: Pacing, now: datetime, retry_after: timedelta) -> None:
        super().__init__("backfill", "missed meter readings", pacing, now, stale_after=None)
        self._retry_after = retry_after

    def next_due(self, now: datetime) -> datetime:
        return now  # the next hole is filled as soon as it appears

    def retry_at(self, now: datetime, error: KrakenError) -> datetime:
        return now + self._retry_after


class CompletedDispatchesPoller(Poller):
    """Dispatches that happened, for the history: Kraken lists them about 12 hours late,
    so every few hours is enough, failed or not."""

    def __init__(self, pacing: Pacing, now: datetime, interval: timedelta) -> None:
        super().__init__("completed_dispatches", "completed dispatches", pacing, now, None)
        self._interval = interval

    def next_due(self, now: datetime) -> datetime:
        return now + self._interval

    def retry_at(self, now: datetime, error: KrakenError) -> datetime:
        return now + self._interval


@dataclass(frozen=True)
class PastFigures:
    """Figures of days before today, from the history: they change only when a backfill
    or a late price fills a past half-hour, so they are read hourly and at midnight, not
    at every poll (today's part of the month is added from today's figures)."""

    day: date  # the local day they were read on
    read_at: datetime
    yesterday: MoneyTotals
    month_before_today: MoneyTotals  # the 1st of this month up to yesterday
    bill_12m_p: float | None
    bill_12m_months: int
    bill_12m_from: date
    bill_12m_to: date


class History:
    def __init__(
        self, store: Store, pacing: Pacing, now: datetime, settings: HistorySettings | None = None
    ) -> None:
        self.db = HistoryStore(store)
        self.settings = settings or HistorySettings()
        self._loaded = False
        self._registers = MeterRegisters()
        self._last_at: datetime | None = None  # the newest reading stored
        self._backfilled_until: datetime | None = None  # a hole asked for up to here
        self._priced_until: datetime | None = None
        self._unpriced: set[datetime] = set()  # slots to price once their rates are known
        self.backfill = BackfillPoller(pacing, now, self.settings.retry_after)
        self.completed = CompletedDispatchesPoller(
            pacing, now, self.settings.completed_dispatch_interval
        )
        self._twelve_months: tuple[datetime, int | None] | None = None
        self._past: PastFigures | None = None
        self.account = AccountFigures()

    @property
    def last_reading_at(self) -> datetime | None:
        """When the newest Home Mini reading stored was read (a restart keeps it; a
        backfilled one counts at the end of its half-hour)."""
        return self._last_at

    @property
    def registers(self) -> StoredRegisters | None:
        """The meter registers as last known (never decreasing; a register the meter
        has never reported is None, not 0), or None before the first reading."""
        state = self._registers
        if state.at is None:
            return None
        return StoredRegisters(
            state.at,
            state.imported.wh if state.imported else None,
            state.exported.wh if state.exported else None,
        )

    async def sync(
        self,
        client: KrakenClient,
        inputs: HistoryInputs,
        now: datetime,
        *,
        may_ask_kraken: bool = True,
    ) -> None:
        """Store this poll. Kraken is asked for backfill and completed dispatches only
        when ``may_ask_kraken`` (a jittered poll, never a run at a slot boundary)."""
        if not self._loaded:
            self._registers = await self.db.last_registers()
            self._last_at = await self.db.last_reading_at()
            self._priced_until = await self.db.last_priced_slot()
            oldest = slot_start(now - self.settings.backfill_limit)
            self._unpriced = set(await self.db.unpriced_slots(oldest))
            self._loaded = True
        readings, demand = await self._new_readings(client, inputs, now, may_ask_kraken)
        attribution = attribute_readings(self._registers, readings, max_span=self.settings.max_span)
        prices = self._prices(inputs, attribution.slots, now)
        completed = await self._completed_dispatches(client, now) if may_ask_kraken else []
        planned = [
            DispatchRecord("planned", device_id, d.start, d.end, d.type, d.energy_kwh)
            for device_id, dispatches in inputs.planned.items()
            for d in dispatches
        ]
        await self.db.write_poll(
            samples=attribution.accepted,
            demand_w=demand,
            energy=attribution.slots,
            prices=prices,
            dispatches=[*planned, *completed],
            seen_at=now,
            keep_readings_from=now - self.settings.retention,
        )
        self._registers = attribution.registers
        if attribution.accepted:
            self._last_at = attribution.accepted[-1].at
        self.account = await self._account_figures(inputs, now)

    # --- readings -----------------------------------------------------------------------

    async def _new_readings(
        self, client: KrakenClient, inputs: HistoryInputs, now: datetime, may_ask_kraken: bool
    ) -> tuple[list[MeterReading], dict[datetime, float | None]]:
        readings: list[MeterReading] = []
        demand: dict[datetime, float | None] = {}
        if inputs.telemetry_device_id is None:
            return readings, demand
        # A hole since the last stored reading (or, on a first start, since midnight);
        # a hole already asked for is asked again only once it has grown again.
        since = self._last_at or local_day_bounds(local_day(now))[0]
        since = max(since, self._backfilled_until or since)
        if now - since > self.settings.max_span:
            if not may_ask_kraken:
                return readings, demand  # at the next jittered poll
            backfilled = await self._backfill(client, inputs.telemetry_device_id, since, now)
            if backfilled is None:
                return readings, demand  # try again later; do not close the hole with a gap
            readings.extend(backfilled)
        reading = inputs.latest_reading
        if reading is not None:
            readings.append(meter_reading(reading, reading.read_at))
            demand[reading.read_at] = _wh(reading.demand_w)
        return readings, demand

    async def _backfill(
        self, client: KrakenClient, device_id: str, last_at: datetime, now: datetime
    ) -> list[MeterReading] | None:
        """Readings since ``last_at`` (no further back than the limit); None: try later.
        A temporary failure (a throttle, KT-GB-4039, KT-GB-4043, a 5xx) keeps the hole to
        fill at the next try; a refusal (KT-GB-4051, too far back) leaves it a gap."""
        if now < self.backfill.due:
            return None
        start = max(slot_start(last_at), slot_start(now - self.settings.backfill_limit))
        try:
            readings = await client.backfill_telemetry(
                device_id, start=start, end=now, grouping=BACKFILL_GROUPING
            )
        except (KrakenThrottled, KrakenUpstreamError) as exc:
            self.backfill.record(now, exc)
            log.warning("telemetry backfill since %s postponed: %s", last_at, exc)
            return None
        except KrakenError as exc:  # e.g. KT-GB-4051, too far back: the hole stays a gap
            self.backfill.record(now, None, note=str(exc))
            log.warning("telemetry since %s cannot be backfilled: %s", last_at, exc)
            self._backfilled_until = now
            return []
        self.backfill.record(now, None)
        self._backfilled_until = now
        rows = ranged_readings(readings, BACKFILL_STEP, now)
        log.info("backfilled %d telemetry readings since %s", len(rows), last_at)
        return rows

    # --- prices -------------------------------------------------------------------------

    def _prices(
        self, inputs: HistoryInputs, touched: Mapping[datetime, SlotEnergy], now: datetime
    ) -> dict[datetime, SlotPrices]:
        """Prices of the slots this poll touched and of every slot since the last priced
        one, the current slot included (its price follows dispatches until it ends)."""
        current = slot_start(now)
        oldest = slot_start(now - self.settings.backfill_limit)
        since = max(self._priced_until + SLOT, oldest) if self._priced_until else current
        wanted = {s for s in (*touched, *self._unpriced) if s >= oldest}
        wanted |= {current, *slots_between(since, current + SLOT)}
        day_cache: dict[date, tuple[dict[datetime, float], dict[datetime, float]]] = {}
        prices: dict[datetime, SlotPrices] = {}
        for slot in sorted(wanted):
            day = local_day(slot)
            if day not in day_cache:
                bounds = local_day_bounds(day)
                day_cache[day] = (inputs.import_rates(*bounds), inputs.export_rates(*bounds))
            import_rates, export_rates = day_cache[day]
            imported = price_slot(
                import_rates, slot, inputs.dispatches, four_rate_ev=inputs.four_rate_ev
            )
            exported = slot_price(export_rates, slot)
            prices[slot] = SlotPrices(imported, exported.effective_rate if exported else None)
        self._priced_until = current
        self._unpriced = {slot for slot, price in prices.items() if price.imported is None}
        return prices

    async def _completed_dispatches(
        self, client: KrakenClient, now: datetime
    ) -> list[DispatchRecord]:
        if now < self.completed.due:
            return []
        try:
            completed = await client.completed_dispatches()
        except KrakenError as exc:
            self.completed.record(now, exc)
            return []
        self.completed.record(now, None)
        return [
            DispatchRecord(
                "completed",
                "",
                d.start,
                d.end,
                (d.meta.source if d.meta and d.meta.source else "unknown"),
                float(d.delta_kwh) if d.delta_kwh is not None else None,
                d.meta.source if d.meta else None,
                d.meta.location if d.meta else None,
            )
            for d in completed
        ]

    # --- the Energy Account -------------------------------------------------------------

    async def _account_figures(self, inputs: HistoryInputs, now: datetime) -> AccountFigures:
        today = local_day(now)
        period_start = inputs.billing_period_start or today.replace(day=1)
        if period_start > today:
            period_start = today
        while _month_after(period_start) <= today:  # Kraken's start date is a period behind
            period_start = _month_after(period_start)
        period_end = _month_after(period_start) - timedelta(days=1)
        day_money = await self.db.money(today, today)
        period_money = await self.db.money(period_start, today)
        charges = self._standing_charges(inputs.standing_rows, period_start, period_end, today)
        charged_so_far = sum(charges[: (today - period_start).days + 1])
        energy_p = period_money.import_cost_p - period_money.export_value_p
        period_start_utc = local_day_bounds(period_start)[0]
        period_end_utc = local_day_bounds(period_end)[1]
        elapsed = (now - period_start_utc) / (period_end_utc - period_start_utc)
        day_slots = await self.db.period(today, today, self._covered_until(now))
        today_efficiency = efficiency(day_slots.totals)
        # A meter that has never reported export has exported nothing we know of: null.
        exports = self._registers.exported is not None
        return AccountFigures(
            import_kwh_today=round(day_money.import_kwh, 3),
            export_kwh_today=round(day_money.export_kwh, 3) if exports else None,
            import_cost_today=round(day_money.import_cost_p, 2),
            export_value_today=round(day_money.export_value_p, 2) if exports else None,
            standing_charge_today=charges[(today - period_start).days] if charges else None,
            telemetry_gap_slots_today=day_slots.gap_slots,
            billing_period_start=period_start,
            billing_period_end=period_end,
            period_import_kwh=round(period_money.import_kwh, 3),
            period_export_kwh=round(period_money.export_kwh, 3) if exports else None,
            period_import_cost=round(period_money.import_cost_p, 2),
            period_export_value=round(period_money.export_value_p, 2) if exports else None,
            period_standing_charge=round(charged_so_far, 2),
            period_cost=round(energy_p + charged_so_far, 2),
            projected_bill=round(energy_p / elapsed + sum(charges), 2)
            if charges and elapsed > 0
            else None,
            tariff_efficiency_today=today_efficiency.score_percent,
            off_peak_share_today=today_efficiency.share_percent[0]
            if today_efficiency.import_kwh > 0
            else None,
            tariff_efficiency_month=await self._score_percent("month", today, now),
            tariff_efficiency_12m=await self._twelve_month_score(today, now),
            **_past_fields(await self._past_figures(inputs, today, now), day_money, exports),
        )

    async def _past_figures(self, inputs: HistoryInputs, today: date, now: datetime) -> PastFigures:
        """Yesterday, the month before today and the 12-month bill: read again at a new
        day, hourly, and while the bill waits for a standing charge."""
        past = self._past
        if (
            past is not None
            and past.day == today
            and now < past.read_at + PAST_FIGURES_REFRESH
            and (past.bill_12m_p is not None or past.bill_12m_months == 0)
        ):
            return past
        yesterday = today - timedelta(days=1)
        month_start = today.replace(day=1)
        before_today = (
            await self.db.money(month_start, yesterday)
            if month_start < today
            else MoneyTotals(0.0, 0.0, 0.0, 0.0)
        )
        first, last = _month_start(today, 12), month_start - timedelta(days=1)
        by_day = await self.db.money_by_day(first, last)
        charges = _day_charges(inputs.standing_rows, sorted(by_day), today)
        bill: float | None = None
        if by_day and charges is not None:
            energy = sum(m.import_cost_p - m.export_value_p for m in by_day.values())
            bill = round(energy + sum(charges.values()), 2)
        self._past = PastFigures(
            day=today,
            read_at=now,
            yesterday=await self.db.money(yesterday, yesterday),
            month_before_today=before_today,
            bill_12m_p=bill,
            bill_12m_months=len({(d.year, d.month) for d in by_day}),
            bill_12m_from=first,
            bill_12m_to=last,
        )
        return self._past

    async def _score_percent(self, period: Period, day: date, now: datetime) -> int | None:
        first, last = period_days(period, day)
        record = await self.db.period(first, last, self._covered_until(now))
        return efficiency(record.totals).score_percent

    async def _twelve_month_score(self, today: date, now: datetime) -> int | None:
        """The moving year changes little within an hour: computed at most hourly."""
        cached = self._twelve_months
        if (
            cached is None
            or cached[1] is None
            or not cached[0] <= now < cached[0] + TWELVE_MONTH_REFRESH
        ):
            cached = (now, await self._score_percent("12m", today, now))
            self._twelve_months = cached
        return cached[1]

    def _covered_until(self, now: datetime) -> datetime:
        """Slots ending after the last reading are not gaps yet: readings are still due."""
        imported = self._registers.imported
        return min(now, imported.at) if imported else now

    @staticmethod
    def _standing_charges(
        rows: Sequence[RatePeriod], first: date, last: date, today: date
    ) -> list[float]:
        """Each day's standing charge (p) of the period; days Kraken has not given us
        (the future, or before the bridge first asked) take today's charge."""
        start = local_day_bounds(first)[0]
        end = local_day_bounds(last)[1]
        by_slot = half_hour_rates(rows, start, end)
        known = {d: by_slot.get(local_day_bounds(d)[0]) for d in days(first, last)}
        current = known.get(today)
        if current is None:
            return []
        return [charge if charge is not None else current for charge in known.values()]


def _month_start(day: date, months_back: int) -> date:
    """The first day of the month ``months_back`` months before ``day``'s."""
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _day_charges(
    rows: Sequence[RatePeriod], wanted: Sequence[date], today: date
) -> dict[date, float] | None:
    """The standing charge (p) of each day in ``wanted``, from the tariff's rows; a day
    the rows do not cover takes today's charge (as the billing period does). None while
    today's charge is not known either."""
    current = _charge_on(rows, today)
    if current is None:
        return None
    charges = {}
    for day in wanted:
        known = _charge_on(rows, day)
        charges[day] = known if known is not None else current
    return charges


def _charge_on(rows: Sequence[RatePeriod], day: date) -> float | None:
    start = local_day_bounds(day)[0]
    return half_hour_rates(rows, start, start + SLOT).get(start)


def _past_fields(past: PastFigures, today: MoneyTotals, exports: bool) -> dict[str, object]:
    """The state fields of the days before today (export figures null while the meter has
    never reported export; yesterday's null while the history has no reading of it)."""
    yesterday = past.yesterday
    month = MoneyTotals(
        past.month_before_today.import_kwh + today.import_kwh,
        past.month_before_today.export_kwh + today.export_kwh,
        past.month_before_today.import_cost_p + today.import_cost_p,
        past.month_before_today.export_value_p + today.export_value_p,
        past.month_before_today.read_slots + today.read_slots,
    )
    known_yesterday = yesterday.read_slots > 0
    known_month = month.read_slots > 0
    return {
        "import_kwh_yesterday": round(yesterday.import_kwh, 3) if known_yesterday else None,
        "export_kwh_yesterday": round(yesterday.export_kwh, 3)
        if known_yesterday and exports
        else None,
        "import_cost_yesterday": round(yesterday.import_cost_p, 2) if known_yesterday else None,
        "export_value_yesterday": round(yesterday.export_value_p, 2)
        if known_yesterday and exports
        else None,
        "import_kwh_month": round(month.import_kwh, 3) if known_month else None,
        "export_kwh_month": round(month.export_kwh, 3) if known_month and exports else None,
        "import_cost_month": round(month.import_cost_p, 2) if known_month else None,
        "export_value_month": round(month.export_value_p, 2) if known_month and exports else None,
        "bill_12m": past.bill_12m_p,
        "bill_12m_months": past.bill_12m_months,
        "bill_12m_from": past.bill_12m_from,
        "bill_12m_to": past.bill_12m_to,
    }
