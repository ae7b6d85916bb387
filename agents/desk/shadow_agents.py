"""Shadow mode for the Risk Manager, the Portfolio Optimizer and the Execution Agent: each
challenger's registered parameters run beside the champion's on the same cycle, and what
each would have forecast is recorded as a ``shadow_agents`` event. Nothing here trades, and
no state is folded from it (``monitoring.agent_evidence`` scores it).

What each challenger is asked, on the champion's own inputs so that only the model differs:

- **Risk Manager**: the one-day 99% forecast VaR of the book the champion desk set this
  cycle (with the session's hedge, when it carries one), from its EWMA covariance (its
  ``lookback_days`` and ``ewma_decay``) with Student-t tails, scored against the book's
  move to the next record;
- **Portfolio Optimizer**: the book it would propose (its shape, before the risk budget) on
  the same views, returns and holdings, with its forecast volatility on the champion's
  covariance, scored by what that book earned to the next record;
- **Execution Agent**: the expected cost of each order that filled, with the session's impact
  models and its half spread, scored against the fill's implementation shortfall.

The risk and optimizer parts are recorded when the champion sets a new target (its signals
changed: at least once a session); the evidence scores the first of each session against the
next session's, a day apart, the horizon of a one-day VaR. The execution part is recorded on
every cycle that filled an order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from agents.desk.steps import Snapshot
from agents.execution.impact import ImpactModel
from agents.messages import TradingSignal
from agents.portfolio_optimizer.optimizer import OptimizerConfig, PortfolioOptimizer
from agents.risk_manager.agent import STUDENT_T5_Q99_UNIT_VARIANCE, RiskLimits
from agents.risk_manager.budget import ewma_covariance

if TYPE_CHECKING:  # annotations only: agents.desk.models imports this module
    from agents.desk.models import DeskModels
    from agents.desk.session import SessionPreparation

EVENT = "shadow_agents"
AGENTS = ("risk_manager", "portfolio_optimizer", "execution")
TRADING_DAYS = 252


@dataclass(frozen=True)
class AgentChallenger:
    """A registered challenger of one of the three agents: its version and parameters."""

    agent: str
    version: str
    risk_limits: RiskLimits | None = None
    optimizer_config: OptimizerConfig | None = None
    half_spread: float | None = None


def _book_volatility(covariance: np.ndarray, weights: np.ndarray) -> float:
    return float(np.sqrt(max(weights @ covariance @ weights, 0.0)))


def forecast_var_99(session: SessionPreparation, book: pd.Series, limits: RiskLimits,
                    champion: RiskLimits) -> float:  # fmt: skip
    """The one-day 99% forecast VaR of ``book`` (the names' weights, carrying the session's
    hedge when it has one) as the Risk Manager forecasts it (``PreparedRisk.assess``), with
    the EWMA window and decay of ``limits``. With the ``champion``'s window and decay it is
    the session's own covariance, so a challenger with the same parameters forecasts the
    champion's number exactly."""
    symbols = session.risk.symbols
    own = (limits.lookback_days, limits.budget.ewma_decay)
    if own == (champion.lookback_days, champion.budget.ewma_decay):
        covariance = session.risk.covariance
    else:
        window = session.returns[symbols].tail(limits.lookback_days).fillna(0.0).to_numpy()
        covariance = ewma_covariance(window, limits.budget.ewma_decay)
    if session.hedge is not None:
        covariance = session.hedge.hedged_covariance(covariance, symbols)
    w = book.reindex(symbols).fillna(0.0).to_numpy()
    return STUDENT_T5_Q99_UNIT_VARIANCE * _book_volatility(covariance, w)


def risk_part(
    session: SessionPreparation,
    book: pd.Series,
    champion: RiskLimits,
    champion_version: str | None,
    challenger: AgentChallenger | None,
) -> dict:
    """Both VaR forecasts of the book, which is recorded with the hedge it carries."""
    held = {s: float(w) for s, w in book.items() if w}
    if session.hedge is not None:
        hedge = session.hedge.book(book, session.risk.covariance, session.risk.symbols)
        held[session.hedge.instrument] = float(hedge.weight)
    return {
        "champion_version": champion_version,
        "version": challenger.version if challenger else None,
        "book": held,
        "champion_var_99": forecast_var_99(session, book, champion, champion),
        "challenger_var_99": forecast_var_99(session, book, challenger.risk_limits, champion)
        if challenger else None,
    }  # fmt: skip


