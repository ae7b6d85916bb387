"""The Market Analyst as an MLflow pyfunc model: features in, forecasts out."""

from __future__ import annotations

import mlflow
import pandas as pd

from agents.market_analyst.ensemble import SignalEnsemble
from agents.market_analyst.regime import RegimeModel
from agents.market_analyst.signal_model import SignalModel
from features.names import ANALYST_INPUTS


class MarketAnalystModel(mlflow.pyfunc.PythonModel):
    """Carries the signal ensemble (with its calibration) and the regime model's parameters
    (None for a model that serves forecasts only, such as a sector's)."""

    inputs: list[str] = ANALYST_INPUTS  # the columns the model reads

    def __init__(self, model: SignalEnsemble | SignalModel, regime: RegimeModel | None) -> None:
        self.model = model
        self.regime = regime

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        features = model_input[self.inputs]
        forecast = self.model.predict(features)
        out = pd.DataFrame(
            {"expected_return": forecast, "confidence": self.model.confidence(forecast)},
            index=model_input.index,
        )
        return out.join(self.model.attribution(features))
