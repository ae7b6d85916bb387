"""Market regimes (calm / normal / stressed) from a Markov-switching model of index returns.

statsmodels' MarkovRegression with three regimes and switching variance; regimes are named
by their fitted volatility. Labels at decision time use *filtered* probabilities, which read
only returns up to that day (smoothed probabilities would use later days).

Filtering is a recursion: a day's filtered probabilities depend on the history only through
the previous day's. ``latest_label`` keeps the last day it filtered and, when it is next asked
about the same history extended by a few days (a backtest's or a live desk's next session),
filters only the new days from there, instead of the whole history again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

REGIMES = ("calm", "normal", "stressed")


class RegimeModel:
    """Fit on daily index returns (fractions); label any return history by filtering."""

    def __init__(self, k_regimes: int = 3) -> None:
        self.k_regimes = k_regimes
        self._filtered: _FilterState | None = None

    def __getstate__(self) -> dict:
        # The filter's state is a cache of one process's calls, not part of the model.
        return {**self.__dict__, "_filtered": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"_filtered": None, **state})

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
        filtered = self._filter(clean.to_numpy() * 100)
        return pd.DataFrame(
            filtered[:, self.order_],
            index=clean.index,
            columns=list(REGIMES[: self.k_regimes]),
        )

    def label(self, returns: pd.Series) -> pd.Series:
        return self.probabilities(returns).idxmax(axis=1).rename("regime")

    def latest_label(self, returns: pd.Series) -> str:
        """``label(returns).iloc[-1]``, the regime of the last day: when ``returns`` extends
        the history of this model's previous call, only the new days are filtered."""
        endog = returns.dropna().to_numpy() * 100
        if len(endog) == 0:
            raise ValueError("no returns to label: the index has no history before the day")
        state = self._filtered
        if state is None or not _extends(endog, state.endog):
            last = self._filter(endog)[-1]
        elif len(endog) > len(state.endog):
            last = self._filter_on(endog[len(state.endog) :], state.last)
        else:
            last = state.last
        self._filtered = _FilterState(endog, last)
        return REGIMES[int(np.argmax(last[self.order_]))]

    def _filter(self, endog: np.ndarray) -> np.ndarray:
        """statsmodels' filtered probabilities (days x regimes, the model's order) of a whole
        history ``endog`` (percent), from the chain's steady state."""
        model = MarkovRegression(
            endog, k_regimes=self.k_regimes, trend="c", switching_variance=True
        )
        # Only the filtered probabilities are read: without cov_type="none", statsmodels also
        # computes the parameters' covariance by numerical differentiation, 90% of the time.
        filtered = model.filter(self.params_, cov_type="none").filtered_marginal_probabilities
        return np.asarray(filtered)

    def _filter_on(self, endog: np.ndarray, last: np.ndarray) -> np.ndarray:
        """The filtered probabilities after the days ``endog``, from ``last``, those of the
        day before them: Hamilton's recursion in log space, as statsmodels runs it (its
        known initialization cannot start the recursion at a filtered day: it treats this
        model as order one internally and applies one more transition to the start)."""
        model = MarkovRegression(
            endog, k_regimes=self.k_regimes, trend="c", switching_variance=True
        )
        names, params = model.param_names, self.params_
        mean = np.array([params[names.index(f"const[{i}]")] for i in range(self.k_regimes)])
        variance = np.array([params[names.index(f"sigma2[{i}]")] for i in range(self.k_regimes)])
        # transition[i, j]: P(regime i today | regime j yesterday), floored as statsmodels does
        log_transition = np.log(np.maximum(model.regime_transition_matrix(params)[..., 0], 1e-20))
        log_density = -0.5 * (
            np.log(2 * np.pi * variance) + (endog[:, None] - mean) ** 2 / variance
        )
        log_filtered = np.log(np.maximum(last, 1e-300))
        for day_density in log_density:
            predicted = logsumexp(log_transition + log_filtered, axis=1)
            weighted = predicted + day_density
            log_filtered = weighted - logsumexp(weighted)
        return np.exp(log_filtered)


@dataclass(frozen=True)
class _FilterState:
    endog: np.ndarray  # the history filtered so far (percent returns)
    last: np.ndarray  # its last day's filtered probabilities, the model's regime order


def _extends(history: np.ndarray, earlier: np.ndarray) -> bool:
    """Whether ``history`` is ``earlier`` followed by zero or more days."""
    return len(earlier) <= len(history) and np.array_equal(history[: len(earlier)], earlier)
