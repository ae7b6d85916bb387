"""The book's shape from the analyst's views (Black-Litterman + mean-risk), or hierarchical
risk parity when the views are weak or the constraints infeasible, under position, sector,
turnover and cost constraints. The Risk Manager's budget sizes the shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import cvxpy as cp
import numpy as np
import pandas as pd
from skfolio.exceptions import OptimizationError
from skfolio.exceptions import SolverError as SkfolioSolverError
from skfolio.moments import EquilibriumMu
from skfolio.optimization import (
    HierarchicalRiskParity,
    InverseVolatility,
    MeanRisk,
    ObjectiveFunction,
)
from skfolio.prior import BlackLitterman, EmpiricalPrior

from agents.messages import Envelope, Order, RebalancingOrder, TradingSignal, envelope
from agents.portfolio_optimizer.prepared import (
    OptimizerPreparation,
    PreparedCovariance,
    prepare_covariance,
)
from agents.universe_limits import (
    POSITION_MULTIPLE,
    SECTOR_MULTIPLE,
    UNKNOWN_SECTOR,
    position_cap,
    sector_caps,
)

# What a mean-risk problem raises when its constraints leave no portfolio: only these fall
# back to hierarchical risk parity; any other error is a bug and propagates.
INFEASIBLE = (OptimizationError, SkfolioSolverError, cp.SolverError)

AGENT_ID = "portfolio_optimizer_001"


@dataclass(frozen=True)
class OptimizerConfig:
    """The optimizer proposes the book's shape, fully invested; the Risk Manager's budget
    then sets its size. Caps scale with the universe (``agents.universe_limits``)."""

    max_weight: float = 0.05  # floor of the per-name cap
    max_sector_weight: float = 0.15  # floor of the per-sector cap
    position_multiple: float = POSITION_MULTIPLE  # a name may hold this many equal shares
    sector_multiple: float = SECTOR_MULTIPLE  # a sector, this many equal-weight shares
    max_turnover: float = 0.5  # sum of |weight changes| per rebalance (not from a flat book)
    transaction_cost: float = 0.001  # per unit of weight traded (10 bp), once per trade
    # The equilibrium's risk aversion (He and Litterman's 2.5): the prior's returns are
    # delta * covariance @ equal weights. The objective's own risk aversion is delta / 2, so
    # that without views the optimum is the equilibrium book and views tilt it.
    risk_aversion: float = 2.5
    horizon_days: int = 5  # the analyst's forecasts are over this many days
    min_view_confidence: float = 0.51  # below this mean confidence, views are too weak
    min_trade_usd: float = 1_000.0
    # A long-short shape: the sum of its short weights at most this (0.3: a 130/30 book), each
    # short at most the per-name cap, sectors capped both ways. 0: long only (the default).
    max_short: float = 0.0


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
        self._prepared: OptimizerPreparation | None = None

    def prepare(self, returns: pd.DataFrame) -> None:
        """Before the open: the covariance of the window the session's proposals will read
        (``agents.portfolio_optimizer.prepared``). A proposal on any other window estimates
        its own; a window too short to estimate one is left to the proposal (which falls
        back as it always did)."""
        enough = returns.shape[0] > 1 and returns.shape[1] > 0
        self._prepared = prepare_covariance(returns) if enough else None

    def _covariance_estimator(self, returns: pd.DataFrame) -> PreparedCovariance | None:
        prepared = self._prepared
        if prepared is None or not prepared.matches(returns):
            return None  # skfolio's default estimator, on this window
        return PreparedCovariance(prepared.covariance)

    def propose(
        self,
        returns: pd.DataFrame,
        signals: list[TradingSignal],
        previous_weights: pd.Series,
        sectors: dict[str, str],
    ) -> Proposal:
        """The book's shape, fully invested. ``returns``: daily asset returns up to the
        decision, one column per symbol; ``previous_weights``: the book now, whatever its
        size (it is compared as a shape: the risk budget, not the optimizer, sizes it)."""
        cfg = self.config
        assets = list(returns.columns)
        previous = previous_weights.reindex(assets).fillna(0.0)
        if previous.sum() > 0:
            previous = previous / previous.sum()
        max_weight = position_cap(len(assets), cfg.max_weight, cfg.position_multiple)
        caps = sector_caps(assets, sectors, cfg.max_sector_weight, cfg.sector_multiple)
        active = [s for s in signals if s.signal != "HOLD" and s.symbol in assets]
        strong = bool(active) and np.mean([s.confidence for s in active]) >= cfg.min_view_confidence
        method, views, model = "hierarchical_risk_parity", [], None
        if strong:
            covariance = self._covariance_estimator(returns)
            views = self._views(returns, active, covariance)
            model = self._mean_risk(
                returns, views, active, previous, sectors, max_weight, caps, covariance
            )
            method = "black_litterman_mean_risk"
        if model is None and len(assets) < 3:
            # skfolio's HRP needs 3+ assets to choose its clusters: inverse volatility.
            method = "inverse_volatility (too few assets for HRP)"
            model = InverseVolatility().fit(returns)
            weights = pd.Series(np.minimum(model.weights_, max_weight), index=assets)
            weights = self._cap_sectors(weights, sectors, caps)
        elif model is None:
            method = "hierarchical_risk_parity" + (" (mean-risk infeasible)" if strong else "")
            model = HierarchicalRiskParity(
                max_weights=max_weight,
                transaction_costs=cfg.transaction_cost / cfg.horizon_days,
                previous_weights=previous.to_numpy(),
            ).fit(returns)
            weights = self._cap_sectors(pd.Series(model.weights_, index=assets), sectors, caps)
        else:
            weights = pd.Series(model.weights_, index=assets)
            if not model.turnover_limited_ and previous.abs().sum():
                method += " (turnover limit relaxed: the caps come first)"
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

    def _views(
        self, returns: pd.DataFrame, active: list[TradingSignal], covariance=None
    ) -> list[str]:
        """Absolute daily views: each name's equilibrium return plus the analyst's forecast
        *excess* return spread over its horizon (a negative excess forecast is a return
        below the name's equilibrium, not a loss)."""
        cfg = self.config
        equilibrium = (
            EquilibriumMu(risk_aversion=cfg.risk_aversion, covariance_estimator=covariance)
            .fit(returns)
            .mu_
        )
        prior = dict(zip(returns.columns, equilibrium, strict=True))
        return [
            f"{s.symbol} == {prior[s.symbol] + s.expected_return / cfg.horizon_days:.10f}"
            for s in active
        ]

    def _mean_risk(
        self, returns, views, active, previous, sectors, max_weight, caps, covariance=None
    ) -> MeanRisk | None:
        """Black-Litterman mean-risk under the caps, or None when they leave no portfolio.
        The one-off cost is spread over the forecasts' horizon (skfolio's objective is per
        day), else it outweighs any daily view and the book never moves."""
        assets = list(returns.columns)
        groups = [[_group_name(sectors.get(a, UNKNOWN_SECTOR)) for a in assets]]
        # The caps are hard and the turnover limit is a preference: when a drifted book cannot
        # reach the caps within the limit, the limit gives way before the views do.
        limit = self._turnover_limit(previous)
        for turnover_limit in [limit] + ([None] if limit is not None else []):
            model = self._fit_mean_risk(
                returns, views, active, previous, groups, max_weight, caps, turnover_limit,
                covariance,
            )  # fmt: skip
            if model is not None:
                model.turnover_limited_ = turnover_limit is not None
                return model
        return None

    def _fit_mean_risk(
        self, returns, views, active, previous, groups, max_weight, caps, turnover_limit,
        covariance=None,
    ) -> MeanRisk | None:  # fmt: skip
        cfg = self.config
        try:
            return MeanRisk(
                objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
                risk_aversion=cfg.risk_aversion / 2,
                prior_estimator=BlackLitterman(
                    views=views,
                    view_confidences=[s.confidence for s in active],
                    prior_estimator=EmpiricalPrior(
                        mu_estimator=EquilibriumMu(
                            risk_aversion=cfg.risk_aversion, covariance_estimator=covariance
                        ),
                        covariance_estimator=covariance,
                    ),
                ),
                min_weights=-max_weight if cfg.max_short > 0 else 0.0,
                max_weights=max_weight,
                budget=1.0,
                max_short=cfg.max_short if cfg.max_short > 0 else None,
                groups=groups,
                linear_constraints=self._sector_constraints(caps),
                transaction_costs=cfg.transaction_cost / cfg.horizon_days,
                previous_weights=previous.to_numpy(),
                add_constraints=turnover_limit,
            ).fit(returns)
        except INFEASIBLE:
            return None

    def _sector_constraints(self, caps: dict[str, float]) -> list[str]:
        """Each sector's net weight at most its cap; a long-short book's also at least minus
        its cap."""
        upper = [f"{_group_name(sector)} <= {cap}" for sector, cap in caps.items()]
        if not self.config.max_short:
            return upper
        return upper + [f"{_group_name(sector)} >= {-cap}" for sector, cap in caps.items()]

    def _turnover_limit(self, previous: pd.Series):
        """Total turnover sum|w - w_prev| <= max_turnover (skfolio's own max_turnover bounds
        each asset separately). Building a book from cash is not a rebalance: no limit."""
        if not previous.abs().sum():
            return None
        limit, start = self.config.max_turnover, previous.to_numpy()
        return lambda w: [cp.norm1(w - start) <= limit]

    @staticmethod
    def _cap_sectors(
        weights: pd.Series, sectors: dict[str, str], caps: dict[str, float]
    ) -> pd.Series:
        """HRP takes no linear constraints: scale a sector over its cap down to the cap, the
        excess stays in cash (never pushed into other names, which would break their caps)."""
        sector = weights.index.map(lambda s: sectors.get(s, UNKNOWN_SECTOR))
        by_sector = weights.groupby(sector).transform("sum")
        cap = pd.Series(sector.map(caps), index=weights.index, dtype=float)
        scale = np.minimum(1.0, cap / by_sector.replace(0, np.nan))
        return weights * scale.fillna(1.0)

    def orders(
        self,
        target: pd.Series,
        current: pd.Series,
        held_shares: pd.Series,
        prices: pd.Series,
        nav_usd: float,
        timestamp: datetime,
        *,
        cycle_id: str,
        method: str,
        conviction: float,
        model_version: str | int | None = None,
        deadline_minutes: int = 30,
    ) -> Envelope:
        """The rebalancing order: whole-share orders that move the book from ``current`` to
        ``target`` weights (both of NAV, on the same names). A long-only book never sells
        below zero, and a trade under ``min_trade_usd`` is not worth its ticket."""
        change = (target - current) * nav_usd
        shares = (change.abs() // prices).fillna(0.0)
        if not self.config.max_short:
            shares = shares.where(change >= 0, np.minimum(shares, held_shares))
        tradable = (shares > 0) & (change.abs() >= self.config.min_trade_usd)
        orders = [
            Order(symbol=str(s), action="BUY" if change[s] > 0 else "SELL", quantity=int(shares[s]))
            for s in shares.index[tradable]
        ]
        payload = RebalancingOrder(
            orders=orders,
            expected_cost=self.config.transaction_cost * float((target - current).abs().sum()),
            deadline=timestamp + timedelta(minutes=deadline_minutes),
            method=method,
            conviction=float(np.clip(conviction, 0.0, 1.0)),
            target_weights={str(s): float(w) for s, w in target.items() if w},
        )
        return envelope(
            AGENT_ID, payload, timestamp, cycle_id=cycle_id, model_version=model_version
        )
