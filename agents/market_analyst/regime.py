"""Market regimes (calm / normal / stressed) from a Markov-switching model of index returns.

statsmodels' MarkovRegression with three regimes and switching variance; regimes are named
by their fitted volatility. Labels at decision time use *filtered* probabilities, which read
only returns up to that day (smoothed probabilities would use later days).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

REGIMES = ("calm", "normal", "stressed")


class RegimeModel:
    """Fit on daily index returns (fractions); label any return history by filtering."""

    def __init__(self, k_regimes: int = 3) -> None:
        self.k_regimes = k_regimes

    def fit(self, returns: pd.Series) -> RegimeModel:
        endog = returns.dropna().to_numpy() * 100  # percent: better conditioned for the fit
        model = MarkovRegression(
            endog, k_regimes=self.k_regimes, trend="c", switching_variance=True
        )
        # Only the parameters: statsmodels' results object would also smooth the whole
        # history and differentiate the likelihood numerically for the parameters'
        # covariance, a quarter of the fit's time, and nothing here reads either (the
        # parameters are the same: a test compares them).
        self.params_ = np.asarray(
            model.fit(disp=False, search_reps=0, maxiter=500, return_params=True)
        )
        names = model.param_names
        sigma2 = np.array(
            [self.params_[names.index(f"sigma2[{i}]")] for i in range(self.k_regimes)]
        )
        self.order_ = np.argsort(sigma2)  # model regime index by rising volatility
        self.daily_vol_ = np.sqrt(sigma2[self.order_]) / 100
        return self

    def probabilities(self, returns: pd.Series) -> pd.DataFrame:
        """Filtered P(regime) per day, columns calm/normal/stressed."""
        clean = returns.dropna()
        model = MarkovRegression(
            clean.to_numpy() * 100, k_regimes=self.k_regimes, trend="c", switching_variance=True
        )
        # Only the filtered probabilities are read: without cov_type="none", statsmodels also
        # computes the parameters' covariance by numerical differentiation, 90% of the time.
        filtered = model.filter(self.params_, cov_type="none").filtered_marginal_probabilities
        return pd.DataFrame(
            np.asarray(filtered)[:, self.order_],
            index=clean.index,
            columns=list(REGIMES[: self.k_regimes]),
        )

    def label(self, returns: pd.Series) -> pd.Series:
        return self.probabilities(returns).idxmax(axis=1).rename("regime")
