"""Target weights from the analyst's views (Black-Litterman + mean-risk), or hierarchical
risk parity when the views are weak, under position, sector, turnover and cost constraints."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import cvxpy as cp
import numpy as np
import pandas as pd
from skfolio.optimization import (
    HierarchicalRiskParity,
    InverseVolatility,
    MeanRisk,
    ObjectiveFunction,
)
from skfolio.prior import BlackLitterman

from agents.messages import Envelope, Order, RebalancingOrder, TradingSignal, envelope

AGENT_ID = "portfolio_optimizer_001"


@dataclass(frozen=True)
class OptimizerConfig:
    max_weight: float = 0.05
    max_sector_weight: float = 0.15
    max_turnover: float = 0.5  # sum of |weight changes| per rebalance (not from a flat book)
    transaction_cost: float = 0.001  # per unit of weight traded (10 bp), in the objective
    # Same as the equilibrium prior's (skfolio's EquilibriumMu, 1): without views the optimum
    # is then the equilibrium portfolio itself, and views tilt it (the Black-Litterman idea).
    risk_aversion: float = 1.0
    horizon_days: int = 5  # the analyst's forecasts are over this many days
    min_view_confidence: float = 0.51  # below this mean confidence, views are too weak
    min_invested: float = 0.5  # floor on the invested share (lowered to what caps allow)
    min_trade_usd: float = 1_000.0


@dataclass(frozen=True)
class Proposal:
    method: str  # "black_litterman_mean_risk" or "hierarchical_risk_parity"
    weights: pd.Series
    previous_weights: pd.Series
    expected_daily_return: float
    expected_daily_volatility: float
    views: list[str]

    @property
    def turnover(self) -> float:
        return float((self.weights - self.previous_weights).abs().sum())


def _group_name(sector: str) -> str:
    return re.sub(r"\W+", "_", sector)  # skfolio parses constraint strings: no spaces


class PortfolioOptimizer:
    def __init__(self, config: OptimizerConfig | None = None) -> None:
        self.config = config or OptimizerConfig()

    def propose(
        self,
        returns: pd.DataFrame,
        signals: list[TradingSignal],
        previous_weights: pd.Series,
        sectors: dict[str, str],
    ) -> Proposal:
        """``returns``: daily asset returns up to the decision, one column per symbol."""
        cfg = self.config
        assets = list(returns.columns)
        previous = previous_weights.reindex(assets).fillna(0.0)
        active = [s for s in signals if s.signal != "HOLD" and s.symbol in assets]
        strong = bool(active) and np.mean([s.confidence for s in active]) >= cfg.min_view_confidence
        groups = [[_group_name(sectors.get(a, "Unknown")) for a in assets]]
        method, views, model = "hierarchical_risk_parity", [], None
        if strong:
            views = [f"{s.symbol} == {s.expected_return / cfg.horizon_days:.8f}" for s in active]
            model = self._mean_risk(returns, views, active, previous, groups, sectors)
            method = "black_litterman_mean_risk"
        if model is None and (len(assets) < 3 or len(assets) * cfg.max_weight < 1):
            # skfolio's HRP needs 3+ assets to choose its clusters, and caps that can hold the
            # whole budget (it invests everything): else inverse volatility, capped.
            method = "inverse_volatility (too few assets for HRP under the caps)"
            model = InverseVolatility().fit(returns)
            capped = np.minimum(model.weights_, cfg.max_weight)
            weights = self._cap_sectors(pd.Series(capped, index=assets), sectors)
        elif model is None:
            method = (
                "hierarchical_risk_parity"
                if not strong
                else ("hierarchical_risk_parity (mean-risk infeasible)")
            )
            model = HierarchicalRiskParity(
                max_weights=cfg.max_weight,
                transaction_costs=cfg.transaction_cost,
                previous_weights=previous.to_numpy(),
            ).fit(returns)
            weights = self._cap_sectors(pd.Series(model.weights_, index=assets), sectors)
        else:
            weights = pd.Series(model.weights_, index=assets)
        weights = weights.where(weights.abs() > 1e-6, 0.0)
        distribution = model.prior_estimator_.return_distribution_
        w = weights.to_numpy()
        return Proposal(
            method=method,
            weights=weights,
            previous_weights=previous,
            expected_daily_return=float(distribution.mu @ w),
            expected_daily_volatility=float(np.sqrt(w @ distribution.covariance @ w)),
            views=views,
        )

    def _mean_risk(self, returns, views, active, previous, groups, sectors) -> MeanRisk | None:
        cfg = self.config
        assets = list(returns.columns)
        per_sector = pd.Series([sectors.get(a, "Unknown") for a in assets]).value_counts()
        attainable = float(np.minimum(cfg.max_sector_weight, cfg.max_weight * per_sector).sum())
        try:
            return MeanRisk(
                objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
                risk_aversion=cfg.risk_aversion,
                prior_estimator=BlackLitterman(
                    views=views, view_confidences=[s.confidence for s in active]
                ),
                min_weights=0.0,
                max_weights=cfg.max_weight,
                budget=None,
                min_budget=min(cfg.min_invested, attainable - 1e-6),
                max_budget=1.0,
                groups=groups,
                linear_constraints=[f"{g} <= {cfg.max_sector_weight}" for g in set(groups[0])],
                transaction_costs=cfg.transaction_cost,
                previous_weights=previous.to_numpy(),
                add_constraints=self._turnover_limit(previous),
            ).fit(returns)
        except Exception:  # skfolio raises when the constraints leave no feasible portfolio
            return None

    def _turnover_limit(self, previous: pd.Series):
        """Total turnover sum|w - w_prev| <= max_turnover (skfolio's own max_turnover bounds
        each asset separately). Building a book from cash is not a rebalance: no limit."""
        if not previous.abs().sum():
            return None
        limit, start = self.config.max_turnover, previous.to_numpy()
        return lambda w: [cp.norm1(w - start) <= limit]

    def _cap_sectors(self, weights: pd.Series, sectors: dict[str, str]) -> pd.Series:
        """HRP takes no linear constraints: scale a sector over its cap down to the cap, the
        excess stays in cash (never pushed into other names, which would break their caps)."""
        by_sector = weights.groupby(lambda s: sectors.get(s, "Unknown")).transform("sum")
        scale = np.minimum(1.0, self.config.max_sector_weight / by_sector.replace(0, np.nan))
        return weights * scale.fillna(1.0)

    def orders(
        self,
        proposal: Proposal,
        prices: pd.Series,
        nav_usd: float,
        timestamp: datetime,
        deadline_minutes: int = 30,
    ) -> Envelope:
        """Whole-share orders that move the book from the previous to the target weights."""
        change = (proposal.weights - proposal.previous_weights) * nav_usd
        orders = []
        for symbol, notional in change.items():
            shares = int(abs(notional) // prices[symbol])
            if shares == 0 or abs(notional) < self.config.min_trade_usd:
                continue
            orders.append(
                Order(
                    symbol=str(symbol),
                    action="BUY" if notional > 0 else "SELL",
                    quantity=shares,
                    urgency="MEDIUM",
                    max_participation=0.1,
                )
            )
        payload = RebalancingOrder(
            orders=orders,
            expected_cost=self.config.transaction_cost * proposal.turnover,
            deadline=timestamp + timedelta(minutes=deadline_minutes),
        )
        return envelope(AGENT_ID, payload, timestamp)
