"""Shadow mode: a challenger runs beside the champion on the same snapshot, and what it would
have done is recorded in the ledger as a ``shadow_signals`` event. Nothing it produces is
sent to the consensus or the broker, and no state is folded from it.

Today the Market Analyst's challenger runs in shadow: its forecasts on the cycle's own
features, next to the champion's, with the prices they are scored against at the next cycle
(``monitoring.live_evidence``). The other agents' challengers do not run in shadow yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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
) -> dict[str, Any] | None:
    """The champion's forecasts with the prices they are scored against, and the
    challenger's beside them when one runs in shadow (``version`` None: none does), on the
    names with a price and a view; None when the cycle had no views."""
    if not champion:
        return None
    ours = {v.symbol: v.expected_return for v in champion}
    theirs = None
    if shadow is not None:
        views = shadow.analyst.views(snap.features, snap.regime)
        theirs = {v.symbol: v.expected_return for v in views}
    prices = snap.prices
    names = [s for s in ours if (theirs is None or s in theirs)
             and np.isfinite(prices.get(s, np.nan))]  # fmt: skip
    return {
        "agent": "market_analyst",
        "version": shadow.version if shadow is not None else None,
        "champion_version": champion_version,
        "prices": {s: float(prices[s]) for s in names},
        "champion": {s: float(ours[s]) for s in names},
        "challenger": {s: float(theirs[s]) for s in names} if theirs is not None else None,
    }
