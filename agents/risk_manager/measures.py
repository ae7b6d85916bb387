"""Value at Risk and Expected Shortfall of a portfolio: historical and Monte Carlo.

Losses are positive fractions of portfolio value over one day. VaR at level b is the k-th
worst loss, k = ceil((1 - b) n); ES is skfolio's CVaR. (skfolio's own value_at_risk computes k
in floating point, so (1 - 0.95) * 100 = 5.000000000000004 rounds up to the 6th worst loss
instead of the 5th; here k is rounded to 9 decimals first.) Monte Carlo draws from a
multivariate Student-t (fat tails, 5 degrees of freedom by default) scaled to the
Ledoit-Wolf covariance of the same window, with a fixed seed so a decision can be replayed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from skfolio.measures import cvar
from sklearn.covariance import LedoitWolf


@dataclass(frozen=True)
class TailRisk:
    var_95: float
    var_99: float
    es_95: float
    es_99: float


def value_at_risk(returns: np.ndarray, beta: float) -> float:
    r = np.asarray(returns, dtype=float)
    k = max(1, math.ceil(round((1 - beta) * len(r), 9)))
    # The k-th smallest return is the one a full sort puts at k - 1 (NaN last in both; when
    # +0.0 and -0.0 tie there, either may be taken); partitioning finds it without sorting
    # the rest: the risk manager asks this of its 20,000 Monte Carlo draws twice a cycle,
    # and the two sorts took about 1.2 ms.
    return float(-np.partition(r, k - 1)[k - 1])


def historical_tail_risk(portfolio_returns: np.ndarray) -> TailRisk:
    r = np.asarray(portfolio_returns, dtype=float)
    return TailRisk(
        var_95=value_at_risk(r, beta=0.95),
        var_99=value_at_risk(r, beta=0.99),
        es_95=float(cvar(r, beta=0.95)),
        es_99=float(cvar(r, beta=0.99)),
    )


def monte_carlo_draws(
    asset_returns: pd.DataFrame,
    *,
    draws: int = 20_000,
    degrees_of_freedom: float = 5.0,
    seed: int = 0,
) -> np.ndarray:
    """Simulated one-day asset returns (draws x assets): mean + Student-t shocks with the
    Ledoit-Wolf shrunk covariance of the rows where every asset has a return. (The sample
    covariance is singular once assets outnumber days, 500 names on a 500-day window.)"""
    clean = asset_returns.dropna()
    mean = clean.mean().to_numpy()
    covariance = LedoitWolf().fit(clean.to_numpy()).covariance_
    rng = np.random.default_rng(seed)
    normal = rng.multivariate_normal(np.zeros(len(mean)), covariance, size=draws, method="cholesky")
    # A t variate is a normal divided by sqrt(chi2/df); rescale so the covariance is kept.
    chi2 = rng.chisquare(degrees_of_freedom, size=(draws, 1))
    scale = np.sqrt((degrees_of_freedom - 2) / degrees_of_freedom)
    return mean + normal / np.sqrt(chi2 / degrees_of_freedom) * scale


def monte_carlo_tail_risk(asset_returns: pd.DataFrame, weights: np.ndarray, **draws) -> TailRisk:
    """Tail risk of the portfolio over ``monte_carlo_draws`` (same keyword options)."""
    simulated = monte_carlo_draws(asset_returns, **draws) @ np.asarray(weights, dtype=float)
    return historical_tail_risk(simulated)


def beta_to(portfolio_returns: pd.Series, index_returns: pd.Series) -> float:
    joined = pd.concat([portfolio_returns, index_returns], axis=1).dropna()
    return beta_of(joined.iloc[:, 0].to_numpy(), joined.iloc[:, 1].to_numpy())


def beta_of(portfolio_returns: np.ndarray, index_returns: np.ndarray) -> float:
    """Beta of aligned return arrays; NaN with fewer than 2 days or a flat index."""
    if len(index_returns) < 2 or np.var(index_returns, ddof=1) == 0:
        return float("nan")
    covariance = np.cov(portfolio_returns, index_returns, ddof=1)
    return float(covariance[0, 1] / covariance[1, 1])
