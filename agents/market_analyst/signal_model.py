"""The Market Analyst's signal model: LightGBM forecasting forward excess return.

scikit-learn contract: hyper-parameters stored unchanged in ``__init__``, ``fit`` returns
self, learned state ends in ``_``. ``calibrate`` fits P(direction right | |forecast|) on
out-of-sample forecasts with isotonic regression, which is what ``confidence`` returns.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.isotonic import IsotonicRegression

from features.names import (
    MARKET_FEATURES,
    TECHNICAL_FEATURES,
    VOLATILITY_FEATURES,
    ranked,
)

FEATURE_FAMILIES = {
    "technical": ranked(TECHNICAL_FEATURES),
    "volatility": ranked(VOLATILITY_FEATURES),
    "market": list(MARKET_FEATURES),
}


def direction_calibrator(forecast: np.ndarray, realized: np.ndarray) -> IsotonicRegression:
    """P(sign(forecast) == sign(realized)) as a rising function of |forecast|, fitted on
    out-of-sample forecasts; its ``predict(|forecast|)`` is the confidence."""
    right = (np.sign(forecast) == np.sign(realized)).astype(float)
    return IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(
        np.abs(forecast), right
    )


class SignalModel(RegressorMixin, BaseEstimator):
    """Gradient-boosted trees on the market_analyst_v2 features.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree,
    reg_lambda : LightGBM's. Defaults are deliberately conservative (shallow trees, large
        leaves): daily return forecasts have a low signal-to-noise ratio.
    random_state : seed, so a retrain on the same data gives the same model.
    n_jobs : LightGBM's threads. None: OpenMP's default, every core of a training run alone
        on the machine, or OMP_NUM_THREADS (the tests give each of their parallel workers its
        share, as does each Celery worker); a backtest that trains while it trades gives
        each process one.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.03,
        num_leaves: int = 15,
        min_child_samples: int = 500,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 10.0,
        random_state: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: pd.Series) -> SignalModel:
        self.feature_names_in_ = np.asarray(X.columns)
        self.booster_ = lgb.LGBMRegressor(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            random_state=self.random_state,
            # 0 is OpenMP's default, which honours OMP_NUM_THREADS; LightGBM's scikit-learn
            # API reads None as every physical core and ignores it, so two fits at once
            # (xdist workers, a backfill's runs on two workers) each ran a pool as wide as
            # the machine: 3.5x slower each than alone, against 1.8x with a thread each.
            n_jobs=0 if self.n_jobs is None else self.n_jobs,
            verbose=-1,
        ).fit(X.to_numpy(dtype=float), np.asarray(y, dtype=float))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected forward excess return, per row."""
        return self.booster_.predict(self._matrix(X))

    def calibrate(self, forecast: np.ndarray, realized: np.ndarray) -> SignalModel:
        """Learn P(sign(forecast) == sign(realized)) as a rising function of |forecast|."""
        self.calibrator_ = direction_calibrator(forecast, realized)
        return self

    def confidence(self, forecast: np.ndarray) -> np.ndarray:
        """Calibrated probability, in [0, 1], that the forecast's direction is right."""
        return self.calibrator_.predict(np.abs(forecast))

    def attribution(self, X: pd.DataFrame) -> pd.DataFrame:
        """Share of each forecast due to each feature family (technical, volatility, market),
        from LightGBM's per-feature contributions (TreeSHAP); rows sum to 1."""
        contributions = self.booster_.predict(self._matrix(X), pred_contrib=True)[:, :-1]
        magnitude = np.abs(contributions)
        columns = list(self.feature_names_in_)
        shares = pd.DataFrame(index=X.index)
        for family, names in FEATURE_FAMILIES.items():
            idx = [columns.index(n) for n in names if n in columns]
            shares[family] = magnitude[:, idx].sum(axis=1)
        total = shares.sum(axis=1).replace(0.0, np.nan)
        return shares.div(total, axis=0).fillna(1.0 / len(FEATURE_FAMILIES))

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        return X[list(self.feature_names_in_)].to_numpy(dtype=float)
