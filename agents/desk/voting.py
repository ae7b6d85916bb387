"""The ballot the four agents vote on, and the orders a consensus approves."""

from __future__ import annotations

import numpy as np

from agents.consensus.engine import Ballot, Decision
from agents.consensus.votes import (
    analyst_support,
    execution_support,
    optimizer_support,
    risk_support,
)
from agents.desk.steps import ExecutionPlan, Snapshot
from agents.messages import Order, TradingSignal


def ballot_for(
    snap: Snapshot,
    signals: list[TradingSignal],
    conviction: float,
    var_headroom: float,
    plan: ExecutionPlan,
    cost_budget: float,
) -> Ballot:
    """Each agent's support for each planned trade (a sale of a long, or a purchase that
    covers a short, reduces risk): the analyst's from its signals, the optimizer's from its
    conviction, the risk manager's from the VaR headroom, the execution agent's from the
    costs."""
    reduces = np.array([
        snap.weights[s] * d < 0 for s, d in zip(plan.symbols, plan.direction, strict=True)
    ], dtype=bool)  # fmt: skip
    return Ballot(
        symbols=plan.symbols,
        direction=plan.direction,
        reduces_position=reduces,
        support={
            "market_analyst": analyst_support(
                {s.symbol: s for s in signals}, plan.symbols, plan.direction
            ),
            "risk_manager": risk_support(reduces, var_headroom),
            "portfolio_optimizer": optimizer_support(len(plan.symbols), conviction),
            "execution_agent": execution_support(plan.expected_cost, cost_budget),
        },
    )


def approved_orders(plan: ExecutionPlan, consensus: Decision) -> list[Order]:
    """The approved trades at the size the consensus gave them, in whole shares."""
    sizes = consensus.size if consensus.size is not None else consensus.approved.astype(float)
    orders = []
    for symbol, direction, shares, ok, size in zip(
        plan.symbols, plan.direction, plan.shares, consensus.approved, sizes, strict=True
    ):
        quantity = int(shares * size)
        if ok and quantity > 0:
            orders.append(
                Order(symbol=symbol, action="BUY" if direction > 0 else "SELL", quantity=quantity)
            )
    return orders


def flatten_orders(snap: Snapshot) -> list[Order]:
    """Close every position: sell the names, buy back a short hedge (the breakers' flatten
    policy)."""
    return reduce_orders(snap, 0.0)


def reduce_orders(snap: Snapshot, keep: float) -> list[Order]:
    """Cut every position to ``keep`` (in [0, 1]) of its shares, shorts too (the breakers'
    reduce policy); whole shares, rounded toward closing."""
    keep = min(max(keep, 0.0), 1.0)
    orders = []
    for symbol, held in sorted(snap.state.positions.items()):
        price = snap.marks.get(symbol, np.nan) if snap.marks is not None else np.nan
        close = abs(held) - int(abs(held) * keep)
        if held and close > 0 and np.isfinite(price):
            action = "SELL" if held > 0 else "BUY"
            orders.append(Order(symbol=symbol, action=action, quantity=close, urgency="HIGH"))
    return orders
