"""The Risk Manager's model as an MLflow pyfunc: a portfolio's daily returns in, tail risk out."""

from __future__ import annotations

import mlflow
import pandas as pd

from agents.risk_manager.agent import RiskLimits
from agents.risk_manager.measures import historical_tail_risk

# What the served model imports, stated so that logging it does not infer them (MLflow loads
# the model in a subprocess to infer them: seconds of every daily batch).
SERVING_PACKAGES = [
    "mlflow", "cloudpickle", "numpy", "pandas", "scipy", "scikit-learn", "skfolio", "quorum",
]  # fmt: skip


class RiskModel(mlflow.pyfunc.PythonModel):
    """Carries the limits the desk runs with; predicts historical VaR/ES of a return series."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        risk = historical_tail_risk(model_input["portfolio_return"].tail(self.limits.lookback_days))
        return pd.DataFrame([risk.__dict__])
