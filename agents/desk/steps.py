"""What the decision cycle's steps hand to each other (and the Dagster assets store), and
the timer each step adds to its snapshot's ``compute_seconds``."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from agents.risk_manager.stress import last_present_values

# Annotations only: the code location imports these types for its decision assets without
# loading the agents' libraries (skfolio, DuckDB).
if TYPE_CHECKING:
    from agents.consensus.engine import Decision
    from agents.desk.state import DeskState
    from agents.messages import Envelope, Order
    from agents.risk_manager.agent import Assessment
    from agents.risk_manager.budget import RiskBudget
    from agents.risk_manager.hedge import HedgeTarget


@dataclass
class Snapshot:
    cycle_id: str
    at: datetime
    day: date
    symbols: list[str]
    state: DeskState
    completed: dict[str, Any] | None = None  # the recorded outcome, when the cycle already ran
    features: pd.DataFrame | None = None
    features_newest: datetime | None = None
    feature_coverage: float = 0.0
    prices: pd.Series | None = None  # decision prices of the names: the price at ``at``
    marks: pd.Series | None = None  # the price at ``at`` of everything the feed has (hedge too)
    history: pd.DataFrame | None = None  # daily closes before the session
    regime: str | None = None
    refused: str | None = None
    republished_features: bool = False  # the online store had lost them; published again
    # Seconds the desk itself spent on this cycle, step by step (not the orchestration
    # between Dagster steps): the decision latency the alerts and metrics report.
    compute_seconds: float = 0.0

    # Both describe the book before this cycle's trades (fills come last, in submit), and
    # are computed once.
    @cached_property
    def nav(self) -> float:
        marks = self.prices if self.marks is None else self.marks
        return self.state.nav_cents(marks.to_dict()) / 100

    def held_weight(self, symbol: str) -> float:
        """A position outside the names (the hedge), signed, as a fraction of NAV."""
        quantity = self.state.positions.get(symbol, 0)
        return quantity * float(self.marks[symbol]) / self.nav if quantity else 0.0

    @cached_property
    def weights(self) -> pd.Series:
        held = pd.Series(self.state.positions, dtype=float)
        values = held * self.prices.reindex(held.index)
        return (values / self.nav).reindex(self.symbols).fillna(0.0)

    @cached_property
    def closes(self) -> pd.Series | None:
        """Everything's last daily close before the session (None before the first one)."""
        if self.history is None or self.history.empty:
            return None
        return last_present(self.history)

    @cached_property
    def closing_shape(self) -> pd.Series:
        """The book as it stood at the previous close, known before the open (``weights``
        is at the cycle's prices): each name's value at its last close over the names' net
        value, the shape the optimizer reads. Without cash in it, so what the open books
        in cash (a short's financing) leaves it as the evening saw it. A book net short,
        as fractions of NAV at the close; the book at the cycle's prices when there is no
        previous close."""
        closes = self.closes
        if closes is None:
            return self.weights
        held = pd.Series(self.state.positions, dtype=float)
        values = (held * closes.reindex(held.index)).reindex(self.symbols).fillna(0.0)
        net = float(values.sum())
        if not values.any():
            return values
        if net > 0:
            return values / net
        return values / (self.state.nav_cents(closes.reindex(held.index).to_dict()) / 100)


@dataclass(frozen=True)
class Target:
    weights: pd.Series  # the book to trade to: the optimizer's shape sized by the budget
    method: str
    conviction: float
    reused: bool
    budget: RiskBudget | None = None  # the Risk Manager's sizing (None: the book is held)
    message: Envelope | None = None  # the rebalancing_order to it (None: the book is held)


@dataclass(frozen=True)
class RiskView:
    assessment: Assessment
    message: Envelope | None = None  # the risk_assessment the consensus reads


@dataclass(frozen=True)
class ExecutionPlan:
    symbols: list[str]
    direction: np.ndarray
    shares: np.ndarray
    expected_cost: np.ndarray  # fraction of notional


@dataclass(frozen=True)
class CycleDecision:
    halted: bool
    reasons: list[str]
    orders: list[Order]
    consensus: Decision | None = None
    hedge: HedgeTarget | None = None  # the Risk Manager's hedge for the book the orders leave


@dataclass(frozen=True)
class CycleResult:
    cycle_id: str
    at: datetime
    orders: int
    filled: int
    notional: float
    nav: float
    halted: bool
    refused: str | None
    replayed: bool
    latency_ms: float | None = None  # the desk's compute time (None for cycles logged before)


def last_present(frame: pd.DataFrame) -> pd.Series:
    """Each column's last value that is not NaN (NaN without any), named by the last row:
    ``frame.ffill().iloc[-1]`` without filling the whole frame. Why: a cycle asks for the
    previous closes of 500 names over years of sessions, and the fill cost about 4 ms;
    here only the columns missing on the last row are searched."""
    values = frame.to_numpy(dtype=float)
    last = values[-1].copy()
    missing = np.flatnonzero(np.isnan(last))
    if missing.size:
        block = values[:, missing]
        last[missing] = last_present_values(block, ~np.isnan(block))
    return pd.Series(last, index=frame.columns, name=frame.index[-1])


def timed_step(step: Callable) -> Callable:
    """Adds the step's wall time to its snapshot's ``compute_seconds``."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        started = time.perf_counter()
        out = step(self, *args, **kwargs)
        snap = out if isinstance(out, Snapshot) else args[0]
        snap.compute_seconds += time.perf_counter() - started
        return out

    return wrapper
