"""The paper broker: fills orders through the Execution Agent's fill model against the bar.

Money is rounded to cents once, here, and stored in the fill; every projection of the ledger
sums those integers, so positions and cash rebuild exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.execution.agent import ExecutionAgent
from agents.execution.impact import ImpactModel
from agents.execution.routing import ThompsonRouter
from agents.messages import Order


@dataclass(frozen=True)
class Commission:
    per_share: float = 0.005
    minimum: float = 1.0

    def dollars(self, shares: np.ndarray) -> np.ndarray:
        """Per order of ``shares`` (any array): the per-share fee, at least the minimum,
        nothing for an order that trades nothing."""
        shares = np.asarray(shares, dtype=float)
        return np.where(shares > 0, np.maximum(shares * self.per_share, self.minimum), 0.0)

    def cents(self, shares: int) -> int:
        return round(float(self.dollars(shares)) * 100)


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
        duration_days: float,
        router: ThompsonRouter | None = None,
    ) -> dict[str, Any]:
        """The fill event's payload: what filled, at what average price, what it cost, the
        schedule it traded with and, with a ``router``, the venue of each child order (its
        draws seeded by the order id, so a retried cycle routes as its first attempt)."""
        venues = None
        if router is not None:
            seed = int.from_bytes(hashlib.sha256(order_id.encode()).digest()[:8], "little")
            venues = router.route_children(len(bucket_volumes), np.random.default_rng(seed))
        report = self.agent.execute(
            order, decision_price, bucket_prices, bucket_volumes, impact, duration_days, venues
        )
        side = report.side
        gross_cents = sum(round(f.quantity * f.price * 100) for f in report.fills)
        commission = self.commission.cents(report.filled)
        bar_volume = float(np.sum(bucket_volumes))
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
            "schedule": report.schedule.payload() if report.schedule else None,
            "children": venues.children([f.bucket for f in report.fills]) if venues else None,
            # What filled against what the bar traded: the share of the market the order was.
            "participation": report.filled / bar_volume if bar_volume else None,
            "counterfactual_bp": report.counterfactual_bp,
        }
