"""The optimizer's covariance prepared before the open.

Black-Litterman's prior estimates the returns' covariance three times per solve (the views'
equilibrium, the prior's equilibrium and the prior's covariance), each with skfolio's
nearest-positive-definite check, an eigen-decomposition: at 500 names about 0.1 s each. The
window they read ends at the previous close, so the matrix is known before the session;
``prepare_covariance`` estimates it once, with the same skfolio estimator, and
``PreparedCovariance`` hands that matrix to skfolio wherever it would estimate it again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn.utils.validation as skv
from skfolio.moments import EmpiricalCovariance
from skfolio.moments.covariance._base import BaseCovariance


@dataclass(frozen=True)
class OptimizerPreparation:
    """The covariance of one returns window (the assets and the days it was estimated on)."""

    returns: pd.DataFrame
    covariance: np.ndarray

    def matches(self, returns: pd.DataFrame) -> bool:
        """Whether ``returns`` is exactly the window prepared: same names, days and values.
        (Its matrix then equals a fresh estimate up to the last bits BLAS may round
        differently for the same values at another address, as two fresh estimates do.)"""
        return (
            returns.shape == self.returns.shape
            and returns.columns.equals(self.returns.columns)
            and returns.index.equals(self.returns.index)
            and np.array_equal(returns.to_numpy(), self.returns.to_numpy(), equal_nan=True)
        )


def prepare_covariance(returns: pd.DataFrame) -> OptimizerPreparation:
    """The matrix skfolio's default covariance estimator gives on ``returns``."""
    return OptimizerPreparation(returns, EmpiricalCovariance().fit(returns).covariance_)


class PreparedCovariance(BaseCovariance):
    """A covariance estimator that returns a matrix estimated before (skfolio's API)."""

    def __init__(self, covariance: np.ndarray | None = None) -> None:
        super().__init__()
        self.covariance = covariance

    def fit(self, X, y=None) -> PreparedCovariance:
        X = skv.validate_data(self, X)
        if self.covariance is None or self.covariance.shape != (X.shape[1], X.shape[1]):
            raise ValueError(f"no prepared covariance for {X.shape[1]} assets")
        # A copy: an estimator downstream may scale its covariance in place.
        self.covariance_ = np.array(self.covariance, copy=True)
        return self
