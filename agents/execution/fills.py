"""Simulated fills against intraday bars, and implementation shortfall."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.execution.impact import ImpactModel

if TYPE_CHECKING:  # choice imports this module's fill model
    from agents.execution.choice import ScheduleChoice


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
) -> tuple[int, float]:
    """(shares filled, price) of one bucket's slice: at most ``max_participation`` of the
    bucket's volume, at mid +/- (half spread + temporary impact + the permanent impact of
    the ``traded`` shares before it)."""
    quantity = min(wanted, int(np.floor(max_participation * volume)))
    if quantity <= 0:
        return 0, float(mid)
    cost = half_spread + impact.temporary(quantity, bucket_days) + impact.permanent(traded)
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
) -> list[Fill]:
    """Fill each bucket's slice (``fill_slice``). A slice larger than ``max_participation``
    of the bucket's volume fills only that much; the rest carries to the next bucket, and
    what is left after the last bucket stays unfilled."""
    fills, carried, traded = [], 0, 0
    for bucket, (planned, mid, volume) in enumerate(
        zip(schedule, mid_prices, bucket_volumes, strict=True)
    ):
        wanted = int(planned) + carried
        quantity, price = fill_slice(
            side, wanted, mid, volume, traded, impact, half_spread=half_spread,
            max_participation=max_participation, bucket_days=bucket_days,
        )  # fmt: skip
        carried = wanted - quantity
        if quantity > 0:
            fills.append(Fill(bucket, quantity, price))
            traded += quantity
    return fills
