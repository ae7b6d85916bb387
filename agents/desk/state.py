"""The desk's state as a projection of its event log (event sourcing's read side).

``DeskState.apply`` is the only place an event changes state; rebuilding from the log is
folding every event through it. Money is in integer cents, so a rebuild agrees to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from agents.desk.ledger import Event, EventLog


@dataclass
class DeskState:
    capital_cents: int = 0
    cash_cents: int = 0
    positions: dict[str, int] = field(default_factory=dict)  # shares
    commissions_cents: int = 0
    financing_cents: int = 0  # paid on shorts (``agents.desk.financing``), positive
    halted: bool = False
    halt_reasons: list[str] = field(default_factory=list)
    agent_weights: dict[str, float] = field(default_factory=dict)  # empty: the defaults
    agent_scores: dict[str, float] = field(default_factory=dict)
    day: str | None = None  # the session of the latest loss baseline
    day_start_nav_cents: int = 0  # the daily loss limit's baseline
    peak_nav_cents: int = 0  # the highest session-open NAV: the drawdown control's peak
    rebase_pending: bool = False  # a cleared halt: the next cycle takes a new baseline
    target: dict[str, Any] = field(default_factory=dict)  # latest target_set payload
    last_decision: dict[str, Any] = field(default_factory=dict)  # votes and prices, for scoring
    mean_confidence: float | None = None  # exponentially weighted, for the confidence breaker
    # Cycles whose orders are in the log but which never completed (their run died between
    # orders and fills): cycle id -> market time. The desk finishes these before any other.
    open_cycles: dict[str, str] = field(default_factory=dict)
    last_cycle_id: str | None = None
    # The venue router's posterior (``agents.execution.routing``): per venue, the child
    # orders the fills record as filled there and as missed there.
    venue_fills: dict[str, int] = field(default_factory=dict)
    venue_misses: dict[str, int] = field(default_factory=dict)
    last_market_time: str | None = None
    # The canary sub-book's latest record (``agents.desk.canary``); empty: no canary runs.
    canary: dict[str, Any] = field(default_factory=dict)
    sequence: int = 0

    def apply(self, event: Event) -> None:
        p = event.payload
        match event.event_type:
            case "account_opened":
                self.capital_cents += p["cash_cents"]
                self.cash_cents += p["cash_cents"]
            case "fill":
                symbol = p["symbol"]
                held = self.positions.get(symbol, 0) + p["signed_quantity"]
                if held:
                    self.positions[symbol] = held
                else:
                    self.positions.pop(symbol, None)
                self.cash_cents += p["cash_delta_cents"]
                self.commissions_cents += p["commission_cents"]
                for _, venue, filled in p.get("children") or ():
                    counts = self.venue_fills if filled else self.venue_misses
                    counts[venue] = counts.get(venue, 0) + 1
            case "financing":
                self.cash_cents += p["cash_delta_cents"]
                self.financing_cents -= p["cash_delta_cents"]
            case "halt":
                self.halted, self.halt_reasons = True, list(p["reasons"])
            case "halt_cleared":
                self.halted, self.halt_reasons, self.rebase_pending = False, [], True
            case "agents_scored":
                self.agent_scores = dict(p["scores"])
                self.agent_weights = dict(p["weights"])
            case "loss_baseline":
                self.day, self.day_start_nav_cents = p["day"], p["nav_cents"]
                self.peak_nav_cents = max(self.peak_nav_cents, p["nav_cents"])
                self.rebase_pending = False
            case "target_set":
                self.target = dict(p)
            case "decision":
                self.last_decision = {
                    "cycle_id": event.cycle_id,
                    "votes": p["votes"],
                    "directions": p["directions"],
                    "prices": p["prices"],
                }
            case "signals":
                self.mean_confidence = p["smoothed_mean_confidence"]
            case "order":
                self.open_cycles[event.cycle_id] = event.market_time.isoformat()
            case "canary_book":
                self.canary = dict(p) if p.get("version") else {}
            case "cycle_completed":
                self.open_cycles.pop(event.cycle_id, None)
                self.last_cycle_id = event.cycle_id
                self.last_market_time = event.market_time.isoformat()
        if event.sequence is not None:
            self.sequence = max(self.sequence, event.sequence)

    def nav_cents(self, prices: dict[str, float]) -> int:
        return self.cash_cents + sum(
            round(quantity * prices[symbol] * 100) for symbol, quantity in self.positions.items()
        )

    @property
    def drawdown(self) -> float:
        """How far the session's opening NAV is below the highest one, as a fraction."""
        if self.peak_nav_cents <= 0:
            return 0.0
        return max(0.0, 1.0 - self.day_start_nav_cents / self.peak_nav_cents)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeskState:
        return cls(**data)

    @classmethod
    def fold(cls, events: Iterable[Event], start: DeskState | None = None) -> DeskState:
        state = start if start is not None else cls()
        for event in events:
            state.apply(event)
        return state


def rebuild(log: EventLog) -> DeskState:
    """The state from the whole log, ignoring snapshots."""
    return DeskState.fold(log.read())


def current(
    log: EventLog, *, excluding_cycle: str | None = None, start: DeskState | None = None
) -> DeskState:
    """The latest snapshot (or ``start``, a state the caller already holds) plus every
    event after it. ``excluding_cycle`` leaves out the events of a cycle being retried, so
    the retry sees the state its first attempt saw."""
    if start is None:
        snapshot = log.latest_snapshot()
        start = DeskState.from_dict(snapshot[1]) if snapshot else None
    sequence = start.sequence if start is not None else 0
    tail = [e for e in log.read(after_sequence=sequence) if e.cycle_id != excluding_cycle]
    return DeskState.fold(tail, start)
