"""The hedge's order in a cycle: sized on the book the cycle's approved orders leave (not on
the optimizer's target, which the consensus may not have approved), by the session's
``HedgeModel``. The hedge reduces the book's market risk, so it is the Risk Manager's
instruction rather than a trade the agents vote on; a halted or refused cycle sends none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.desk.models import DeskModels
from agents.desk.steps import Snapshot
from agents.messages import Order
from agents.risk_manager.hedge import HedgeModel, HedgeTarget


def hedge_instrument_of(
    models: DeskModels, feed_symbols: list[str], index_symbol: str | None
) -> str | None:
    """The instrument the hedge trades: the one the policy names, else the data's index;
    None when the hedge is off or the data have neither. A named instrument the data do not
    hold is an error, not a silent unhedged book."""
    policy = models.risk_limits.hedge
    if not policy.enabled:
        return None
    if policy.instrument is None:
        return index_symbol
    if policy.instrument not in feed_symbols:
        raise ValueError(
            f"hedge instrument {policy.instrument!r} is not in the market data "
            f"({len(feed_symbols)} symbols: {', '.join(feed_symbols[:10])}...); "
            "name one of them or switch the hedge off"
        )
    return policy.instrument


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
