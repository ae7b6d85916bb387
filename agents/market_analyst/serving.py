"""The Market Analyst as an MLflow pyfunc model: features in, forecasts out."""

from __future__ import annotations

import mlflow
import pandas as pd

from agents.market_analyst.ensemble import SignalEnsemble
from agents.market_analyst.regime import RegimeModel
from features.names import ANALYST_INPUTS


class MarketAnalystModel(mlflow.pyfunc.PythonModel):
    """Carries the signal ensemble (with its calibration) and the regime model's parameters."""

    def __init__(self, model: SignalEnsemble, regime: RegimeModel) -> None:
        self.model = model
        self.regime = regime

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        features = model_input[ANALYST_INPUTS]
        forecast = self.model.predict(features)
        out = pd.DataFrame(
            {"expected_return": forecast, "confidence": self.model.confidence(forecast)},
            index=model_input.index,
        )
        return out.join(self.model.attribution(features))