def optimizer_part(
    returns: Callable[[], pd.DataFrame],
    covariance: pd.DataFrame,
    champion_shape: pd.Series,
    signals: list[TradingSignal],
    held: pd.Series,
    sectors: dict[str, str],
    champion_config: OptimizerConfig,
    champion_version: str | None,
    challenger: AgentChallenger | None,
) -> dict:
    """Both books' shapes with their forecast annualised volatility on ``covariance`` (the
    champion's, so only the weights differ). ``returns`` gives the optimizer's window, taken
    only when a challenger with its own parameters solves: at 500 names the window's
    selection and dropna took about 2 ms (under the profiler) of a session-open cycle."""

    def volatility(shape: pd.Series) -> float:
        w = shape.reindex(covariance.index).fillna(0.0).to_numpy()
        return _book_volatility(covariance.to_numpy(), w) * TRADING_DAYS**0.5

    theirs = None
    if challenger is not None and challenger.optimizer_config == champion_config:
        # The same parameters on the same inputs propose the same book; solving again would
        # only add the solver's tolerance (weights apart by 1e-3 between processes).
        theirs = champion_shape
    elif challenger is not None:
        proposal = PortfolioOptimizer(challenger.optimizer_config).propose(
            returns(), signals, held, sectors
        )
        theirs = proposal.weights.reindex(champion_shape.index).fillna(0.0)
    return {
        "champion_version": champion_version,
        "version": challenger.version if challenger else None,
        "champion_weights": {s: float(w) for s, w in champion_shape.items() if w},
        "champion_forecast_volatility": volatility(champion_shape),
        "challenger_weights": {s: float(w) for s, w in theirs.items() if w}
        if theirs is not None else None,
        "challenger_forecast_volatility": volatility(theirs) if theirs is not None else None,
    }  # fmt: skip


def execution_part(fills: list[dict[str, Any]], prices: pd.Series, impact: dict[str, ImpactModel],
                   duration_days: float, champion_half_spread: float,
                   champion_version: str | None, challenger: AgentChallenger | None,
                   ) -> dict | None:  # fmt: skip
    """Per filled order: notional, realised shortfall and both models' expected cost (all
    fractions of notional); None when nothing filled."""
    orders = []
    for fill in fills:
        if not fill.get("quantity") or fill.get("implementation_shortfall") is None:
            continue
        symbol, shares = fill["symbol"], float(fill["ordered"])
        model = impact[symbol]
        orders.append({
            "symbol": symbol,
            "notional": shares * float(prices[symbol]),
            "shortfall": float(fill["implementation_shortfall"]),
            "champion_cost": model.expected_cost(shares, duration_days, champion_half_spread),
            "challenger_cost": model.expected_cost(shares, duration_days, challenger.half_spread)
            if challenger else None,
        })  # fmt: skip
    if not orders:
        return None
    return {"champion_version": champion_version,
            "version": challenger.version if challenger else None, "orders": orders}  # fmt: skip


def shadow_agents_payload(snap: Snapshot, parts: dict[str, dict | None]) -> dict | None:
    """The event's payload: the decision prices of everything the feed has (the hedge's too:
    the risk manager's book carries it) and each agent's part; None when no part was
    recorded this cycle."""
    parts = {agent: part for agent, part in parts.items() if part is not None}
    if not parts:
        return None
    prices = snap.marks
    return {
        "day": str(snap.day),
        "prices": {s: float(p) for s, p in prices.items() if np.isfinite(p)},
        **parts,
    }


def shadow_parts(
    snap: Snapshot,
    session: SessionPreparation,
    models: DeskModels,
    cycle_events: dict[str, dict[str, Any]],
    views: list[TradingSignal],
    fills: list[dict[str, Any]],
    optimizer_lookback_days: int,
    duration_days: float,
    anchor: pd.Series,
) -> dict[str, dict | None]:
    """Each agent's part of this cycle's record, from the cycle's own ``target_set`` and
    ``risk_budget`` events (by type) and its fills; ``anchor``: the book the champion's
    rebalance started from, which the challenger's starts from too."""
    versions, challengers = models.versions, models.shadow_agents
    parts: dict[str, dict | None] = {}
    if "target_set" in cycle_events:
        symbols = session.risk.symbols
        shape = pd.Series(cycle_events["target_set"]["weights"], dtype=float)
        shape = shape.reindex(snap.symbols).fillna(0.0)
        scale = float(cycle_events.get("risk_budget", {}).get("scale", 1.0))
        book = (shape * scale).reindex(symbols).fillna(0.0)
        parts["risk_manager"] = risk_part(
            session, book, models.risk_limits, versions.get("risk_manager"),
            challengers.get("risk_manager"),
        )  # fmt: skip
        covariance = pd.DataFrame(session.risk.covariance, index=symbols, columns=symbols)

        def returns() -> pd.DataFrame:
            return session.returns[snap.symbols].tail(optimizer_lookback_days).dropna(axis=1)

        canary = cycle_events["target_set"].get("canary")
        if canary:  # the book blends a canary's shape in: the champion's own is the main one
            shape = pd.Series(canary["main_weights"], dtype=float).reindex(snap.symbols)
            shape = shape.fillna(0.0)
        parts["portfolio_optimizer"] = optimizer_part(
            returns, covariance, shape, views, anchor, models.sectors,
            models.optimizer_config, versions.get("portfolio_optimizer"),
            challengers.get("portfolio_optimizer"),
        )  # fmt: skip
    parts["execution"] = execution_part(
        fills, snap.marks, session.impact, duration_days,
        models.execution_policy.half_spread, versions.get("execution"),
        challengers.get("execution"),
    )  # fmt: skip
    return parts
