"""Training the Market Analyst walk-forward, with out-of-sample scores per fold."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from agents.market_analyst.evaluation import forecast_metrics
from agents.market_analyst.regime import RegimeModel
from agents.market_analyst.signal_model import SignalModel
from agents.market_analyst.walk_forward import PurgedWalkForward
from features.definitions import ANALYST_FEATURES


@dataclass(frozen=True)
class AnalystTraining:
    model: SignalModel  # fitted on every labelled row, calibrated on out-of-sample forecasts
    regime: RegimeModel
    folds: pd.DataFrame  # one row of out-of-sample metrics per fold
    out_of_sample: pd.DataFrame  # date, symbol, prediction, realized, realized_1d, fold
    label: str
    min_train_days: int
    first_date: pd.Timestamp
    last_date: pd.Timestamp

    @property
    def latest_fold(self) -> dict:
        return self.folds.iloc[-1].to_dict()


def train_market_analyst(
    training_set: pd.DataFrame,
    market_returns: pd.Series,
    *,
    horizon_days: int = 5,
    n_splits: int = 5,
    min_train_days: int = 1260,
    model_params: dict | None = None,
) -> AnalystTraining:
    """Walk-forward: each fold trains on the past (purged and embargoed by the label horizon)
    and is scored on the next block only. The deployed model is then fitted on all rows."""
    label = f"forward_excess_return_{horizon_days}d"
    data = training_set.dropna(subset=[label]).copy()
    data["date"] = pd.to_datetime(data["event_timestamp"]).dt.tz_localize(None).dt.normalize()
    data = data.sort_values(["date", "symbol"], ignore_index=True)
    X, y = data[ANALYST_FEATURES], data[label]
    # A short history (a user's file of two years) still trains: the first window shrinks to
    # half the history, and the run records the window it used.
    min_train_days = min(min_train_days, data["date"].nunique() // 2)
    splitter = PurgedWalkForward(
        n_splits=n_splits,
        min_train_days=min_train_days,
        purge_days=horizon_days,
        embargo_days=horizon_days,
    )
    params = model_params or {}
    oos, rows = [], []
    for fold in splitter.split(data["date"]):
        model = SignalModel(**params).fit(X.iloc[fold.train_index], y.iloc[fold.train_index])
        test = data.iloc[fold.test_index]
        scored = pd.DataFrame(
            {
                "date": test["date"].to_numpy(),
                "symbol": test["symbol"].to_numpy(),
                "prediction": model.predict(X.iloc[fold.test_index]),
                "realized": test[label].to_numpy(),
                "realized_1d": test["forward_excess_return_1d"].to_numpy(),
                "fold": fold.number,
            }
        )
        oos.append(scored)
        rows.append(
            {
                "fold": fold.number,
                "train_rows": len(fold.train_index),
                "test_start": fold.test_start,
                "test_end": fold.test_end,
                **forecast_metrics(scored),
            }
        )
    out_of_sample = pd.concat(oos, ignore_index=True)
    final = SignalModel(**params).fit(X, y)
    final.calibrate(out_of_sample["prediction"].to_numpy(), out_of_sample["realized"].to_numpy())
    training_days = market_returns[market_returns.index <= data["date"].max()]
    return AnalystTraining(
        model=final,
        regime=RegimeModel().fit(training_days),
        folds=pd.DataFrame(rows),
        out_of_sample=out_of_sample,
        label=label,
        min_train_days=min_train_days,
        first_date=data["date"].min(),
        last_date=data["date"].max(),
    )
