"""What each step of a cycle writes to the ledger: the payloads of its events, kept apart
from the steps so that a step reads as its decision and the record reads as a schema."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from agents.desk.steps import Snapshot
from agents.messages import TradingSignal
from agents.portfolio_optimizer.optimizer import Proposal
from agents.risk_manager.agent import Assessment
from agents.risk_manager.budget import RiskBudget


def signals_payload(
    snap: Snapshot,
    signals: list[TradingSignal],
    mean: float | None,
    smoothed: float | None,
    model_version: str | None,
) -> dict[str, Any]:
    counts = pd.Series([s.signal for s in signals]).value_counts().to_dict()
    return {
        "regime": snap.regime,
        "counts": {k: int(v) for k, v in counts.items()},
        "mean_confidence": mean,
        "smoothed_mean_confidence": smoothed,
        "usual_confidence": snap.state.mean_confidence,
        "model_version": model_version,
        "feature_coverage": snap.feature_coverage,
        "features_republished": snap.republished_features,
        "signals": {
            s.symbol: [s.signal, round(s.confidence, 6), round(s.expected_return, 8)]
            for s in signals if s.signal != "HOLD"
        },
    }  # fmt: skip


def target_payload(
    snap: Snapshot,
    fingerprint: str,
    proposal: Proposal,
    weights: pd.Series,
    conviction: float,
    model_version: str | None,
) -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "day": str(snap.day),
        "method": proposal.method,
        "conviction": conviction,
        "weights": {s: float(w) for s, w in weights.items() if w},
        "expected_daily_return": proposal.expected_daily_return,
        "expected_daily_volatility": proposal.expected_daily_volatility,
        "turnover": float((weights - snap.weights).abs().sum()),
        "views": proposal.views,
        "model_version": model_version,
    }


def risk_payload(assessment: Assessment) -> dict[str, Any]:
    worst = min(assessment.stress, key=lambda s: s.portfolio_return, default=None)
    return {
        "approved": assessment.approved,
        "veto_reasons": assessment.veto_reasons,
        "var_95": assessment.historical.var_95,
        "var_99": assessment.historical.var_99,
        "forecast_var_99": assessment.forecast_var_99,
        "forecast_volatility": assessment.forecast_volatility,
        "es_95": assessment.historical.es_95,
        "es_99": assessment.historical.es_99,
        "mc_var_99": assessment.monte_carlo.var_99,
        "mc_es_99": assessment.monte_carlo.es_99,
        "beta": None if np.isnan(assessment.beta) else assessment.beta,
        "effective_positions": assessment.effective_positions,
        "sector_weights": assessment.sector_weights,
        "worst_stress": None if worst is None else [worst.scenario, worst.portfolio_return],
        "hedge_weight": assessment.hedge_weight,
    }


def budget_payload(budget: RiskBudget) -> dict[str, Any]:
    return {
        "scale": budget.scale,
        "gross_exposure": budget.gross_exposure,
        "forecast_volatility": budget.forecast_volatility,
        "proposed_volatility": budget.proposed_volatility,
        "regime": budget.regime,
        "drawdown": budget.drawdown,
        "reasons": budget.reasons,
    }
