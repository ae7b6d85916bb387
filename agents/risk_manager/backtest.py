"""Backtesting the Risk Manager's VaR: out-of-sample breaches and Kupiec's test.

Each day's VaR is computed from the previous ``window`` days only and compared with that
day's realised return; a good 99% VaR is breached on ~1% of days. Kupiec's proportion of
failures test says whether the breach rate is consistent with the level.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.stats import chi2


def kupiec_pvalue(breaches: int, days: int, level: float) -> float:
    """p-value of Kupiec's POF likelihood-ratio test (1 degree of freedom)."""
    p, x, n = 1 - level, breaches, days
    if n == 0:
        return float("nan")
    observed = x / n

    def log_likelihood(prob: float) -> float:
        out = 0.0
        if n - x:
            out += (n - x) * math.log(1 - prob) if prob < 1 else -math.inf
        if x:
            out += x * math.log(prob) if prob > 0 else -math.inf
        return out

    ratio = -2 * (log_likelihood(p) - log_likelihood(observed))
    return float(1 - chi2.cdf(max(ratio, 0.0), df=1))


def var_backtest(
    portfolio_returns: pd.Series, window: int = 500, levels: tuple[float, ...] = (0.95, 0.99)
) -> dict[str, float]:
    returns = portfolio_returns.dropna().to_numpy(dtype=float)
    if len(returns) <= window:
        raise ValueError(f"{len(returns)} days cannot backtest a {window}-day VaR")
    history = np.sort(sliding_window_view(returns[:-1], window), axis=1)  # days before each
    realised = returns[window:]
    out: dict[str, float] = {"days": float(len(realised))}
    for level in levels:
        k = max(1, math.ceil(round((1 - level) * window, 9)))
        var = -history[:, k - 1]
        breaches = int((realised < -var).sum())
        tag = f"{round(level * 100)}"
        out[f"var_{tag}_breach_rate"] = breaches / len(realised)
        out[f"var_{tag}_expected_rate"] = 1 - level
        out[f"var_{tag}_kupiec_pvalue"] = kupiec_pvalue(breaches, len(realised), level)
    return out
