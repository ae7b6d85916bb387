"""The book's risk budget, set by the Risk Manager at every decision.

The optimizer proposes a book's *shape* (relative weights); the risk budget sets its *size*:
the gross exposure at which the proposed book's forecast volatility meets the target.

- Forecast, not history: the book's volatility is forecast from an exponentially weighted
  covariance (RiskMetrics, decay 0.94, a half-life of about 11 sessions) of the returns up
  to the previous close, so the budget reacts within days of a volatility spike instead of
  after a 500-day window has filled with it.
- Regime-aware: in the regime model's ``stressed`` state the budget is cut by
  ``stressed_scale`` (the design's regime-aware risk).
- Drawdown control: from ``drawdown_start`` below the book's peak the budget shrinks
  linearly to ``drawdown_floor_scale`` at ``drawdown_full``; it never goes to zero, so a book
  that has lost keeps enough exposure to recover.

The budget is a scale on the proposed weights, capped so that gross exposure never exceeds
``max_gross`` (no leverage on a long-only book by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TRADING_DAYS = 252
RISKMETRICS_DECAY = 0.94


@dataclass(frozen=True)
class RiskBudgetPolicy:
    enabled: bool = True
    target_volatility: float = 0.10  # annualised, of the whole book
    max_gross: float = 1.0  # sum |w| at most this
    stressed_scale: float = 0.75  # the budget's share kept in the stressed regime
    drawdown_start: float = 0.05  # below the peak, the drawdown control starts here...
    drawdown_full: float = 0.15  # ...and reaches its floor here
    drawdown_floor_scale: float = 0.5
    ewma_decay: float = RISKMETRICS_DECAY


@dataclass(frozen=True)
class RiskBudget:
    scale: float  # applied to the proposed weights
    gross_exposure: float  # of the budgeted book
    forecast_volatility: float  # annualised, of the budgeted book
    proposed_volatility: float  # annualised, of the proposed book before the budget
    regime: str | None
    drawdown: float
    reasons: list[str] = field(default_factory=list)


def ewma_covariance(returns: np.ndarray, decay: float = RISKMETRICS_DECAY) -> np.ndarray:
    """Exponentially weighted covariance of daily returns (rows: days, oldest first), zero
    mean as RiskMetrics does for daily horizons; NaN returns count as no move."""
    r = np.nan_to_num(np.asarray(returns, dtype=float))
    if not len(r):
        return np.zeros((r.shape[1], r.shape[1]))
    weights = ewma_weights(len(r), decay)
    return (r * weights[:, None]).T @ r


def ewma_weights(days: int, decay: float = RISKMETRICS_DECAY) -> np.ndarray:
    """The weights of ``days`` daily observations, oldest first, summing to one."""
    weights = decay ** np.arange(days - 1, -1, -1, dtype=float)
    return weights / weights.sum()


def drawdown_scale(drawdown: float, policy: RiskBudgetPolicy) -> float:
    """1 above ``drawdown_start``, the floor from ``drawdown_full``, linear in between."""
    if drawdown <= policy.drawdown_start:
        return 1.0
    if drawdown >= policy.drawdown_full:
        return policy.drawdown_floor_scale
    depth = (drawdown - policy.drawdown_start) / (policy.drawdown_full - policy.drawdown_start)
    return 1.0 - depth * (1.0 - policy.drawdown_floor_scale)


def set_budget(
    weights: np.ndarray,
    covariance: np.ndarray,
    policy: RiskBudgetPolicy,
    *,
    regime: str | None = None,
    drawdown: float = 0.0,
    max_scale: float = np.inf,
) -> RiskBudget:
    """The scale on ``weights`` (fractions of NAV, aligned with ``covariance``, a daily
    covariance) that the budget allows, and why. ``max_scale``: the largest scale that keeps
    every name and sector within its cap (a shape under-invested because of its caps must
    not be levered past them: the veto would then block the whole cycle)."""
    w = np.asarray(weights, dtype=float)
    gross = float(np.abs(w).sum())
    proposed_vol = float(np.sqrt(max(w @ covariance @ w, 0.0) * TRADING_DAYS))
    if not policy.enabled or gross == 0:
        return RiskBudget(1.0, gross, proposed_vol, proposed_vol, regime, drawdown)
    reasons = []
    scale = policy.target_volatility / proposed_vol if proposed_vol > 0 else np.inf
    reasons.append(
        f"volatility target {policy.target_volatility:.1%} / forecast {proposed_vol:.1%}"
    )
    if regime == "stressed":
        scale *= policy.stressed_scale
        reasons.append(f"stressed regime x{policy.stressed_scale:g}")
    by_drawdown = drawdown_scale(drawdown, policy)
    if by_drawdown < 1.0:
        scale *= by_drawdown
        reasons.append(f"drawdown {drawdown:.1%} x{by_drawdown:.2f}")
    cap = policy.max_gross / gross
    if scale >= cap:
        scale = cap
        reasons.append(f"gross capped at {policy.max_gross:g}")
    if scale > max_scale:
        scale = max_scale
        reasons.append("position and sector caps")
    return RiskBudget(
        scale=float(scale),
        gross_exposure=gross * float(scale),
        forecast_volatility=proposed_vol * float(scale),
        proposed_volatility=proposed_vol,
        regime=regime,
        drawdown=drawdown,
        reasons=reasons,
    )
