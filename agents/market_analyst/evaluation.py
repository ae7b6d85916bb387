"""Out-of-sample scores of a cross-sectional return forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

TRADING_DAYS = 252


def forecast_metrics(
    frame: pd.DataFrame,
    prediction: str = "prediction",
    realized: str = "realized",
    daily_return: str = "realized_1d",
    quantile: float = 0.2,
) -> dict[str, float]:
    """IC and rank IC (mean per-day Pearson / Spearman across symbols), hit rate, AUC of the
    sign, RMSE, and the annualised Sharpe of a daily-rebalanced long-short portfolio (long the
    top ``quantile`` of predictions, short the bottom) earning ``daily_return``."""
    day = frame["date"]
    by_day = frame.groupby("date", sort=True)
    ic = _daily_pearson(frame[prediction], frame[realized], day)
    rank_ic = _daily_pearson(
        by_day[prediction].rank(), by_day[realized].rank(), day
    )  # Spearman: Pearson of each day's ranks
    up = (frame[realized] > 0).astype(int)
    auc = roc_auc_score(up, frame[prediction]) if up.nunique() == 2 else float("nan")
    spread = _daily_long_short(frame, prediction, daily_return, quantile).dropna()
    sharpe = spread.mean() / spread.std() * np.sqrt(TRADING_DAYS) if spread.std() > 0 else 0.0
    return {
        "ic": float(ic.mean()),
        "rank_ic": float(rank_ic.mean()),
        "rank_ic_ir": float(rank_ic.mean() / rank_ic.std() * np.sqrt(TRADING_DAYS))
        if rank_ic.std() > 0
        else 0.0,
        "hit_rate": float((np.sign(frame[prediction]) == np.sign(frame[realized])).mean()),
        "auc": float(auc),
        "rmse": float(np.sqrt(((frame[prediction] - frame[realized]) ** 2).mean())),
        "long_short_sharpe": float(sharpe),
        "days": int(frame["date"].nunique()),
        "rows": len(frame),
    }


def _daily_pearson(x: pd.Series, y: pd.Series, day: pd.Series) -> pd.Series:
    """Per day, Pearson's r of x and y over the rows where both are present (what
    ``Series.corr`` gives each day's rows), in one grouped pass instead of one call per day;
    NaN on a day with fewer than two such rows or no variation."""
    both = x.notna() & y.notna()
    x, y, day = x[both].astype(float), y[both].astype(float), day[both]
    dx = x - x.groupby(day).transform("mean")
    dy = y - y.groupby(day).transform("mean")
    sums = pd.DataFrame({"xy": dx * dy, "xx": dx * dx, "yy": dy * dy, "n": 1.0}).groupby(day).sum()
    r = sums["xy"] / np.sqrt(sums["xx"] * sums["yy"])
    return r.where((sums["n"] >= 2) & (sums["xx"] > 0) & (sums["yy"] > 0))


def _daily_long_short(
    frame: pd.DataFrame, prediction: str, daily_return: str, quantile: float
) -> pd.Series:
    """Per day, the mean ``daily_return`` of the top ``quantile`` of predictions less the
    bottom's (at least one name each; missing predictions rank last, as ``sort_values``)."""
    ordered = frame[["date", prediction, daily_return]].sort_values(
        ["date", prediction], kind="stable", na_position="last"
    )
    size = ordered.groupby("date")[prediction].transform("size")
    n = np.maximum(1, (size * quantile).round())
    position = ordered.groupby("date").cumcount()
    returns = ordered[daily_return]
    top = returns.where(position >= size - n).groupby(ordered["date"]).mean()
    bottom = returns.where(position < n).groupby(ordered["date"]).mean()
    return top - bottom
