"""The heavy kinds: the account (which tariffs are in force) and the tariffs' rates.

- ``account`` is read at most hourly: the agreements in force on each electricity meter
  point, the Home Mini's id and the billing period.
- ``tariffs`` asks only for rates not yet known (they are kept in the store): at start,
  when the agreements change, and every few minutes from 16:00 UK time until tomorrow's
  day-ahead prices are found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from kraken_core.domain.product import GasMeterPoint, MeterPoint
from kraken_core.domain.timeline import (
    LONDON,
    RatePeriod,
    half_hour_rates,
    local_day,
    local_day_bounds,
)
from kraken_core.engine.pollers import Pacing, Poller
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.models import Account, RateRow
from kraken_core.store.db import Store

UNIT_RATES = "standard-unit-rates"
STANDING_CHARGES = "standing-charges"
RATE_KINDS = (UNIT_RATES, STANDING_CHARGES)
PUBLICATION_WINDOW = timedelta(hours=4)  # day-ahead prices normally appear 16:00-20:00


def rate_window(now: datetime) -> tuple[datetime, datetime]:
    """The span of rates the engine keeps: today and tomorrow, London days."""
    today = local_day(now)
    return local_day_bounds(today)[0], local_day_bounds(today + timedelta(days=1))[1]


def meter_points_in_force(account: Account, now: datetime) -> list[MeterPoint]:
    """The electricity meter points with an agreement in force at ``now``."""
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
                direction="EXPORT" if wire_point.direction == "EXPORT" else "IMPORT",
                product_code=tariff.product_code,
                tariff_code=tariff.tariff_code,
                telemetry_device_id=telemetry_id,
                meter_type=next((m.meter_type for m in wire_point.meters if m.meter_type), None),
                tariff_typename=tariff.typename,
                ev_device_peak_rate=tariff.ev_device_peak_rate,
                ev_device_off_peak_rate=tariff.ev_device_off_peak_rate,
            )
        )
    return points


def gas_points_in_force(account: Account, now: datetime) -> list[GasMeterPoint]:
    """The gas meter points with an agreement in force at ``now``."""
    points: list[GasMeterPoint] = []
    for agreement in account.gas_agreements:
        if agreement.valid_from is not None and agreement.valid_from > now:
            continue
        if agreement.valid_to is not None and agreement.valid_to <= now:
            continue
        tariff = agreement.tariff
        wire_point = agreement.meter_point
        if tariff is None or not tariff.product_code or not tariff.tariff_code:
            continue
        if not wire_point.mprn:
            continue
        meter = next(iter(wire_point.meters), None)
        points.append(
            GasMeterPoint(
                mprn=wire_point.mprn,
                product_code=tariff.product_code,
                tariff_code=tariff.tariff_code,
                serial_number=meter.serial_number if meter is not None else None,
                telemetry_device_id=next(
                    (
                        m.smart_gas_meter.device_id
                        for m in wire_point.meters
                        if m.smart_gas_meter is not None and m.smart_gas_meter.device_id
                    ),
                    None,
                ),
            )
        )
    return points


class AccountPoller(Poller):
    """Which tariffs are in force, on which meter points, and the billing period."""

    def __init__(self, client: KrakenClient, pacing: Pacing, now: datetime) -> None:
        # The tariff in force rarely changes: a failing account read keeps the last
        # answer, and /health shows how old it is, rather than hiding the prices.
        super().__init__("account", "account details", pacing, now, stale_after=None)
        self._client = client
        self.meter_points: tuple[MeterPoint, ...] = ()
        self.gas_points: tuple[GasMeterPoint, ...] = ()
        self.billing_period_start: date | None = None

    def next_due(self, now: datetime) -> datetime:
        return self.pacing.jittered(now + self.pacing.settings.account_interval)

    async def poll(self, now: datetime) -> None:
        account = await self._client.account()
        self.billing_period_start = account.billing_period_start
        self.meter_points = tuple(meter_points_in_force(account, now))
        self.gas_points = tuple(gas_points_in_force(account, now))

    def tariff_codes(self) -> set[str]:
        return {p.tariff_code for p in self.meter_points}

    def telemetry_device_id(self) -> str | None:
        """The Home Mini on an import meter, if the account has one."""
        return next(
            (
                p.telemetry_device_id
                for p in self.meter_points
                if p.direction == "IMPORT" and p.telemetry_device_id
            ),
            None,
        )


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

    def take(self, rows: list[RatePeriod], fetched: tuple[datetime, datetime]) -> None:
        """Merge an answer for ``fetched`` (one row per start and payment method)."""
        fetch_from, want_to = fetched
        open_ended = any(row.valid_to is None for row in rows)
        known_until = (
            want_to
            if open_ended
            else min(want_to, max(row.valid_to for row in rows if row.valid_to is not None))
        )
        known_from = min(fetch_from, self.known[0]) if self.known else fetch_from
        self.rows = sorted(
            {(r.valid_from, r.payment_method): r for r in [*self.rows, *rows]}.values(),
            key=lambda r: r.valid_from,
        )
        self.known = (known_from, max(known_until, self.known[1]) if self.known else known_until)


class TariffPoller(Poller):
    """Unit rates and standing charges of the tariffs in force, fetched only when missing."""

    def __init__(
        self,
        client: KrakenClient,
        store: Store,
        pacing: Pacing,
        now: datetime,
        account: AccountPoller,
    ) -> None:
        # Stale when no rate covers the current half-hour: the tariff devices say so.
        super().__init__("tariffs", "unit rates", pacing, now, stale_after=None)
        self._client = client
        self._store = store
        self._account = account
        self.rates: dict[tuple[str, str], TariffRates] = {}

    def rates_of(self, tariff_code: str, kind: str = UNIT_RATES) -> TariffRates:
        return self.rates.get((tariff_code, kind)) or TariffRates()

    def slots(self, tariff_code: str, window: tuple[datetime, datetime]) -> dict[datetime, float]:
        return self.rates_of(tariff_code).slots_for(window)

    async def load_stored(self) -> None:
        """Rates the store kept for tariffs not yet in memory (after a start or a switch)."""
        for point in self._account.meter_points:
            for kind in RATE_KINDS:
                if (point.tariff_code, kind) not in self.rates:
                    rows, known = await self._store.load_rates(point.tariff_code, kind)
                    self.rates[(point.tariff_code, kind)] = TariffRates(rows=rows, known=known)

    def next_due(self, now: datetime) -> datetime:
        """Only while tomorrow's prices are missing and due, every few minutes."""
        settings = self.pacing.settings
        publication = datetime.combine(local_day(now), settings.publication_time, LONDON)
        if self.tomorrow_known(now):
            return self.pacing.jittered(publication + timedelta(days=1))
        if now >= publication + PUBLICATION_WINDOW:
            # Later than usual: keep looking, gently.
            return self.pacing.jittered(now + settings.account_interval / 2)
        if now >= publication:
            return self.pacing.jittered(now + settings.publication_poll)
        return self.pacing.jittered(publication)

    def tomorrow_known(self, now: datetime) -> bool:
        _, want_to = rate_window(now)
        return all(
            rates.known is not None and rates.known[1] >= want_to
            for (_, kind), rates in self.rates.items()
            if kind == UNIT_RATES
        )

    async def poll(self, now: datetime) -> None:
        window = rate_window(now)
        for point in self._account.meter_points:
            for kind in RATE_KINDS:
                rates = self.rates.setdefault((point.tariff_code, kind), TariffRates())
                await self._fetch_missing(point, kind, rates, window)

    async def _fetch_missing(
        self,
        point: MeterPoint,
        kind: str,
        rates: TariffRates,
        window: tuple[datetime, datetime],
    ) -> None:
        """Fetch only the part of ``window`` not already known."""
        want_from, want_to = window
        if rates.known is not None and rates.known[0] <= want_from:
            if rates.known[1] >= want_to:
                return
            fetch_from = max(rates.known[1], want_from)
        else:
            fetch_from = want_from
        fetch = self._client.unit_rates if kind == UNIT_RATES else self._client.standing_charges
        answer = await fetch(point.product_code, point.tariff_code, fetch_from, want_to)
        rows = [_rate_period(row) for row in answer]
        if not rows:
            return
        rates.take(rows, (fetch_from, want_to))
        assert rates.known is not None
        await self._store.save_rates(point.tariff_code, kind, rows, *rates.known)


def _rate_period(row: RateRow) -> RatePeriod:
    return RatePeriod(
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        value_inc_vat=row.value_inc_vat,
        payment_method=row.payment_method,
    )
