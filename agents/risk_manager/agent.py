"""The Risk Manager agent: assesses a proposed portfolio and vetoes when a limit breaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from agents.messages import Envelope, PositionLimit, RiskAssessment, envelope
from agents.risk_manager.measures import (
    TailRisk,
    beta_to,
    historical_tail_risk,
    monte_carlo_tail_risk,
)
from agents.risk_manager.stress import StressResult, replay_crises

AGENT_ID = "risk_manager_001"


@dataclass(frozen=True)
class RiskLimits:
    """Limits from config. Defaults follow the design document: 5% per position and 15% per
    sector; the loss limits are the desk's, in fractions of portfolio value."""

    max_weight: float = 0.05
    max_sector_weight: float = 0.15
    max_gross_exposure: float = 1.0
    min_effective_positions: float = 8.0  # 1 / sum(w^2): concentration
    max_var_99: float = 0.04  # one-day historical VaR at 99%
    max_stress_loss: float = 0.45  # worst replayed crisis
    lookback_days: int = 500


@dataclass(frozen=True)
class Assessment:
    historical: TailRisk
    monte_carlo: TailRisk
    beta: float
    stress: list[StressResult]
    sector_weights: dict[str, float]
    effective_positions: float
    veto_reasons: list[str] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        return not self.veto_reasons


class RiskManager:
    def __init__(self, limits: RiskLimits | None = None) -> None:
        self.limits = limits or RiskLimits()

    def assess(
        self,
        weights: pd.Series,
        prices: pd.DataFrame,
        sectors: dict[str, str],
        index: pd.Series | None = None,
    ) -> Assessment:
        """``weights`` by symbol (fractions of value), ``prices`` wide by date up to the
        decision (never later), ``sectors`` by symbol, ``index`` the benchmark's prices."""
        limits = self.limits
        weights = weights[weights != 0].astype(float)
        returns = prices[weights.index].pct_change().iloc[1:].tail(limits.lookback_days)
        portfolio = returns.fillna(0.0) @ weights.to_numpy()
        historical = historical_tail_risk(portfolio.to_numpy())
        monte_carlo = monte_carlo_tail_risk(returns, weights.to_numpy())
        beta = beta_to(portfolio, index.pct_change()) if index is not None else float("nan")
        stress = replay_crises(prices, weights, index)
        sector_weights = weights.groupby(lambda s: sectors.get(s, "Unknown")).sum().to_dict()
        effective = 1.0 / float((weights**2).sum()) if len(weights) else float("inf")

        reasons = []
        for symbol, weight in weights.items():
            if abs(weight) > limits.max_weight + 1e-9:
                reasons.append(f"{symbol} weight {weight:.4f} > max {limits.max_weight:.4f}")
        for sector, weight in sector_weights.items():
            if abs(weight) > limits.max_sector_weight + 1e-9:
                reasons.append(
                    f"sector {sector} weight {weight:.4f} > max {limits.max_sector_weight:.4f}"
                )
        gross = float(weights.abs().sum())
        if gross > limits.max_gross_exposure + 1e-9:
            reasons.append(f"gross exposure {gross:.4f} > max {limits.max_gross_exposure:.4f}")
        if effective < limits.min_effective_positions:
            reasons.append(
                f"effective positions {effective:.1f} < min "
                f"{limits.min_effective_positions:.1f} (concentration)"
            )
        if historical.var_99 > limits.max_var_99:
            reasons.append(f"1-day VaR 99% {historical.var_99:.4f} > max {limits.max_var_99:.4f}")
        worst = min(stress, key=lambda s: s.portfolio_return, default=None)
        if worst is not None and -worst.portfolio_return > limits.max_stress_loss:
            reasons.append(
                f"stress '{worst.scenario}' loses {-worst.portfolio_return:.4f} > "
                f"max {limits.max_stress_loss:.4f}"
            )
        return Assessment(historical, monte_carlo, beta, stress, sector_weights, effective, reasons)

    def message(self, assessment: Assessment, weights: pd.Series, timestamp: datetime) -> Envelope:
        limits = self.limits
        payload = RiskAssessment(
            portfolio_var=max(assessment.historical.var_95, 0.0),
            portfolio_es=max(assessment.historical.es_95, 0.0),
            confidence_level=0.95,
            position_limits={
                s: PositionLimit(max_weight=limits.max_weight, current=float(w))
                for s, w in weights.items()
            },
            risk_approval=assessment.approved,
            constraints=[
                f"max_weight: {limits.max_weight}",
                f"max_sector_exposure: {limits.max_sector_weight}",
                f"max_gross_exposure: {limits.max_gross_exposure}",
            ],
            veto_reasons=assessment.veto_reasons,
        )
        return envelope(AGENT_ID, payload, timestamp)
