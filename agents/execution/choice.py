"""Which schedule an order trades with: the candidate (VWAP, TWAP, POV or the Almgren-Chriss
trajectory) with the lowest expected cost plus risk aversion times the variance of its
timing cost, both from the execution agent's own impact and fill model.

The choice reads only what is known when the order is sent: the order (size, urgency,
participation cap), the name's impact model (recent daily volatility and average daily
volume) and the expected volume of each bucket (from the ADV: never the bar's own volume,
which is known only after it). Urgency sets the risk aversion: a patient order minimises
expected cost, an urgent one pays to finish early. Risk aversion is in Almgren and Chriss's
units, per dollar of the order (their example uses 1e-6), so a larger order is more averse
to the same price risk in fractions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.execution.fills import simulate_fills
from agents.execution.impact import ImpactModel
from agents.execution.schedules import almgren_chriss, almgren_chriss_kappa, pov, twap, vwap

# In order of preference on a tie: VWAP, what the desk traded with before the choice, is
# kept unless another is better by more than ``min_improvement``.
CANDIDATES = ("vwap", "twap", "almgren_chriss", "pov")


@dataclass(frozen=True)
class ScheduleScore:
    algorithm: str
    slices: np.ndarray
    expected_cost: float  # fraction of the order's notional
    timing_risk: float  # standard deviation of the timing cost, same units
    objective: float  # expected cost + risk aversion x variance


@dataclass(frozen=True)
class ScheduleChoice:
    chosen: ScheduleScore
    scores: list[ScheduleScore]
    # Set when an adaptive scheduler traded the order instead (the RL champion): who it was
    # and why; ``chosen`` is then the classical schedule it replaced.
    adaptive: str | None = None

    def payload(self) -> dict:
        def bp(x: float) -> float:
            return round(x * 1e4, 3)

        classical = "lowest expected cost + risk aversion x variance: " + ", ".join(
            f"{s.algorithm} {bp(s.objective)} bp" for s in self.scores
        )
        return {
            "algorithm": "rl" if self.adaptive else self.chosen.algorithm,
            "expected_cost_bp": bp(self.chosen.expected_cost),
            "timing_risk_bp": bp(self.chosen.timing_risk),
            "why": f"{self.adaptive}; in place of {self.chosen.algorithm}, the {classical}"
            if self.adaptive
            else classical,
        }


def score(
    algorithm: str,
    slices: np.ndarray,
    quantity: int,
    expected_volumes: np.ndarray,
    impact: ImpactModel,
    half_spread: float,
    max_participation: float,
    bucket_days: float,
    risk_aversion: float,
) -> ScheduleScore:
    """Expected cost from the fill model at an unmoving price; variance from the shares
    still held through each bucket (and through one more bar for any left unfilled)."""
    fills = simulate_fills(
        1, slices, np.ones(len(slices)), expected_volumes, impact,
        half_spread=half_spread, max_participation=max_participation, bucket_days=bucket_days,
    )  # fmt: skip
    filled = np.zeros(len(slices))
    for fill in fills:
        filled[fill.bucket] = fill.quantity
    cost = sum(f.quantity * (f.price - 1.0) for f in fills) / quantity
    held = (quantity - np.concatenate([[0.0], np.cumsum(filled)[:-1]])) / quantity
    left = (quantity - filled.sum()) / quantity
    bucket_variance = impact.daily_volatility**2 * bucket_days
    variance = bucket_variance * (float(np.sum(held**2)) + len(slices) * left**2)
    return ScheduleScore(
        algorithm, slices, float(cost), float(np.sqrt(variance)),
        float(cost + risk_aversion * variance),
    )  # fmt: skip


def choose_schedule(
    quantity: int,
    price: float,
    urgency: str,
    max_participation: float,
    impact: ImpactModel,
    expected_volumes: np.ndarray,
    *,
    bucket_days: float,
    half_spread: float,
    risk_aversion_per_usd: dict[str, float],
    pov_participation: float,
    min_improvement: float = 0.0,
) -> ScheduleChoice:
    buckets = len(expected_volumes)
    risk_aversion = risk_aversion_per_usd[urgency] * quantity * price
    # The temporary impact per unit of the order's fraction per bucket, at TWAP's rate.
    twap_cost = impact.temporary(quantity / buckets, bucket_days)
    kappa = almgren_chriss_kappa(
        risk_aversion, impact.daily_volatility**2 * bucket_days, twap_cost * buckets
    )
    slices = {
        "vwap": vwap(quantity, expected_volumes),
        "twap": twap(quantity, buckets),
        "almgren_chriss": almgren_chriss(quantity, buckets, kappa),
        "pov": pov(quantity, pov_participation, expected_volumes),
    }
    scores = [
        score(a, slices[a], quantity, expected_volumes, impact, half_spread,
              max_participation, bucket_days, risk_aversion)
        for a in CANDIDATES
    ]  # fmt: skip
    best = min(scores, key=lambda s: s.objective)  # the first of equals: CANDIDATES' order
    chosen = best if best.objective < scores[0].objective - min_improvement else scores[0]
    return ScheduleChoice(chosen, scores)
