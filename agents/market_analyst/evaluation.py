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
    by_day = frame.groupby("date")
    ic = by_day[[prediction, realized]].apply(lambda d: d[prediction].corr(d[realized]))
    rank_ic = by_day[[prediction, realized]].apply(
        lambda d: d[prediction].rank().corr(d[realized].rank())
    )
    up = (frame[realized] > 0).astype(int)
    auc = roc_auc_score(up, frame[prediction]) if up.nunique() == 2 else float("nan")

    def long_short(day: pd.DataFrame) -> float:
        n = max(1, round(len(day) * quantile))
        ordered = day.sort_values(prediction)
        return ordered[daily_return].tail(n).mean() - ordered[daily_return].head(n).mean()

    spread = by_day[[prediction, daily_return]].apply(long_short).dropna()
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
