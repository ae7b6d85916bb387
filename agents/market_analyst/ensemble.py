"""The Market Analyst's ensemble: LightGBM and the sequence models, weighted by their
walk-forward rank IC.

The weights come from out-of-fold predictions only: a member's weight for a test block is
its positive mean rank IC on the blocks before it (equal weights before any evidence), and
the deployed weights are those of every block. A member with no positive rank IC gets no
weight. Forecasts are in return units (every member regresses the same label), so the
weighted average keeps the units the analyst's thresholds read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.market_analyst.signal_model import (
    FEATURE_FAMILIES,
    SignalModel,
    direction_calibrator,
)

SEQUENCE_FAMILY = "sequence"  # attribution of the sequence members' share of a forecast


def weights_from_rank_ic(rank_ic: dict[str, float]) -> dict[str, float]:
    """Positive rank ICs, normalised to sum 1; equal weights when none is positive or known."""
    positive = {m: max(float(v), 0.0) for m, v in rank_ic.items() if np.isfinite(v)}
    total = sum(positive.values())
    if total <= 0:
        return {m: 1.0 / len(rank_ic) for m in rank_ic}
    return {m: positive.get(m, 0.0) / total for m in rank_ic}


def weights_from_member_folds(member_folds: pd.DataFrame, members: list[str]) -> dict[str, float]:
    """``weights_from_rank_ic`` of each member's mean rank IC over the folds given (a member
    with no fold there has no evidence)."""
    evidence = member_folds.groupby("member")["rank_ic"].mean().reindex(members)
    return weights_from_rank_ic(evidence.to_dict())


class SignalEnsemble:
    """Fitted members and their weights; the same interface as ``SignalModel``
    (``predict``, ``calibrate``, ``confidence``, ``attribution``)."""

    def __init__(self, members: dict[str, object], weights: dict[str, float]) -> None:
        unknown = set(weights) - set(members)
        if unknown:
            raise ValueError(f"weights for members not in the ensemble: {sorted(unknown)}")
        self.members = members
        self.weights = {m: float(weights.get(m, 0.0)) for m in members}

    def member_predictions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each weighted member's forecast, one column per member."""
        return pd.DataFrame(
            {m: model.predict(X) for m, model in self.members.items() if self.weights[m] > 0},
            index=X.index,
        )

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        forecasts = self.member_predictions(X)
        if forecasts.empty:
            return np.zeros(len(X))
        weights = np.array([self.weights[m] for m in forecasts.columns])
        return forecasts.to_numpy() @ (weights / weights.sum())

    def calibrate(self, forecast: np.ndarray, realized: np.ndarray) -> SignalEnsemble:
        """P(sign(forecast) == sign(realized)) as a rising function of |forecast|, fitted on
        the ensemble's own out-of-sample forecasts."""
        self.calibrator_ = direction_calibrator(forecast, realized)
        return self

    def confidence(self, forecast: np.ndarray) -> np.ndarray:
        return self.calibrator_.predict(np.abs(forecast))

    def attribution(self, X: pd.DataFrame) -> pd.DataFrame:
        """LightGBM's feature-family shares scaled by its weight, the sequence members'
        weight as one family; rows sum to 1."""
        total = sum(self.weights.values()) or 1.0
        tree_weight = sum(
            w for m, w in self.weights.items() if isinstance(self.members[m], SignalModel)
        )
        trees = [m for m, model in self.members.items() if isinstance(model, SignalModel)]
        if trees and tree_weight > 0:
            shares = self.members[trees[0]].attribution(X) * (tree_weight / total)
        else:
            shares = pd.DataFrame(0.0, index=X.index, columns=list(FEATURE_FAMILIES))
        shares[SEQUENCE_FAMILY] = 1.0 - tree_weight / total
        return shares
