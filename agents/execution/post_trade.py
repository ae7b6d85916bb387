"""Post-trade analysis from the ledger's fills: per schedule the execution agent chose, how
many orders, the share of ordered shares filled, the implementation shortfall in bp
(weighted by each order's value, and its 95th percentile across orders) and the mean
participation; per SIMULATED venue, how its child orders fared; and every schedule's
shortfall on the same orders, from the counterfactuals a backtest's fills record. The
backtest's report and the Prometheus metrics read it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np


def execution_by_schedule(fills: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``fills``: fill event payloads. An order's value is its ordered shares at its average
    fill price (an order that filled nothing counts in the fill rate only). Fills recorded
    before the choice existed traded VWAP."""
    by_schedule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fill in fills:
        by_schedule[(fill.get("schedule") or {}).get("algorithm", "vwap")].append(fill)
    out = {}
    for schedule, rows in sorted(by_schedule.items()):
        ordered = sum(f["ordered"] for f in rows)
        filled = sum(f["quantity"] for f in rows)
        value = np.array([f["ordered"] * (f["average_price"] or 0.0) for f in rows])
        shortfall = np.array([f["implementation_shortfall"] for f in rows])
        traded = value > 0
        participation = [f["participation"] for f in rows if f.get("participation") is not None]
        out[schedule] = {
            "orders": len(rows),
            "fill_rate": filled / ordered if ordered else float("nan"),
            "implementation_shortfall_bps": float(shortfall @ value / value.sum() * 1e4)
            if value.sum()
            else float("nan"),
            "implementation_shortfall_bps_p95": float(np.percentile(shortfall[traded], 95) * 1e4)
            if traded.any()
            else float("nan"),
            "mean_participation": float(np.mean(participation)) if participation else float("nan"),
        }
    return out


def venue_statistics(fills: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per venue: the child orders routed there, their share of all children, and the share
    that filled there (the rest were re-sent to the lit market)."""
    routed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for fill in fills:
        for _, venue, filled in fill.get("children") or ():
            routed[venue][0] += 1
            routed[venue][1] += int(filled)
    total = sum(n for n, _ in routed.values())
    return {
        "simulated": "venues are SIMULATED: the data have none",
        "children": total,
        "venues": {
            venue: {"children": n, "share_of_children": n / total, "filled_there": hits / n}
            for venue, (n, hits) in sorted(routed.items())
        },
    }


def schedule_comparison(fills: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Mean and 95th-percentile shortfall in bp of every schedule on the same orders: the
    orders whose fills record counterfactuals for each of the schedules all of them have,
    and what the desk actually traded on those orders."""
    rows = [f for f in fills if f.get("counterfactual_bp") and f["quantity"] > 0]
    if not rows:
        return {"orders": 0}
    names = sorted(set.intersection(*(set(f["counterfactual_bp"]) for f in rows)))
    values = {n: np.array([f["counterfactual_bp"][n] for f in rows]) for n in names}
    values["traded"] = np.array([f["implementation_shortfall"] * 1e4 for f in rows])
    classical = [n for n in names if n != "rl"]
    return {
        "orders": len(rows),
        "mean_bp": {n: float(v.mean()) for n, v in values.items()},
        "p95_bp": {n: float(np.percentile(v, 95)) for n, v in values.items()},
        "best_classical": min(classical, key=lambda n: values[n].mean()) if classical else None,
    }
