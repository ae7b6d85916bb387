"""The Execution Agent: chooses a schedule by urgency and executes it (on paper)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.execution.fills import ExecutionReport, simulate_fills
from agents.execution.impact import ImpactModel
from agents.execution.schedules import NYSE_HALF_HOUR_VOLUME_PROFILE, pov, twap, vwap
from agents.messages import Order

AGENT_ID = "execution_agent_001"


@dataclass(frozen=True)
class ExecutionPolicy:
    half_spread: float = 0.0002  # 2 bp: a liquid large cap
    high_urgency_participation: float = 0.2


class ExecutionAgent:
    def __init__(self, policy: ExecutionPolicy | None = None) -> None:
        self.policy = policy or ExecutionPolicy()

    def schedule(self, order: Order, bucket_volumes: np.ndarray) -> np.ndarray:
        """LOW urgency: TWAP; MEDIUM: VWAP; HIGH: POV at the policy's participation."""
        if order.urgency == "LOW":
            return twap(order.quantity, len(bucket_volumes))
        if order.urgency == "MEDIUM":
            profile = (
                bucket_volumes if np.sum(bucket_volumes) > 0 else NYSE_HALF_HOUR_VOLUME_PROFILE
            )
            return vwap(order.quantity, profile)
        return pov(order.quantity, self.policy.high_urgency_participation, bucket_volumes)

    def execute(
        self,
        order: Order,
        decision_price: float,
        mid_prices: np.ndarray,
        bucket_volumes: np.ndarray,
        impact: ImpactModel,
    ) -> ExecutionReport:
        side = 1 if order.action == "BUY" else -1
        fills = simulate_fills(
            side,
            self.schedule(order, bucket_volumes),
            mid_prices,
            bucket_volumes,
            impact,
            half_spread=self.policy.half_spread,
            max_participation=order.max_participation,
        )
        return ExecutionReport(side, order.quantity, fills, decision_price, float(mid_prices[-1]))
