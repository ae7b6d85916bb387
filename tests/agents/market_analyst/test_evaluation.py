"""The forecast scores computed in one grouped pass equal the per-day textbook definitions."""

import numpy as np
import pandas as pd
import pytest

from agents.market_analyst.evaluation import forecast_metrics


def per_day_reference(frame: pd.DataFrame, quantile: float = 0.2) -> dict[str, float]:
    """Each day on its own with pandas: Pearson, Spearman, and the top-less-bottom spread."""
    ics, rank_ics, spreads = [], [], []
    for _, day in frame.groupby("date"):
        ics.append(day["prediction"].corr(day["realized"]))
        rank_ics.append(day["prediction"].rank().corr(day["realized"].rank()))
        n = max(1, round(len(day) * quantile))
        ordered = day.sort_values("prediction")
        spreads.append(
            ordered["realized_1d"].tail(n).mean() - ordered["realized_1d"].head(n).mean()
        )
    spread = pd.Series(spreads).dropna()
    return {
        "ic": float(pd.Series(ics).mean()),
        "rank_ic": float(pd.Series(rank_ics).mean()),
        "long_short_sharpe": float(spread.mean() / spread.std() * np.sqrt(252)),
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_grouped_scores_equal_the_per_day_definitions(seed):
    rng = np.random.default_rng(seed)
    days = np.repeat(pd.bdate_range("2015-01-01", periods=120), rng.integers(1, 30, 120))
    frame = pd.DataFrame({"date": days})
    frame["realized"] = rng.normal(size=len(frame))
    frame["prediction"] = 0.1 * frame["realized"] + rng.normal(size=len(frame))
    frame["realized_1d"] = frame["realized"] / 5 + rng.normal(scale=0.01, size=len(frame))
    # Missing values: a label and a daily return here and there (forecasts are complete).
    for column in ("realized", "realized_1d"):
        frame.loc[rng.random(len(frame)) < 0.05, column] = np.nan

    got = forecast_metrics(frame)
    expected = per_day_reference(frame)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
