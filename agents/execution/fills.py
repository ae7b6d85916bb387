"""Simulated fills against intraday bars, and implementation shortfall."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.execution.impact import ImpactModel

if TYPE_CHECKING:  # choice and routing import this module's fill model
    from agents.execution.choice import ScheduleChoice
    from agents.execution.routing import VenueOutcomes


@dataclass(frozen=True)
class Fill:
    bucket: int
    quantity: int
    price: float


@dataclass(frozen=True)
class ExecutionReport:
    side: int  # +1 buy, -1 sell
    ordered: int
    fills: list[Fill]
    decision_price: float
    end_price: float
    schedule: ScheduleChoice | None = None  # the schedule it traded with, and why
    venues: VenueOutcomes | None = None  # where each bucket's child order went
    # What each other schedule would have cost on the same bar and venues, in bp (post-trade
    # analysis: ``ExecutionAgent(counterfactuals=True)``)
    counterfactual_bp: dict[str, float] | None = None

    @property
    def filled(self) -> int:
        return sum(f.quantity for f in self.fills)

    @property
    def average_price(self) -> float:
        return (
            sum(f.quantity * f.price for f in self.fills) / self.filled
            if self.filled
            else float("nan")
        )

    @property
    def implementation_shortfall(self) -> float:
        """Perold's shortfall as a fraction of the order's value at the decision price: what
        the fills cost against that price, plus the move on the shares never filled."""
        paper = self.ordered * self.decision_price
        executed = sum(self.side * f.quantity * (f.price - self.decision_price) for f in self.fills)
        opportunity = (
            self.side * (self.ordered - self.filled) * (self.end_price - self.decision_price)
        )
        return (executed + opportunity) / paper


def fill_slice(
    side: int,
    wanted: int,
    mid: float,
    volume: float,
    traded: int,
    impact: ImpactModel,
    *,
    half_spread: float,
    max_participation: float,
    bucket_days: float,
    capacity: float = 1.0,
    venue_cost: float = 0.0,
) -> tuple[int, float]:
    """(shares filled, price) of one bucket's slice: at most ``max_participation`` of the
    bucket's volume (times ``capacity``: a venue's hidden liquidity adds to it), at mid +/-
    (half spread + temporary impact + the permanent impact of the ``traded`` shares before
    it + ``venue_cost``, the venue's fee or a missed child's cost, as a fraction)."""
    quantity = min(wanted, int(np.floor(max_participation * capacity * volume)))
    if quantity <= 0:
        return 0, float(mid)
    cost = (half_spread + impact.temporary(quantity, bucket_days) + impact.permanent(traded)
            + venue_cost)  # fmt: skip
    return quantity, float(mid * (1 + side * cost))


def simulate_fills(
    side: int,
    schedule: np.ndarray,
    mid_prices: np.ndarray,
    bucket_volumes: np.ndarray,
    impact: ImpactModel,
    *,
    half_spread: float,
    max_participation: float,
    bucket_days: float = 1 / 13,
    venues: VenueOutcomes | None = None,
) -> list[Fill]:
    """Fill each bucket's slice (``fill_slice``). A slice larger than ``max_participation``
    of the bucket's volume fills only that much; the rest carries to the next bucket, and
    what is left after the last bucket stays unfilled. ``venues``: where each bucket's child
    order was routed and how it fared (``agents.execution.routing``); None: no venue."""
    fills, carried, traded = [], 0, 0
    for bucket, (planned, mid, volume) in enumerate(
        zip(schedule, mid_prices, bucket_volumes, strict=True)
    ):
        wanted = int(planned) + carried
        quantity, price = fill_slice(
            side, wanted, mid, volume, traded, impact, half_spread=half_spread,
            max_participation=max_participation, bucket_days=bucket_days,
            capacity=1.0 if venues is None else float(venues.capacity[bucket]),
            venue_cost=0.0 if venues is None else float(venues.cost[bucket]),
        )  # fmt: skip
        carried = wanted - quantity
        if quantity > 0:
            fills.append(Fill(bucket, quantity, price))
            traded += quantity
    return fills
