"""The Risk Manager agent: assesses a proposed portfolio and vetoes when a limit breaks."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import pandas as pd

from agents.messages import Envelope, PositionLimit, RiskAssessment, envelope
from agents.risk_manager.budget import (
    TRADING_DAYS,
    RiskBudget,
    RiskBudgetPolicy,
    ewma_covariance,
    set_budget,
)
from agents.risk_manager.hedge import HedgedBook, HedgePolicy
from agents.risk_manager.measures import (
    TailRisk,
    beta_of,
    historical_tail_risk,
    monte_carlo_draws,
)
from agents.risk_manager.stress import StressResult, crisis_moves
from agents.universe_limits import (
    POSITION_MULTIPLE,
    SECTOR_MULTIPLE,
    UNKNOWN_SECTOR,
    position_cap,
    sector_caps,
)

AGENT_ID = "risk_manager_001"


@dataclass(frozen=True)
class RiskLimits:
    """Limits from config. The design document's 5% per position and 15% per sector are
    floors that scale with the universe (``agents.universe_limits``); the loss limits are the
    desk's, in fractions of portfolio value. The VaR limit is judged on the forecast (current,
    exponentially weighted volatility with Student-t tails), not on a 500-day history that
    learns of a crisis only after it."""

    max_weight: float = 0.05  # floor of the per-name cap
    max_sector_weight: float = 0.15  # floor of the per-sector cap
    position_multiple: float = POSITION_MULTIPLE  # a name may hold this many equal shares
    sector_multiple: float = SECTOR_MULTIPLE  # a sector, this many equal-weight shares
    max_gross_exposure: float = 1.0  # sum |w| of the names
    max_net_exposure: float = 1.0  # sum w of the names (a long-short book's net)
    # Every short pays this on its notional at each close it is held: the hedge, and a
    # long-short book's names (borrow fee and financing spread of large, liquid stocks).
    short_financing_annual: float = 0.005
    min_effective_positions: float = 8.0  # (sum |w|)^2 / sum w^2: concentration
    max_var_99: float = 0.04  # one-day forecast VaR at 99%
    max_stress_loss: float = 0.45  # worst replayed crisis
    lookback_days: int = 500
    budget: RiskBudgetPolicy = field(default_factory=RiskBudgetPolicy)
    hedge: HedgePolicy = field(default_factory=HedgePolicy)


# A weight at its cap, as the optimizer's solver returns it and the budget scales it, may sit
# a few parts in a million above it: that is the cap, not a breach.
SOLVER_TOLERANCE = 1e-6

# The 99% quantile of a Student-t with 5 degrees of freedom, scaled to unit variance: daily
# returns' fat tails on top of the current volatility.
STUDENT_T5_Q99_UNIT_VARIANCE = 3.36493 * (3 / 5) ** 0.5


@dataclass(frozen=True)
class Assessment:
    historical: TailRisk
    monte_carlo: TailRisk
    beta: float
    stress: list[StressResult]
    sector_weights: dict[str, float]
    effective_positions: float
    forecast_volatility: float = float("nan")  # annualised, EWMA
    forecast_var_99: float = float("nan")  # one day, on the EWMA volatility, t tails
    hedge_weight: float = 0.0  # the hedge the book was judged with (signed)
    veto_reasons: list[str] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        return not self.veto_reasons


class PreparedRisk:
    """Everything about a universe that does not depend on the weights, computed once (per
    trading day, for an intraday desk): the historical return window, the Monte Carlo draws,
    the crisis moves and the index. Assessing weights is then matrix products."""

    def __init__(
        self,
        limits: RiskLimits,
        prices: pd.DataFrame,
        sectors: dict[str, str],
        index: pd.Series | None = None,
    ) -> None:
        self.limits = limits
        self.symbols = list(prices.columns)
        returns = prices.pct_change().iloc[1:].tail(limits.lookback_days)
        self._returns = returns.fillna(0.0).to_numpy()
        self.covariance = ewma_covariance(self._returns, limits.budget.ewma_decay)
        self._simulated = monte_carlo_draws(returns)
        # The index's returns on the window's days, and which days have one (for beta).
        self._index_returns = None
        if index is not None:
            aligned = index.pct_change().reindex(returns.index).to_numpy()
            self._index_days = np.isfinite(aligned)
            self._index_returns = aligned[self._index_days]
        self._crises = crisis_moves(prices, index)
        self._sectors = pd.Series([sectors.get(s, UNKNOWN_SECTOR) for s in self.symbols])
        self.max_weight = position_cap(
            len(self.symbols), limits.max_weight, limits.position_multiple
        )
        # A book at its caps holds at least 1 / cap effective names: the concentration limit
        # never asks for more than the caps allow (the design's 8 is kept from 16 names up).
        self.min_effective_positions = min(limits.min_effective_positions, 1 / self.max_weight)
        self.sector_caps = sector_caps(
            self.symbols, sectors, limits.max_sector_weight, limits.sector_multiple
        )

    def budget(
        self,
        weights: pd.Series,
        regime: str | None,
        drawdown: float,
        covariance: np.ndarray | None = None,
    ) -> RiskBudget:
        """The scale the risk budget allows on ``weights`` (``agents.risk_manager.budget``);
        ``covariance``: the names' covariance to forecast with, when not the session's own
        (a hedged book's, ``HedgeModel.hedged_covariance``)."""
        w = weights.reindex(self.symbols).fillna(0.0).to_numpy(dtype=float)
        covariance = self.covariance if covariance is None else covariance
        return set_budget(
            w,
            covariance,
            self.limits.budget,
            regime=regime,
            drawdown=drawdown,
            max_scale=self._scale_within_caps(w),
        )

    def _scale_within_caps(self, w: np.ndarray) -> float:
        """The largest scale on ``w`` that keeps every name and sector within its cap."""
        held = np.abs(w) > 0
        if not held.any():
            return np.inf
        by_name = float((self.max_weight / np.abs(w[held])).min())
        sector_weights = pd.Series(w[held]).groupby(self._sectors[held].to_numpy()).sum().abs()
        caps = sector_weights.index.map(
            lambda s: self.sector_caps.get(s, self.limits.max_sector_weight)
        )
        by_sector = caps.to_numpy() / sector_weights.replace(0, np.nan).to_numpy()
        return min(by_name, float(np.nanmin(by_sector)) if np.isfinite(by_sector).any() else np.inf)

    def assess(self, weights: pd.Series, hedge: HedgedBook | None = None) -> Assessment:
        """``weights`` by symbol (fractions of value); symbols outside the universe are an
        error, not a silent zero. With ``hedge``, the forecast VaR and the crisis replays
        judge the book with the hedge it carries (a short that gains when the market falls);
        the caps and the gross limit apply to the names."""
        limits = self.limits
        unknown = set(weights.index) - set(self.symbols)
        if unknown:
            raise ValueError(f"weights for symbols outside the risk universe: {sorted(unknown)}")
        w = weights.reindex(self.symbols).fillna(0.0).to_numpy(dtype=float)
        portfolio = self._returns @ w
        historical = historical_tail_risk(portfolio)
        monte_carlo = historical_tail_risk(self._simulated @ w)
        beta = (
            beta_of(portfolio[self._index_days], self._index_returns)
            if self._index_returns is not None
            else float("nan")
        )
        covariance = self.covariance if hedge is None else hedge.covariance
        daily_vol = float(np.sqrt(max(w @ covariance @ w, 0.0)))
        forecast_var_99 = STUDENT_T5_Q99_UNIT_VARIANCE * daily_vol
        stress = [crisis.result(w) for crisis in self._crises]
        if hedge is not None and hedge.weight:
            stress = [
                replace(
                    s,
                    portfolio_return=s.portfolio_return
                    + hedge.weight * hedge.crisis_moves.get(s.scenario, s.index_return),
                )
                for s in stress
            ]
        held = w != 0
        sector_weights = pd.Series(w[held]).groupby(self._sectors[held].to_numpy()).sum().to_dict()
        # Effective number of names, (sum |w|)^2 / sum w^2: scale-free, so a book that is
        # partly in cash is as concentrated as its invested part (1 / sum w^2 is not).
        effective = float(np.abs(w).sum() ** 2 / (w**2).sum()) if held.any() else float("inf")

        reasons = []
        for symbol, weight in zip(self.symbols, w, strict=True):
            if abs(weight) > self.max_weight + SOLVER_TOLERANCE:
                reasons.append(f"{symbol} weight {weight:.4f} > max {self.max_weight:.4f}")
        for sector, weight in sector_weights.items():
            cap = self.sector_caps.get(sector, limits.max_sector_weight)
            if abs(weight) > cap + SOLVER_TOLERANCE:
                reasons.append(f"sector {sector} weight {weight:.4f} > max {cap:.4f}")
        gross = float(np.abs(w).sum())
        if gross > limits.max_gross_exposure + SOLVER_TOLERANCE:
            reasons.append(f"gross exposure {gross:.4f} > max {limits.max_gross_exposure:.4f}")
        net = float(w.sum())
        if abs(net) > limits.max_net_exposure + SOLVER_TOLERANCE:
            reasons.append(f"net exposure {net:.4f} beyond +/-{limits.max_net_exposure:.4f}")
        if effective < self.min_effective_positions:
            reasons.append(
                f"effective positions {effective:.1f} < min "
                f"{self.min_effective_positions:.1f} (concentration)"
            )
        if forecast_var_99 > limits.max_var_99:
            reasons.append(
                f"1-day forecast VaR 99% {forecast_var_99:.4f} > max {limits.max_var_99:.4f}"
            )
        worst = min(stress, key=lambda s: s.portfolio_return, default=None)
        if worst is not None and -worst.portfolio_return > limits.max_stress_loss:
            reasons.append(
                f"stress '{worst.scenario}' loses {-worst.portfolio_return:.4f} > "
                f"max {limits.max_stress_loss:.4f}"
            )
        return Assessment(
            historical,
            monte_carlo,
            beta,
            stress,
            sector_weights,
            effective,
            forecast_volatility=daily_vol * TRADING_DAYS**0.5,
            forecast_var_99=forecast_var_99,
            hedge_weight=hedge.weight if hedge is not None else 0.0,
            veto_reasons=reasons,
        )


class RiskManager:
    def __init__(self, limits: RiskLimits | None = None) -> None:
        self.limits = limits or RiskLimits()

    def prepare(
        self, prices: pd.DataFrame, sectors: dict[str, str], index: pd.Series | None = None
    ) -> PreparedRisk:
        return PreparedRisk(self.limits, prices, sectors, index)

    def assess(
        self,
        weights: pd.Series,
        prices: pd.DataFrame,
        sectors: dict[str, str],
        index: pd.Series | None = None,
    ) -> Assessment:
        """``weights`` by symbol (fractions of value), ``prices`` wide by date up to the
        decision (never later), one column per name of the universe (the caps scale with
        it; a column named like ``index`` is the index, not a name), ``sectors`` by symbol,
        ``index`` the benchmark's prices."""
        universe = [c for c in prices.columns if index is None or c != index.name]
        return self.prepare(prices[universe], sectors, index).assess(weights.astype(float))

    def message(
        self,
        assessment: Assessment,
        weights: pd.Series,
        timestamp: datetime,
        *,
        cycle_id: str,
        position_cap: float | None = None,
        model_version: str | int | None = None,
    ) -> Envelope:
        """The risk_assessment message on ``weights``: 95% historical VaR and ES, each held
        name's limit (``position_cap``: the cap this universe scales the floor to), the
        forecast 99% VaR against its limit, and the verdict with its reasons."""
        limits, forecast = self.limits, assessment.forecast_var_99
        cap = limits.max_weight if position_cap is None else position_cap
        payload = RiskAssessment(
            portfolio_var=max(assessment.historical.var_95, 0.0),
            portfolio_es=max(assessment.historical.es_95, 0.0),
            confidence_level=0.95,
            position_limits={
                str(s): PositionLimit(max_weight=cap, current=float(w))
                for s, w in weights.items()
                if w
            },
            risk_approval=assessment.approved,
            constraints=[
                f"max_weight: {cap}",
                f"max_sector_exposure: {limits.max_sector_weight}",
                f"max_gross_exposure: {limits.max_gross_exposure}",
                f"max_var_99: {limits.max_var_99}",
            ],
            veto_reasons=assessment.veto_reasons,
            forecast_var_99=None if np.isnan(forecast) else forecast,
            var_limit_99=limits.max_var_99,
        )
        return envelope(
            AGENT_ID, payload, timestamp, cycle_id=cycle_id, model_version=model_version
        )
