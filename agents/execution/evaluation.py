"""Out-of-sample evaluation of the Execution Agent's impact models before any fill exists.

The cost model's forecast is the impact law's coefficients (from the literature, not fitted
here) times what the calibration measures: each name's daily volatility over its last
``lookback_days`` (and its average daily volume, where the data have volume). Realised costs
need fills, which only trading gives (the live gate scores them, ``monitoring.agent_evidence``);
what the prices can score is the calibration itself: at every ``horizon_days`` step, the
volatility the model would have been calibrated with against the volatility of the days the
model would then have served.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view


def volatility_forecast_backtest(
    prices: pd.DataFrame, lookback_days: int = 63, horizon_days: int = 21
) -> pd.DataFrame:
    """One row per name and held-out block of ``horizon_days``: the forecast daily
    volatility (the ``lookback_days`` before the block) and the realised one (the block).
    ``prices``: long (date, symbol, close) rows. Blocks whose forecast is zero (a stale
    price) are left out: no ratio is defined."""
    rows = []
    for symbol, group in prices.sort_values("date").groupby("symbol"):
        returns = group["close"].pct_change().dropna().to_numpy(dtype=float)
        starts = np.arange(lookback_days, len(returns) - horizon_days + 1, horizon_days)
        if not len(starts):
            continue
        forecast = sliding_window_view(returns, lookback_days)[starts - lookback_days]
        realised = sliding_window_view(returns, horizon_days)[starts]
        rows.append(pd.DataFrame({
            "symbol": symbol,
            "start_date": group["date"].to_numpy()[starts + 1],  # returns start a row later
            "forecast_vol": forecast.std(axis=1, ddof=1),
            "realised_vol": realised.std(axis=1, ddof=1),
        }))  # fmt: skip
    columns = ["symbol", "start_date", "forecast_vol", "realised_vol"]
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
    out = out[out["forecast_vol"] > 0]
    return out.assign(vol_ratio=out["realised_vol"] / out["forecast_vol"])


def summary(blocks: pd.DataFrame) -> dict[str, float]:
    """The median realised over forecast ratio, and how many blocks it stands on."""
    if blocks.empty:
        return {"oos_vol_blocks": 0.0}
    return {
        "oos_vol_blocks": float(len(blocks)),
        "oos_vol_ratio_median": float(blocks["vol_ratio"].median()),
    }
