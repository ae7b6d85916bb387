"""Prometheus exposition of the desk's metrics, read from the ledger at every scrape.

The ledger is the only source: whichever process traded (a Dagster run, the schedule, a
benchmark), a scrape sees the same numbers a rebuild would. Metrics, as the design names them:

- ``quorum_trades_executed_total``: fills recorded;
- ``quorum_decision_latency_seconds``: histogram of the desk's compute time per cycle;
- ``quorum_pnl_dollars``: NAV at the last cycle's bar close minus the capital paid in;
- ``quorum_active_positions``: symbols held after the last cycle;
- ``quorum_execution_orders``, ``quorum_execution_fill_rate``,
  ``quorum_implementation_shortfall_bp``: per schedule the execution agent chose
  (``agents.execution.post_trade``).

Served on 127.0.0.1 only: ``python -m monitoring.metrics`` (``make metrics``).
No Dagster import.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from agents.desk.ledger import EventLog, open_event_log
from agents.desk.state import current
from agents.execution.post_trade import execution_by_schedule, venue_statistics
from features.settings import load_settings

LATENCY_BUCKETS_SECONDS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LedgerCollector(Collector):
    """Builds every metric from the ledger on each scrape (``open_log`` per scrape, so a
    DuckDB ledger is held only while it is read)."""

    def __init__(self, open_log: Callable[[], EventLog]) -> None:
        self.open_log = open_log

    def collect(self) -> Iterator:
        log = self.open_log()
        try:
            fills = log.read(event_types=["fill"])
            cycles = log.read(event_types=["cycle_completed"])
            state = current(log)
        finally:
            log.close()
        trades = CounterMetricFamily(
            "quorum_trades_executed", "Fills recorded in the ledger.", labels=["side"]
        )
        for side in ("buy", "sell"):
            count = sum(1 for f in fills if (f.payload["signed_quantity"] > 0) == (side == "buy"))
            trades.add_metric([side], count)
        yield trades

        timed = [e.payload.get("latency_ms") for e in cycles]
        latencies = [ms / 1000 for ms in timed if ms is not None]
        buckets = []
        for bound in LATENCY_BUCKETS_SECONDS:
            total = sum(1 for v in latencies if v <= bound)
            buckets.append((str(bound), total))
        buckets.append(("+Inf", len(latencies)))
        yield HistogramMetricFamily(
            "quorum_decision_latency_seconds",
            "The desk's compute time per decision cycle (online read through orders).",
            buckets=buckets,
            sum_value=sum(latencies),
        )

        nav = cycles[-1].payload["nav_at_bar_close"] if cycles else state.capital_cents / 100
        pnl = GaugeMetricFamily(
            "quorum_pnl_dollars", "NAV at the last cycle's bar close minus capital paid in."
        )
        pnl.add_metric([], float(nav) - state.capital_cents / 100)
        yield pnl
        positions = GaugeMetricFamily("quorum_active_positions", "Symbols held.")
        positions.add_metric([], len(state.positions))
        yield positions
        yield from execution_metrics([f.payload for f in fills])


def execution_metrics(fills: list[dict]) -> Iterator:
    """Post-trade, per schedule: orders, share of ordered shares filled, shortfall (bp),
    participation; per SIMULATED venue: child orders and the share that filled there."""
    families = {
        "orders": CounterMetricFamily("quorum_execution_orders", "Orders traded, by "
                                      "schedule.", labels=["schedule"]),
        "fill_rate": GaugeMetricFamily("quorum_execution_fill_rate", "Shares filled over "
                                       "shares ordered, by schedule.", labels=["schedule"]),
        "implementation_shortfall_bps": GaugeMetricFamily(
            "quorum_implementation_shortfall_bp", "Value-weighted implementation shortfall "
            "against the decision price, by schedule.", labels=["schedule"]),
        "mean_participation": GaugeMetricFamily(
            "quorum_execution_participation", "Mean share of the bar's volume an order "
            "filled, by schedule.", labels=["schedule"]),
    }  # fmt: skip
    for schedule, figures in execution_by_schedule(fills).items():
        for name, family in families.items():
            family.add_metric([schedule], figures[name])
    yield from families.values()
    children = CounterMetricFamily("quorum_venue_child_orders", "Child orders routed to "
                                   "each SIMULATED venue.", labels=["venue"])  # fmt: skip
    filled = GaugeMetricFamily("quorum_venue_fill_ratio", "Share of a SIMULATED venue's child "
                               "orders that filled there.", labels=["venue"])  # fmt: skip
    for venue, figures in venue_statistics(fills)["venues"].items():
        children.add_metric([venue], figures["children"])
        filled.add_metric([venue], figures["filled_there"])
    yield from (children, filled)


def registry_for(ledger_url: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(LedgerCollector(lambda: open_event_log(ledger_url)))
    return registry


def serve(ledger_url: str, port: int, host: str = "127.0.0.1"):
    """Starts the exposition thread; returns (server, thread)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"metrics are served on the loopback interface only, not {host!r}")
    return start_http_server(port, addr=host, registry=registry_for(ledger_url))


def main() -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=settings.metrics_port)
    parser.add_argument("--ledger", default=settings.ledger_url)
    args = parser.parse_args()
    serve(args.ledger, args.port)
    print(f"Prometheus metrics on http://127.0.0.1:{args.port}/metrics from {args.ledger}")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
