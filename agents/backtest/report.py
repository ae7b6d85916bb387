"""The backtest's results: the desk and the four benchmarks on the same days with the same
costs, measured over the whole period and, apart, over the held-out years.

The desk's trading costs are what its paper broker charged (commission, and the execution
agent's implementation shortfall against each decision price, which holds the spread and the
market impact); the benchmarks pay the same commission, spread and impact model through
``simulate``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.backtest.attribution import agent_attribution
from agents.backtest.benchmarks import buy_and_hold, monthly_targets
from agents.backtest.desk_run import DeskRun
from agents.backtest.metrics import performance, period_masks
from agents.backtest.simulation import simulate
from agents.desk.ledger import EventLog
from agents.execution.post_trade import (
    execution_by_schedule,
    schedule_comparison,
    venue_statistics,
)

BENCHMARKS = ("equal_weight", "inverse_volatility", "minimum_variance")
# The design document's success metrics, out of sample and net of costs.
DESIGN_SHARPE_ABOVE = 1.5
DESIGN_MAX_DRAWDOWN_BELOW = 0.10
NOTES = [
    "risk-free rate taken as 0 in Sharpe and Sortino",
    "intraday bars are synthesized (Brownian bridge through each day's real OHLC); the desk "
    "trades at its decision session's opening bar",
    "costs: commission per share, the half spread and the Almgren et al. impact model, for "
    "the desk through its paper broker and for the benchmarks through the same models",
]


@dataclass(frozen=True)
class Strategy:
    name: str
    returns: pd.Series
    turnover: pd.Series
    costs: pd.Series
    extra: dict


def execution_analysis(log: EventLog, rl_trained_through: str | None) -> dict[str, Any]:
    """Post-trade (``agents.execution.post_trade``): per schedule chosen, per SIMULATED
    venue, and every schedule on the same orders; the RL scheduler is compared only on
    orders after its last training session (``rl_trained_through``), which it never saw."""
    events = log.read(event_types=["fill"])
    fills = [e.payload for e in events]
    unseen = [
        e.payload
        for e in events
        if rl_trained_through is None or str(e.market_time.date()) > rl_trained_through
    ]
    classical = [{**f, "counterfactual_bp": {k: v for k, v in f["counterfactual_bp"].items()
                                             if k != "rl"}}
                 for f in fills if f.get("counterfactual_bp")]  # fmt: skip
    compared_rl = any("rl" in f["counterfactual_bp"] for f in unseen
                      if f.get("counterfactual_bp"))  # fmt: skip
    return {
        "execution_by_schedule": execution_by_schedule(fills),
        "execution_venues": venue_statistics(fills),
        "schedules_on_the_same_orders": {
            "classical_on_every_order": schedule_comparison(classical),
            # None: no RL scheduler was registered to compare (make run trains one).
            "with_rl_on_orders_it_never_saw": schedule_comparison(unseen) if compared_rl else None,
            "rl_trained_through": rl_trained_through,
        },
    }


def desk_strategy(
    run: DeskRun, log: EventLog, closes: pd.DataFrame, rl_trained_through: str | None = None
) -> Strategy:
    """The desk's daily returns, turnover and costs from its ledger, the post-trade
    analysis (``execution_analysis``), and what each agent's votes and the veto added
    (``agent_attribution``)."""
    nav, fills = run.nav, run.fills[["day", "notional", "commission", "shortfall"]]
    daily = fills.groupby("day").sum().reindex(nav.index, fill_value=0.0)
    previous = nav.shift(1).fillna(nav.iloc[0])
    traded = float(fills["notional"].sum())
    shortfall_bps = float(fills["shortfall"].sum()) / traded * 1e4 if traded else float("nan")
    return Strategy(
        "desk",
        nav.pct_change().fillna(0.0),
        daily["notional"] / previous / 2.0,
        (daily["commission"] + daily["shortfall"]) / previous,
        {
            "implementation_shortfall_bps": shortfall_bps,
            **execution_analysis(log, rl_trained_through),
            "cycles": len(run.cycles),
            "orders": int(sum(c.orders for c in run.cycles)),
            "halted_cycles": int(sum(c.halted for c in run.cycles)),
            "refused_cycles": int(sum(c.refused is not None for c in run.cycles)),
            "attribution": agent_attribution(log, closes),
        },
    )


def benchmark_strategies(
    closes: pd.DataFrame, symbols: list[str], index_symbol: str | None, days: pd.DatetimeIndex
) -> list[Strategy]:
    """The benchmarks from the desk's first day, on the desk's days only."""
    first = days[0]
    history = closes.loc[: days[-1]]
    plans = {name: monthly_targets(history, symbols, name, first) for name in BENCHMARKS}
    if index_symbol is not None:
        plans = {"index_buy_and_hold": buy_and_hold(history, index_symbol, first), **plans}
    out = []
    for name, targets in plans.items():
        sim = simulate(targets, history)
        out.append(
            Strategy(
                name,
                sim.returns.reindex(days).fillna(0.0),
                sim.turnover.reindex(days).fillna(0.0),
                sim.costs.reindex(days).fillna(0.0),
                {"rebalances": len(targets)},
            )
        )
    return out


def measure(strategy: Strategy, holdout_start: str | None) -> dict:
    """Metrics over the whole period and, when it falls inside, before and after
    ``holdout_start``."""

    s = strategy
    out = {
        period: performance(s.returns[mask], turnover=s.turnover[mask], costs=s.costs[mask])
        for period, mask in period_masks(s.returns.index, holdout_start).items()
    }
    return {"full": out.pop("full"), **s.extra, **out}


def agent_weights(log: EventLog) -> pd.DataFrame:
    """The consensus weights each agent held over time (they adapt to its record)."""
    rows = {
        pd.Timestamp(e.market_time): e.payload["weights"]
        for e in log.read(event_types=["agents_scored"])
    }
    return pd.DataFrame(rows).T.sort_index() if rows else pd.DataFrame()


def summary(
    strategies: list[Strategy],
    *,
    universe: dict,
    walk_forward: dict,
    holdout_start: str | None,
) -> dict:
    days = strategies[0].returns.index
    return {
        "period": {
            "start": str(days[0].date()),
            "end": str(days[-1].date()),
            "sessions": len(days),
            "holdout_start": holdout_start,
        },
        "universe": universe,
        "walk_forward": walk_forward,
        "strategies": (measured := {s.name: measure(s, holdout_start) for s in strategies}),
        "design_success": design_success(measured),
        "notes": NOTES,
    }


def design_success(measured: dict[str, dict]) -> dict[str, dict]:
    """Per period, the desk against the design's bar (Sharpe above 1.5, maximum drawdown
    below 10%, net of costs), ``met`` for each and both, how far it is, and whether its
    Sharpe is above every benchmark's on the same days."""
    desk = measured["desk"]
    out = {}
    for period in ("full", "before_holdout", "holdout"):
        if period not in desk:
            continue
        sharpe, drawdown = desk[period]["sharpe"], desk[period]["max_drawdown"]
        others = {n: m[period]["sharpe"] for n, m in measured.items() if n != "desk"}
        out[period] = {
            "start": desk[period]["start"],
            "end": desk[period]["end"],
            "sharpe": sharpe,
            "sharpe_target": DESIGN_SHARPE_ABOVE,
            "sharpe_met": bool(sharpe > DESIGN_SHARPE_ABOVE),
            "sharpe_short_by": max(0.0, DESIGN_SHARPE_ABOVE - sharpe),
            "max_drawdown": drawdown,
            "max_drawdown_target": DESIGN_MAX_DRAWDOWN_BELOW,
            "max_drawdown_met": bool(drawdown < DESIGN_MAX_DRAWDOWN_BELOW),
            "max_drawdown_over_by": max(0.0, drawdown - DESIGN_MAX_DRAWDOWN_BELOW),
            "met": bool(sharpe > DESIGN_SHARPE_ABOVE and drawdown < DESIGN_MAX_DRAWDOWN_BELOW),
            "sharpe_above_every_benchmark": bool(others)
            and all(sharpe > v for v in others.values()),
            "best_benchmark_sharpe": max(others.values()) if others else None,
        }
    return out


def write_summary(path: Path, content: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, default=_json_default))
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
