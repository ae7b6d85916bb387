"""What each agent's votes, and the risk manager's vetoes, added or cost, read from the
ledger's decisions and the closes that followed them.

For every proposed trade (a symbol and a direction) of a decision, its outcome is the
direction times the symbol's close-to-close return from the decision's session to the next
decision's session: positive when the trade, had it been made, would have paid.

- An agent's votes: its consensus weight times its support for the trade (-1 opposes, +1
  backs) times the outcome, summed over every trade it voted on and averaged per decision
  (in basis points of a unit trade). Positive: its votes leaned the desk the right way.
- The veto: minus the outcome of every trade it blocked, averaged per blocked trade.
  Positive: the blocked trades would have lost.

These score the votes, not the sizes: a unit trade per symbol, so a many-symbol decision
counts more than a one-symbol one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.desk.ledger import EventLog

TRADE_COLUMNS = {"day", "symbol", "direction", "outcome", "vetoed"}


def trade_outcomes(log: EventLog, closes: pd.DataFrame) -> pd.DataFrame:
    """One row per proposed trade: decision day, symbol, direction, outcome, each agent's
    weighted support, and whether the veto blocked it."""
    decisions = [e for e in log.read(event_types=["decision"]) if e.payload.get("votes")]
    days = [pd.Timestamp(e.market_time.date()) for e in decisions]
    rows = []
    for i, event in enumerate(decisions):
        if i + 1 >= len(decisions):
            break  # the last decision has no next one to measure to
        start, end = days[i], days[i + 1]
        p = event.payload
        blocked = set(p["blocked_by_veto"])
        for symbol, direction in p["directions"].items():
            if symbol not in closes.columns:
                continue
            before, after = closes.at[start, symbol], closes.at[end, symbol]
            if not (np.isfinite(before) and np.isfinite(after)) or before <= 0:
                continue
            row = {
                "day": start,
                "symbol": symbol,
                "direction": direction,
                "outcome": direction * (after / before - 1.0),
                "vetoed": symbol in blocked,
            }
            for agent, votes in p["votes"].items():
                weight = p["agent_weights"].get(agent, 0.0)
                row[agent] = weight * votes.get(symbol, 0.0)
            rows.append(row)
    return pd.DataFrame(rows)


def agent_attribution(log: EventLog, closes: pd.DataFrame) -> dict:
    trades = trade_outcomes(log, closes)
    if trades.empty:
        return {"trades_scored": 0}
    agents = [c for c in trades.columns if c not in TRADE_COLUMNS]
    per_decision = trades["day"].nunique()
    out: dict = {"trades_scored": len(trades), "decisions_scored": per_decision}
    for agent in agents:
        contribution = trades[agent] * trades["outcome"]
        voted = trades[agent] != 0
        out[agent] = {
            "votes_added_bps_per_decision": float(contribution.sum() / per_decision * 1e4),
            "vote_hit_rate": float((contribution[voted] > 0).mean()) if voted.any() else None,
        }
    blocked = trades[trades["vetoed"]]
    out["risk_veto"] = {
        "blocked_trades": len(blocked),
        "saved_bps_per_blocked_trade": float(-blocked["outcome"].mean() * 1e4)
        if len(blocked)
        else None,
    }
    return out
