"""Kraken's REST rate resources (unit rates, standing charges) over scenario rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kraken_core.simulator.scenario import RateRow

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1500
_VAT = 1.05


def rest_time(when: datetime) -> str:
    """Kraken's REST time format: ``2026-03-10T12:00:00Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rest_time(value: str) -> datetime:
    """A ``period_from``/``period_to`` value; without an offset it is taken as UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def served_rows(
    rows: list[RateRow],
    now: datetime,
    period_from: datetime | None,
    period_to: datetime | None,
) -> list[RateRow]:
    """Published rows overlapping [period_from, period_to), newest first."""
    selected = [
        row
        for row in rows
        if (row.published_at is None or row.published_at <= now)
        and (period_to is None or row.valid_from < period_to)
        and (period_from is None or row.valid_to is None or row.valid_to > period_from)
    ]
    return sorted(selected, key=lambda row: row.valid_from, reverse=True)


def rest_row(row: RateRow) -> dict[str, Any]:
    """One ``results`` entry as Kraken serves it."""
    value_exc_vat = row.value_exc_vat
    if value_exc_vat is None:
        value_exc_vat = round(row.value_inc_vat / _VAT, 4)
    return {
        "value_exc_vat": value_exc_vat,
        "value_inc_vat": row.value_inc_vat,
        "valid_from": rest_time(row.valid_from),
        "valid_to": rest_time(row.valid_to) if row.valid_to is not None else None,
        "payment_method": row.payment_method,
    }


def rate_in_force(rows: list[RateRow], now: datetime) -> float | None:
    """The rate (inc. VAT) in force at ``now``: the DIRECT_DEBIT row, else the row with no
    payment method (Kraken README, "Unit rates": prefer DIRECT_DEBIT, fall back to null);
    None when neither covers ``now``."""
    in_force = [row for row in served_rows(rows, now, now, None) if row.valid_from <= now]
    for payment_method in ("DIRECT_DEBIT", None):
        row = next((row for row in in_force if row.payment_method == payment_method), None)
        if row is not None:
            return row.value_inc_vat
    return None
