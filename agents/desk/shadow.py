"""Shadow mode: a challenger runs beside the champion on the same snapshot, and what it would
have done is recorded in the ledger as a ``shadow_signals`` event. Nothing it produces is
sent to the consensus or the broker, and no state is folded from it.

The Market Analyst's challenger runs in shadow: its forecasts and votes on the cycle's own
features, next to the champion's, with the prices they are scored against at the next cycle
(``monitoring.live_evidence``); and, whenever the champion's target is set, the book its
views would have traded to and the orders to it, scored against the champion's book by what
each earned to the next one. The other agents' challengers run in shadow through
``agents.desk.shadow_agents``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from agents.desk.steps import Snapshot
from agents.market_analyst.agent import MarketAnalyst
from agents.messages import TradingSignal

EVENT = "shadow_signals"


@dataclass(frozen=True)
class ShadowAnalyst:
    """A Market Analyst challenger (its signal model) and its registry version."""

    analyst: MarketAnalyst
    version: str


def shadow_payload(
    snap: Snapshot,
    champion: list[TradingSignal],
    champion_version: str | None,
    shadow: ShadowAnalyst | None,
    views: list[TradingSignal] | None = None,
    books: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The champion's forecasts and votes with the prices they are scored against, and the
    challenger's beside them when one runs in shadow (``version`` None: none does), on the
    names with a price and a view; None when the cycle had no views. ``views``: the
    challenger's on this snapshot, when the caller has them already. ``books``: when the
    cycle set a new target, the champion's sized book and the one the challenger's views
    would have traded to, with its would-be orders (``would_be_book``)."""
    if not champion:
        return None
    ours = {v.symbol: v.expected_return for v in champion}
    theirs = votes = None
    if shadow is not None:
        views = views if views is not None else shadow.analyst.views(snap.features, snap.regime)
        theirs = {v.symbol: v.expected_return for v in views}
        votes = {v.symbol: v.signal for v in views}
    prices = snap.prices.to_dict()  # a dict: 500 lookups on the Series took about 3 ms
    names = [s for s in ours if (theirs is None or s in theirs)
             and np.isfinite(prices.get(s, np.nan))]  # fmt: skip
    return {
        "agent": "market_analyst",
        "version": shadow.version if shadow is not None else None,
        "champion_version": champion_version,
        "prices": {s: float(prices[s]) for s in names},
        "champion": {s: float(ours[s]) for s in names},
        "challenger": {s: float(theirs[s]) for s in names} if theirs is not None else None,
        # The analyst's vote on each name is its signal's direction.
        "champion_votes": {v.symbol: v.signal for v in champion},
        "challenger_votes": votes,
        "books": books,
    }


def would_be_book(
    snap: Snapshot, champion: pd.Series, challenger: pd.Series, scale: float
) -> dict[str, Any]:
    """Both shapes at the cycle's budget scale, and the orders (whole shares, signed) from
    the book before the cycle's trades to the challenger's: what it would have sent."""
    ours, theirs = champion * scale, challenger * scale
    prices = snap.prices
    delta = (theirs - snap.weights.reindex(theirs.index).fillna(0.0)) * snap.nav
    orders = {s: int(delta[s] / prices[s]) for s in delta.index
              if prices.get(s, 0) > 0 and int(delta[s] / prices[s])}  # fmt: skip
    return {
        "day": str(snap.day),
        "champion_weights": {s: float(w) for s, w in ours.items() if w},
        "challenger_weights": {s: float(w) for s, w in theirs.items() if w},
        "challenger_orders": orders,
    }
