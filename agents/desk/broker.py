"""The paper broker: fills orders through the Execution Agent's fill model against the bar.

Money is rounded to cents once, here, and stored in the fill; every projection of the ledger
sums those integers, so positions and cash rebuild exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.execution.agent import ExecutionAgent
from agents.execution.impact import ImpactModel
from agents.messages import Order


@dataclass(frozen=True)
class Commission:
    per_share: float = 0.005
    minimum: float = 1.0

    def cents(self, shares: int) -> int:
        return round(max(self.per_share * shares, self.minimum) * 100) if shares else 0


class PaperBroker:
    def __init__(self, agent: ExecutionAgent, commission: Commission | None = None) -> None:
        self.agent = agent
        self.commission = commission or Commission()

    def execute(
        self,
        order_id: str,
        order: Order,
        decision_price: float,
        bucket_prices: np.ndarray,
        bucket_volumes: np.ndarray,
        impact: ImpactModel,
    ) -> dict[str, Any]:
        """The fill event's payload: what filled, at what average price, what it cost."""
        report = self.agent.execute(order, decision_price, bucket_prices, bucket_volumes, impact)
        side = report.side
        gross_cents = sum(round(f.quantity * f.price * 100) for f in report.fills)
        commission = self.commission.cents(report.filled)
        return {
            "order_id": order_id,
            "symbol": order.symbol,
            "action": order.action,
            "ordered": order.quantity,
            "quantity": report.filled,
            "signed_quantity": side * report.filled,
            "unfilled": order.quantity - report.filled,
            "average_price": report.average_price if report.filled else None,
            "cash_delta_cents": -side * gross_cents - commission,
            "commission_cents": commission,
            "implementation_shortfall": report.implementation_shortfall,
            "slices": [[f.bucket, f.quantity, round(f.price, 6)] for f in report.fills],
        }
