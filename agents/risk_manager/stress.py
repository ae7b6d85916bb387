"""Stress tests: the proposed weights held through the real crises in the data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Peak-to-trough windows of the S&P 500 in each crisis (dates from the index's own history).
CRISES = {
    "1998 LTCM and Russia": ("1998-07-17", "1998-10-08"),
    "2000-02 dot-com bust": ("2000-03-24", "2002-10-09"),
    "2008 financial crisis": ("2007-10-09", "2009-03-09"),
    "2020 COVID crash": ("2020-02-19", "2020-03-23"),
    "2022 inflation bear market": ("2022-01-03", "2022-10-12"),
}


@dataclass(frozen=True)
class StressResult:
    scenario: str
    start: str
    end: str
    portfolio_return: float  # buy-and-hold over the window
    index_return: float
    coverage: float  # share of the portfolio's weight with real prices in the window


def replay_crises(
    prices: pd.DataFrame,
    weights: pd.Series,
    index: pd.Series | None = None,
    crises: dict[str, tuple[str, str]] | None = None,
) -> list[StressResult]:
    """Hold ``weights`` (by symbol) through each crisis window present in ``prices`` (wide,
    by date). A symbol without prices in a window is proxied by the index (or counted as
    flat without one), and ``coverage`` says how much of the weight had real prices."""
    results = []
    for name, (start, end) in (crises or CRISES).items():
        window = prices.loc[start:end]
        if len(window) < 2:
            continue
        index_return = (
            float(index.loc[start:end].iloc[-1] / index.loc[start:end].iloc[0] - 1)
            if index is not None and len(index.loc[start:end]) >= 2
            else 0.0
        )
        total, covered = 0.0, 0.0
        for symbol, weight in weights.items():
            series = window[symbol].dropna() if symbol in window else pd.Series(dtype=float)
            full = len(series) >= 2 and series.index[0] == window.index[0]
            move = float(series.iloc[-1] / series.iloc[0] - 1) if full else index_return
            total += weight * move
            covered += abs(weight) if full else 0.0
        gross = float(np.abs(weights).sum()) or 1.0
        results.append(StressResult(name, start, end, total, index_return, covered / gross))
    return results
