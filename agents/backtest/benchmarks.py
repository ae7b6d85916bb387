"""The benchmarks the desk is judged against, as target weights for the same simulation (same
costs, same period): the index bought and held, equal weight, inverse volatility and skfolio's
minimum variance, each rebalanced monthly on data up to the rebalancing close only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from skfolio.optimization import EqualWeighted, InverseVolatility, MeanRisk

LOOKBACK_DAYS = 252


def month_ends(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The last trading day of each month in ``index``."""
    days = pd.Series(index, index=index)
    return pd.DatetimeIndex(days.groupby(index.to_period("M")).max().to_numpy())


def buy_and_hold(prices: pd.DataFrame, symbol: str, start) -> pd.DataFrame:
    """All in ``symbol`` at the first close on or after ``start``, never traded again."""
    first = prices.index[prices.index >= pd.Timestamp(start)][0]
    return pd.DataFrame({symbol: [1.0]}, index=pd.DatetimeIndex([first]))


def _fit_weights(estimator, window: pd.DataFrame) -> pd.Series:
    """An skfolio estimator fitted on the window's symbols with a full history."""
    usable = window.dropna(axis=1)
    if usable.shape[1] == 0:
        return pd.Series(dtype=float)
    if usable.shape[1] == 1:
        return pd.Series(1.0, index=usable.columns)
    weights = estimator.fit(usable).weights_
    return pd.Series(np.asarray(weights, dtype=float), index=usable.columns)


def monthly_targets(
    prices: pd.DataFrame,
    symbols: list[str],
    method: str,
    start,
    lookback_days: int = LOOKBACK_DAYS,
) -> pd.DataFrame:
    """Targets at each month end from ``start``: ``equal_weight``, ``inverse_volatility`` or
    ``minimum_variance``, over ``symbols`` with a full trailing year of returns (so a stock
    enters once it has a history; none is chosen by its future)."""
    estimators = {
        "equal_weight": EqualWeighted,
        "inverse_volatility": InverseVolatility,
        "minimum_variance": MeanRisk,  # its default objective: minimum variance
    }
    if method not in estimators:
        raise ValueError(f"unknown benchmark {method!r}: one of {sorted(estimators)}")
    returns = prices[symbols].pct_change(fill_method=None).iloc[1:]
    rows = {}
    for day in month_ends(prices.index[prices.index >= pd.Timestamp(start)]):
        window = returns.loc[:day].iloc[-lookback_days:]
        if len(window) < lookback_days:
            continue
        rows[day] = _fit_weights(estimators[method](), window)
    return pd.DataFrame(rows).T.reindex(columns=symbols).fillna(0.0)
