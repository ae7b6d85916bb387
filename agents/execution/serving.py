"""The Execution Agent's impact models as an MLflow pyfunc: (symbol, shares, days) in, cost out."""

from __future__ import annotations

import mlflow
import pandas as pd

from agents.execution.impact import ImpactModel

# What the served model imports, stated so that logging it does not infer them (MLflow loads
# the model in a subprocess to infer them: seconds of every daily batch).
SERVING_PACKAGES = ["mlflow", "cloudpickle", "numpy", "pandas", "quorum"]


def calibrate_universe(prices: pd.DataFrame, lookback_days: int = 63) -> dict[str, ImpactModel]:
    """One impact model per symbol from its last ``lookback_days`` of (date, symbol, close,
    volume) rows."""
    models = {}
    for symbol, rows in prices.sort_values("date").groupby("symbol"):
        recent = rows.tail(lookback_days + 1)
        models[symbol] = ImpactModel.calibrate(
            recent["close"].pct_change().dropna(), recent["volume"], price=recent["close"].iloc[-1]
        )
    return models


class ExecutionCostModel(mlflow.pyfunc.PythonModel):
    def __init__(self, models: dict[str, ImpactModel], half_spread: float) -> None:
        self.models = models
        self.half_spread = half_spread

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        costs = [
            self.models[row.symbol].expected_cost(row.shares, row.duration_days, self.half_spread)
            for row in model_input.itertuples()
        ]
        return pd.DataFrame({"expected_cost": costs}, index=model_input.index)
