"""The hedge's order in a cycle: sized on the book the cycle's approved orders leave (not on
the optimizer's target, which the consensus may not have approved), by the session's
``HedgeModel``. The hedge reduces the book's market risk, so it is the Risk Manager's
instruction rather than a trade the agents vote on; a halted or refused cycle sends none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.desk.steps import Snapshot
from agents.messages import Order
from agents.risk_manager.hedge import HedgeModel, HedgeTarget


def book_after(snap: Snapshot, orders: list[Order]) -> pd.Series:
    """The names' weights once ``orders`` fill at the decision prices (fractions of NAV)."""
    weights = snap.weights.copy()
    for order in orders:
        if order.symbol in weights.index:
            side = 1 if order.action == "BUY" else -1
            weights[order.symbol] += side * order.quantity * snap.prices[order.symbol] / snap.nav
    return weights


def hedge_order(
    snap: Snapshot, model: HedgeModel, orders: list[Order]
) -> tuple[HedgeTarget, Order | None]:
    """The hedge the book after ``orders`` needs, and the order that gets there (None when
    the gap is inside the band or the instrument has no price now)."""
    instrument = model.instrument
    current = snap.held_weight(instrument)
    target = model.target(book_after(snap, orders), current)
    price = float(snap.marks[instrument])
    if not target.trade or not np.isfinite(price) or price <= 0:
        return target, None
    quantity = int(abs(target.weight - current) * snap.nav // price)
    if quantity == 0:
        return target, None
    action = "BUY" if target.weight > current else "SELL"
    return target, Order(symbol=instrument, action=action, quantity=quantity)
