"""Post-trade analysis from the ledger's fills: per schedule the execution agent chose, how
many orders, the share of ordered shares filled, and the implementation shortfall in bp,
weighted by each order's value. The backtest's report and the Prometheus metrics read it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any


def execution_by_schedule(fills: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``fills``: fill event payloads. An order's value is its ordered shares at its average
    fill price (an order that filled nothing counts in the fill rate only). Fills recorded
    before the choice existed traded VWAP."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0])
    for fill in fills:
        schedule = (fill.get("schedule") or {}).get("algorithm", "vwap")
        value = fill["ordered"] * (fill["average_price"] or 0.0)
        row = totals[schedule]
        row[0] += 1
        row[1] += fill["ordered"]
        row[2] += fill["quantity"]
        row[3] += fill["implementation_shortfall"] * value
        row[4] += value
    return {
        schedule: {
            "orders": int(orders),
            "fill_rate": filled / ordered if ordered else float("nan"),
            "implementation_shortfall_bps": shortfall / value * 1e4 if value else float("nan"),
        }
        for schedule, (orders, ordered, filled, shortfall, value) in sorted(totals.items())
    }
