"""The Portfolio Optimizer as an MLflow pyfunc: daily returns in, risk-parity weights out."""

from __future__ import annotations

import mlflow
import pandas as pd

from agents.portfolio_optimizer.optimizer import OptimizerConfig, PortfolioOptimizer

# What the served model imports, stated so that logging it does not infer them (MLflow loads
# the model in a subprocess to infer them: seconds of every daily batch).
SERVING_PACKAGES = [
    "mlflow", "cloudpickle", "numpy", "pandas", "scipy", "scikit-learn", "skfolio", "cvxpy-base",
    "quorum",
]  # fmt: skip


class OptimizerModel(mlflow.pyfunc.PythonModel):
    def __init__(self, config: OptimizerConfig, sectors: dict[str, str]) -> None:
        self.config = config
        self.sectors = sectors

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Without views (the analyst's come at decision time): the HRP fallback's weights."""
        proposal = PortfolioOptimizer(self.config).propose(
            model_input, [], pd.Series(0.0, index=model_input.columns), self.sectors
        )
        return proposal.weights.rename("weight").to_frame().reset_index(names="symbol")
