"""The heavy kinds: the account (which tariffs are in force) and the tariffs' rates.

- ``account`` is read at most hourly: the agreements in force on each electricity meter
  point, the Home Mini's id, the billing period and the balance.
- ``tariffs`` asks each product (once per agreement) which rate endpoints its tariff
  has, then only for rates not yet known (they are kept in the store): at start, when
  the agreements change, and every few minutes from 16:00 UK time until tomorrow's
  prices up to 23:00 are found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from kraken_core.domain.product import (
    PRODUCT_GROUPS,
    GasMeterPoint,
    MeterPoint,
    RegisterGroup,
    night_window,
)
from kraken_core.domain.tariff import published_until
from kraken_core.domain.timeline import (
    LONDON,
    NightWindow,
    RatePeriod,
    day_night_rates,
    half_hour_rates,
    local_day,
    local_day_bounds,
    slot_start,
)
from kraken_core.engine.pollers import Pacing, Poller
from kraken_core.kraken.client import KrakenClient
from kraken_core.kraken.errors import KrakenError
from kraken_core.kraken.models import Account, Product, ProductLink, ProductTariff, RateRow
from kraken_core.store.db import Store

# The REST resources (developer.octopus.energy/rest; shared kraken/README.md, "Unit
# rates"), also the store's names for the rows; a product links each with ``rel`` spelt
# with underscores.
UNIT_RATES = "standard-unit-rates"
DAY_RATES = "day-unit-rates"
NIGHT_RATES = "night-unit-rates"
STANDING_CHARGES = "standing-charges"
UNIT_RATE_KINDS = (UNIT_RATES, DAY_RATES, NIGHT_RATES)
RATE_KINDS = (*UNIT_RATE_KINDS, STANDING_CHARGES)
RESOURCES: dict[RegisterGroup, tuple[str, ...]] = {
    RegisterGroup.SINGLE: (UNIT_RATES, STANDING_CHARGES),
    RegisterGroup.DAY_NIGHT: (DAY_RATES, NIGHT_RATES, STANDING_CHARGES),
    RegisterGroup.FOUR_RATE_EV: (DAY_RATES, NIGHT_RATES, STANDING_CHARGES),
}
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
        # Pence, Kraken's sign: positive is credit, negative is owed (kraken/models.py).
        self.balance_p: int | None = None

    def next_due(self, now: datetime) -> datetime:
        return self.pacing.jittered(now + self.pacing.settings.account_interval)

    async def poll(self, now: datetime) -> None:
        account = await self._client.account()
        self.billing_period_start = account.billing_period_start
        self.balance_p = account.balance_p
        self.meter_points = tuple(meter_points_in_force(account, now))
        self.gas_points = tuple(gas_points_in_force(account, now))

    def tariff_codes(self) -> set[str]:
        return {p.tariff_code for p in self.meter_points} | {p.tariff_code for p in self.gas_points}

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


class RatesMissing(KrakenError):
    """Octopus answered, but a rate endpoint the product links has nothing for now."""


class TariffPoller(Poller):
    """Unit rates and standing charges of the tariffs in force (electricity and gas),
    found through each product and fetched only when missing."""

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
        self._products: dict[str, Product] = {}  # by product code, until the agreements change
        self.entries: dict[str, ProductTariff] = {}  # by tariff code
        self.groups: dict[str, RegisterGroup] = {}  # by tariff code

    def rates_of(self, tariff_code: str, kind: str = UNIT_RATES) -> TariffRates:
        return self.rates.get((tariff_code, kind)) or TariffRates()

    def slots(self, tariff_code: str, window: tuple[datetime, datetime]) -> dict[datetime, float]:
        """The tariff's rate of every half-hour of ``window`` known so far, whatever shape
        its product publishes them in."""
        night = self._night(tariff_code)
        if night is None:
            return self.rates_of(tariff_code).slots_for(window)
        return day_night_rates(
            self.rates_of(tariff_code, DAY_RATES).rows,
            self.rates_of(tariff_code, NIGHT_RATES).rows,
            *window,
            night,
        )

    def _night(self, tariff_code: str) -> NightWindow | None:
        group = self.groups.get(tariff_code)
        if group in (None, RegisterGroup.SINGLE):
            return None
        point = next((p for p in self._account.meter_points if p.tariff_code == tariff_code), None)
        if point is None:
            return None
        return night_window(point, group, self.pacing.settings.economy7_meter)

    def forget_products(self) -> None:
        """The agreements changed: ask the products again (a new tariff, a new shape)."""
        self._products.clear()

    async def load_stored(self) -> None:
        """Rates the store kept for tariffs not yet in memory (after a start or a switch)."""
        for _, tariff_code in self._in_force():
            for kind in RATE_KINDS:
                if (tariff_code, kind) not in self.rates:
                    rows, known = await self._store.load_rates(tariff_code, kind)
                    self.rates[(tariff_code, kind)] = TariffRates(rows=rows, known=known)

    def _in_force(self) -> list[tuple[str, str]]:
        """(product code, tariff code) of every electricity and gas agreement in force."""
        electricity = [(p.product_code, p.tariff_code) for p in self._account.meter_points]
        gas = [(p.product_code, p.tariff_code) for p in self._account.gas_points]
        return list(dict.fromkeys([*electricity, *gas]))

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

    def retry_at(self, now: datetime, error: KrakenError) -> datetime:
        """Octopus answering with nothing to price now is not cured by asking every few
        minutes: look again with the account, hourly."""
        if isinstance(error, RatesMissing):
            return self.pacing.jittered(now + self.pacing.settings.account_interval)
        return super().retry_at(now, error)

    def tomorrow_known(self, now: datetime) -> bool:
        """Whether the linked unit rates of every tariff in force reach 23:00 UK time
        tomorrow (DESIGN.md)."""
        wanted = published_until(local_day(now) + timedelta(days=1))
        return all(
            rates.known is not None and rates.known[1] >= wanted
            for rates in self._linked_unit_rates()
        )

    def _linked_unit_rates(self) -> list[TariffRates]:
        """The unit rates of every tariff in force that its product links."""
        linked = []
        for _, tariff_code in self._in_force():
            entry, group = self.entries.get(tariff_code), self.groups.get(tariff_code)
            if entry is None or group is None:  # its product not read yet
                linked.append(self.rates_of(tariff_code, UNIT_RATES))
                continue
            linked += [
                self.rates_of(tariff_code, kind)
                for kind in RESOURCES[group]
                if kind in UNIT_RATE_KINDS and entry.link(kind.replace("-", "_"))
            ]
        return linked

    async def poll(self, now: datetime) -> None:
        window = rate_window(now)
        missing: list[str] = []
        for product_code, tariff_code in self._in_force():
            entry = await self._entry(product_code, tariff_code)
            empty: list[str] = []
            for kind in RESOURCES[self.groups[tariff_code]]:
                link = entry.link(kind.replace("-", "_"))
                if link is None:  # never ask what the product does not link
                    continue
                rates = self.rates.setdefault((tariff_code, kind), TariffRates())
                await self._fetch_missing(tariff_code, link, kind, rates, window)
                if kind in UNIT_RATE_KINDS and (rates.known is None or rates.known[1] <= now):
                    empty.append(kind)  # nothing from now on: an answer, but no prices
            if empty or slot_start(now) not in self.slots(tariff_code, window):
                missing.append(_missing_words(tariff_code, entry, empty))
        if missing:
            raise RatesMissing(" ".join(missing), operation="tariffs")

    async def _entry(self, product_code: str, tariff_code: str) -> ProductTariff:
        """The product's entry for ``tariff_code`` (the product asked once per agreement)."""
        product = self._products.get(product_code)
        if product is None:
            product = await self._client.product(product_code)
            self._products[product_code] = product
        found = product.find(tariff_code)
        if found is None:
            raise RatesMissing(
                f"Octopus's product {product_code} does not list tariff {tariff_code}, so the "
                "bridge cannot tell which rates it has; it asks again hourly.",
                operation="product",
            )
        group, entry = found
        self.entries[tariff_code], self.groups[tariff_code] = entry, PRODUCT_GROUPS[group]
        return entry

    async def _fetch_missing(
        self,
        tariff_code: str,
        link: ProductLink,
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
        answer = await self._client.linked_rates(link, fetch_from, want_to)
        rows = [_rate_period(row) for row in answer]
        if not rows:
            return
        rates.take(rows, (fetch_from, want_to))
        assert rates.known is not None
        await self._store.save_rates(tariff_code, kind, rows, *rates.known)


def _missing_words(tariff_code: str, entry: ProductTariff, empty: list[str]) -> str:
    if not any(entry.link(kind.replace("-", "_")) for kind in UNIT_RATE_KINDS):
        return (
            f"Octopus's product lists no unit rates for {tariff_code}, so the bridge cannot "
            "price it; it asks again hourly. Check the tariff in the Octopus app."
        )
    if empty:
        return (
            f"Octopus answered {' and '.join(empty)} for {tariff_code} with no rates from "
            "now on; the bridge asks again hourly."
        )
    return (
        f"Octopus's rates for {tariff_code} leave this half-hour unpriced; the bridge asks "
        "again hourly."
    )


def _rate_period(row: RateRow) -> RatePeriod:
    return RatePeriod(
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        value_inc_vat=row.value_inc_vat,
        payment_method=row.payment_method,
    )
