"""``GET /metrics``: device state and the request budget in Prometheus text format."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kraken_core.api.models import Budget, DeviceView

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # gauge | counter
    help: str
    field: str = ""  # the device state field it reads


# Which state fields become series; every device that has the field gets one.
STATE_METRICS = (
    Metric("kraken_unit_rate_pence", "gauge", "Effective unit rate now (p/kWh)", "unit_rate"),
    Metric(
        "kraken_tariff_unit_rate_pence",
        "gauge",
        "Scheduled unit rate now (p/kWh)",
        "tariff_unit_rate",
    ),
    Metric("kraken_next_unit_rate_pence", "gauge", "Unit rate of the next slot", "next_unit_rate"),
    Metric(
        "kraken_price_quadrant", "gauge", "Price quadrant now (0 cheapest - 3)", "price_quadrant"
    ),
    Metric("kraken_standing_charge_pence", "gauge", "Standing charge (p/day)", "standing_charge"),
    Metric("kraken_power_watts", "gauge", "Grid power (import +, export -)", "power_w"),
    Metric("kraken_import_kwh_total", "counter", "Import meter register (kWh)", "import_kwh_total"),
    Metric("kraken_export_kwh_total", "counter", "Export meter register (kWh)", "export_kwh_total"),
    Metric("kraken_import_kwh_today", "gauge", "Imported today (kWh)", "import_kwh_today"),
    Metric("kraken_export_kwh_today", "gauge", "Exported today (kWh)", "export_kwh_today"),
    Metric("kraken_import_cost_today_pence", "gauge", "Import cost today", "import_cost_today"),
    Metric("kraken_export_value_today_pence", "gauge", "Export value today", "export_value_today"),
    Metric("kraken_projected_bill_pence", "gauge", "Projected bill", "projected_bill"),
    Metric(
        "kraken_tariff_efficiency_percent",
        "gauge",
        "Tariff efficiency today (score / 3)",
        "tariff_efficiency_today",
    ),
    Metric("kraken_gas_kwh_total", "counter", "Gas meter register (kWh)", "gas_kwh_total"),
    Metric("kraken_gas_m3_total", "counter", "Gas meter register (m³)", "gas_m3_total"),
    Metric("kraken_gas_kwh_today", "gauge", "Gas used today (kWh)", "gas_kwh_today"),
    Metric("kraken_gas_cost_today_pence", "gauge", "Gas cost today (unit rate)", "gas_cost_today"),
    Metric("kraken_dispatching", "gauge", "A smart dispatch covers now (1/0)", "dispatching"),
    Metric("kraken_boosting", "gauge", "Boost charging now (1/0)", "boosting"),
    Metric("kraken_octoplus_points", "gauge", "OctoPoints balance", "octoplus_points"),
    Metric(
        "kraken_saving_session_active",
        "gauge",
        "A saving session for the household is on (1/0)",
        "saving_session_active",
    ),
    Metric("kraken_power_up_active", "gauge", "A power-up is on (1/0)", "power_up_active"),
)
AVAILABLE = Metric("kraken_device_available", "gauge", "Device has current data (1/0)")
BUDGET_LIMIT = Metric("kraken_request_budget_limit", "gauge", "Kraken requests allowed per window")
BUDGET_REMAINING = Metric(
    "kraken_request_budget_remaining", "gauge", "Kraken requests left in the window"
)
REQUESTS_SENT = Metric("kraken_requests_sent_total", "counter", "Kraken requests sent")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, metric: Metric, samples: Iterable[tuple[Mapping[str, str], float]]) -> None:
        rows = list(samples)
        if not rows:
            return
        self.lines.append(f"# HELP {metric.name} {metric.help}")
        self.lines.append(f"# TYPE {metric.name} {metric.type}")
        for labels, value in rows:
            text = ",".join(f'{key}="{_label(val)}"' for key, val in labels.items())
            self.lines.append(f"{metric.name}{{{text}}} {value:g}")


def render_metrics(devices: Iterable[DeviceView], budget: Budget) -> str:
    records = list(devices)
    out = _Writer()
    for metric in STATE_METRICS:
        out.family(
            metric,
            (
                ({"device": r.id, "kind": r.kind}, number)
                for r in records
                if (number := _number(r.state.get(metric.field))) is not None
            ),
        )
    out.family(AVAILABLE, (({"device": r.id, "kind": r.kind}, float(r.available)) for r in records))
    lines = budget.operations
    out.family(BUDGET_LIMIT, (({"operation": s.operation}, float(s.limit)) for s in lines))
    out.family(BUDGET_REMAINING, (({"operation": s.operation}, float(s.remaining)) for s in lines))
    sent = sorted(budget.requests_sent.items())
    out.family(REQUESTS_SENT, (({"operation": op}, float(count)) for op, count in sent))
    return "\n".join(out.lines) + "\n"
