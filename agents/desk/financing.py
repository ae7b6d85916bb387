"""A short's financing, booked in the ledger when a session opens.

A short position (today: the hedge) pays ``rate_annual`` on its notional at every close it
was held: the closes from the last session the desk opened up to the previous close. The
desk's positions change only during its cycles, so every one of those closes was held with
the position it holds now. The charge is computed from the recorded closes, rounded to
cents once, and stored in the event, so every projection of the ledger agrees to the cent.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from agents.risk_manager.budget import TRADING_DAYS


def financing_payload(
    positions: dict[str, int],
    history: pd.DataFrame,
    since: str | None,
    day: date,
    rate_annual: float,
) -> dict[str, Any] | None:
    """The ``financing`` event for the closes in [``since``, ``day``) of ``history`` (daily
    closes before ``day``), or None when no short was held or nothing is owed."""
    shorts = {s: q for s, q in positions.items() if q < 0}
    if not shorts or since is None or rate_annual <= 0:
        return None
    # The feed's history is dated already: converting it again cost 17 ms a session open,
    # most of it pandas sampling the index to decide whether to cache the conversion.
    days = history.index
    if not isinstance(days, pd.DatetimeIndex):
        days = pd.to_datetime(days)
    closes = history.loc[days >= pd.Timestamp(since)]
    if closes.empty:
        return None
    by_symbol, total = {}, 0.0
    for symbol, quantity in sorted(shorts.items()):
        marks = closes[symbol].ffill().to_numpy(dtype=float)
        marks = marks[np.isfinite(marks)]
        notional = float(-quantity * marks.sum())  # dollar-closes held short
        owed = notional * rate_annual / TRADING_DAYS
        by_symbol[symbol] = {
            "shares": int(quantity),
            "closes": len(marks),
            "notional_usd_closes": notional,
            "owed_usd": owed,
        }
        total += owed
    cents = round(total * 100)
    if cents == 0:
        return None
    return {
        "day": str(day),
        "since": since,
        "rate_annual": rate_annual,
        "shorts": by_symbol,
        "cash_delta_cents": -cents,
    }
