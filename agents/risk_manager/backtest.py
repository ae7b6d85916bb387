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

from agents.risk_manager.budget import ewma_weights


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


# The Basel Committee's traffic light for a 99% VaR backtested on 250 days (1996, still the
# rule in the FRTB): 0-4 breaches green, 5-9 yellow, 10 or more red (the model is judged
# inaccurate and is not used). A proportion test over decades rejects any real model's
# small miscalibration; this rule asks whether the VaR is usable today.
BASEL_WINDOW_DAYS = 250
BASEL_RED_BREACHES = 10


def student_t_unit_quantile(level: float, degrees_of_freedom: float = 5.0) -> float:
    """The ``level`` quantile of a Student-t scaled to unit variance: the Risk Manager's
    forecast VaR is this many EWMA standard deviations."""
    from scipy.stats import t

    df = degrees_of_freedom
    return float(t.ppf(level, df) * ((df - 2) / df) ** 0.5)


def forecast_var_backtest(
    portfolio_returns: pd.Series,
    decay: float,
    window: int = 500,
    levels: tuple[float, ...] = (0.95, 0.99),
) -> dict[str, float]:
    """The desk's own VaR, backtested day by day: each day's forecast is the EWMA volatility
    (``decay``, zero mean, the ``window`` days before it weighed by ``ewma_weights``)
    times the Student-t quantile, compared with that day's return. Kupiec's test on the whole
    history, and the 99% breaches of the last ``BASEL_WINDOW_DAYS`` days."""
    returns = np.nan_to_num(portfolio_returns.dropna().to_numpy(dtype=float))
    if len(returns) <= window:
        raise ValueError(f"{len(returns)} days cannot backtest a {window}-day VaR")
    weights = ewma_weights(window, decay)
    variance = sliding_window_view(returns[:-1] ** 2, window) @ weights  # days before each
    volatility = np.sqrt(variance)
    realised = returns[window:]
    out: dict[str, float] = {"days": float(len(realised))}
    for level in levels:
        breached = realised < -student_t_unit_quantile(level) * volatility
        tag = f"{round(level * 100)}"
        out[f"var_{tag}_breach_rate"] = float(breached.mean())
        out[f"var_{tag}_expected_rate"] = 1 - level
        out[f"var_{tag}_kupiec_pvalue"] = kupiec_pvalue(int(breached.sum()), len(realised), level)
        if level == 0.99:
            recent = breached[-BASEL_WINDOW_DAYS:]
            out["var_99_recent_days"] = float(len(recent))
            out["var_99_recent_breaches"] = float(recent.sum())
    return out


def risk_model_evaluation(
    asset_returns: pd.DataFrame, lookback_days: int, decay: float
) -> dict[str, float]:
    """The risk model's out-of-sample evaluation, as its training run logs it: the forecast
    and the historical VaR of an equal-weight book (over the names trading each day),
    backtested day by day. A short history (a user's file) still backtests: at most half of
    it is the window."""
    book = asset_returns.mean(axis=1)
    window = min(lookback_days, len(book) // 2)
    forecast = forecast_var_backtest(book, decay, window=window)
    historical = {f"historical_{k}": v for k, v in var_backtest(book, window=window).items()}
    return {**forecast, **historical, "window_days": float(window)}
