"""Out-of-sample evaluation of the optimizer's risk model: refit yearly on the past, hold
the next year, compare forecast and realised volatility."""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.portfolio_optimizer.optimizer import OptimizerConfig, PortfolioOptimizer


def walk_forward_hrp(
    returns: pd.DataFrame,
    sectors: dict[str, str],
    config: OptimizerConfig | None = None,
    train_days: int = 504,
) -> pd.DataFrame:
    """One row per held year: forecast and realised daily volatility, realised return."""
    optimizer = PortfolioOptimizer(config)
    rows = []
    years = sorted(set(returns.index.year))
    for year in years:
        past = returns[returns.index.year < year].tail(train_days).dropna(axis=1)
        future = returns[returns.index.year == year][past.columns]
        if len(past) < train_days or future.empty:
            continue
        proposal = optimizer.propose(past, [], pd.Series(0.0, index=past.columns), sectors)
        held = future.fillna(0.0) @ proposal.weights.to_numpy()
        rows.append(
            {
                "year": year,
                "forecast_vol": proposal.expected_daily_volatility,
                "realised_vol": float(held.std()),
                "realised_mean": float(held.mean()),
                "invested": float(proposal.weights.sum()),
            }
        )
    columns = ["year", "forecast_vol", "realised_vol", "realised_mean", "invested"]
    out = pd.DataFrame(rows, columns=columns)
    out["vol_ratio"] = out["realised_vol"] / out["forecast_vol"]
    return out


def summary(walk: pd.DataFrame) -> dict[str, float]:
    """Out-of-sample figures; a history too short to hold out a year says so (0 years) and
    reports nothing it did not measure."""
    if walk.empty:
        return {"oos_years": 0.0}
    return {
        "oos_years": float(len(walk)),
        "oos_vol_ratio_median": float(walk["vol_ratio"].median()),
        "oos_annual_vol": float(walk["realised_vol"].mean() * np.sqrt(252)),
        "oos_sharpe": float(
            walk["realised_mean"].mean() / walk["realised_vol"].mean() * np.sqrt(252)
        ),
    }
