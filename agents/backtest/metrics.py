"""What a quant reads first about a strategy's daily returns. Risk measures are skfolio's;
the risk-free rate is taken as zero (say so wherever these are shown)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from skfolio import measures

TRADING_DAYS = 252


def period_masks(index: pd.DatetimeIndex, holdout_start: str | None) -> dict[str, np.ndarray]:
    """The days of each reported period: ``full``, and when ``holdout_start`` falls inside
    with more than a day on each side, ``before_holdout`` and ``holdout``."""
    out = {"full": np.ones(len(index), dtype=bool)}
    if holdout_start is not None:
        after = np.asarray(index >= pd.Timestamp(holdout_start))
        if (~after).sum() > 1 and after.sum() > 1:
            out.update(before_holdout=~after, holdout=after)
    return out


def drawdown_dates(returns: pd.Series) -> dict[str, str | None]:
    """The maximum drawdown's peak, trough and recovery days (None if not recovered)."""
    wealth = (1.0 + returns).cumprod()
    drawdown = wealth / wealth.cummax() - 1.0
    trough = drawdown.idxmin()
    peak = wealth.loc[:trough].idxmax()
    after = wealth.loc[trough:]
    recovered = after[after >= wealth.loc[peak]]
    return {
        "max_drawdown_peak": str(peak.date()),
        "max_drawdown_trough": str(trough.date()),
        "max_drawdown_recovery": str(recovered.index[0].date()) if len(recovered) else None,
    }


def performance(
    returns: pd.Series,
    *,
    turnover: pd.Series | None = None,
    costs: pd.Series | None = None,
) -> dict[str, float | str | None]:
    """CAGR, volatility, Sharpe, Sortino, Calmar, maximum drawdown (compounded) and its
    dates, daily hit rate; with ``turnover`` and ``costs`` (fractions of NAV per day), the
    annual one-way turnover and the annual cost drag."""
    r = returns.dropna().to_numpy(dtype=float)
    if len(r) < 2:
        raise ValueError(f"{len(r)} daily returns: too few to measure a strategy")
    years = len(r) / TRADING_DAYS
    growth = float(np.prod(1.0 + r))
    cagr = growth ** (1.0 / years) - 1.0 if growth > 0 else -1.0
    volatility = float(measures.standard_deviation(r)) * math.sqrt(TRADING_DAYS)
    downside = float(measures.semi_deviation(r, min_acceptable_return=0.0)) * math.sqrt(
        TRADING_DAYS
    )
    mean = float(np.mean(r)) * TRADING_DAYS
    max_dd = float(measures.max_drawdown(measures.get_drawdowns(r, compounded=True)))
    out: dict[str, float | str | None] = {
        "start": str(returns.index[0].date()),
        "end": str(returns.index[-1].date()),
        "days": len(r),
        "cagr": cagr,
        "volatility": volatility,
        "sharpe": mean / volatility if volatility > 0 else float("nan"),
        "sortino": mean / downside if downside > 0 else float("nan"),
        "max_drawdown": max_dd,
        "calmar": cagr / max_dd if max_dd > 0 else float("nan"),
        "hit_rate": float(np.mean(r[r != 0.0] > 0.0)) if np.any(r != 0.0) else float("nan"),
        **drawdown_dates(returns.dropna()),
    }
    if turnover is not None:
        out["annual_turnover"] = float(turnover.sum()) / years
    if costs is not None:
        out["annual_cost_drag"] = float(costs.sum()) / years
    return out
