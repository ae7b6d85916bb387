"""The cycle's last two steps: the consensus decision from the agents' messages, and the
submission that records the orders, fills them and closes the cycle. A mixin of
``agents.desk.cycle.Desk``, whose ``run_cycle`` (and the decision assets) call them after
the target, the risk view and the execution plan. What they call lives beside them: the
ballot and the orders it approves in ``agents.desk.voting``, recording in
``agents.desk.recording``, the fills in ``agents.desk.settlement``. No Dagster import."""

from __future__ import annotations

import operator
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from agents.desk.breakers import BookState
from agents.desk.hedging import hedge_order
from agents.desk.inbox import Inbox, Refusal
from agents.desk.settlement import cycle_summary, fill_orders, record_orders, result_of
from agents.desk.state import DeskState, current
from agents.desk.steps import (
    CycleDecision,
    CycleResult,
    ExecutionPlan,
    Snapshot,
    timed_step,
)
from agents.desk.voting import approved_orders, ballot_for, flatten_orders, reduce_orders
from agents.execution.routing import ThompsonRouter
from agents.messages import Envelope, MessageType

if TYPE_CHECKING:
    from agents.consensus.engine import ConsensusEngine
    from agents.desk.breakers import CircuitBreakers
    from agents.desk.broker import PaperBroker
    from agents.desk.config import DeskConfig
    from agents.desk.feed import MarketDataFeed
    from agents.desk.ledger import EventLog
    from agents.desk.recording import CycleRecorder
    from agents.desk.session import SessionPreparation
    from agents.execution.venues import Venue


def _since(started: float) -> float:
    """Milliseconds since a ``time.perf_counter()`` reading."""
    return (time.perf_counter() - started) * 1000


def _the_same_objects(given: Sequence[object], held: Sequence[object]) -> bool:
    return len(given) == len(held) and all(map(operator.is_, given, held))


class DecisionSteps:
    config: DeskConfig
    feed: MarketDataFeed
    log: EventLog
    recorder: CycleRecorder
    breakers: CircuitBreakers
    consensus: ConsensusEngine
    broker: PaperBroker
    venues: list[Venue] | None
    _sent_signals: tuple[tuple[Envelope, ...], list[dict]] | None
    _settled: DeskState | None

    if TYPE_CHECKING:  # the desk's and its other mixins' (declared only: a stub would shadow)

        def session(self, snap: Snapshot) -> SessionPreparation: ...
        def _target_events(self, snap: Snapshot) -> dict[str, dict]: ...
        def _settle_canary(
            self, snap: Snapshot, events: dict[str, dict], fills: list[dict], closes: pd.Series
        ) -> None: ...
        def _record_shadow(self, snap: Snapshot, events: dict[str, dict]) -> None: ...
        def _record_agents_shadow(
            self, snap: Snapshot, events: dict[str, dict], fills: list[dict]
        ) -> None: ...

    @timed_step
    def decide(
        self,
        snap: Snapshot,
        signal_messages: list[Envelope | dict],
        order_message: Envelope | dict | None,
        risk_message: Envelope | dict | None,
        plan: ExecutionPlan,
    ) -> CycleDecision:
        """The consensus, from the agents' messages (as objects or in their sent form) and
        the execution agent's costs. A refused trading signal leaves its name without the
        analyst's vote; without a readable rebalancing order and risk assessment for this
        cycle the desk trades nothing. Either way the refusal is recorded with its field."""
        state, record = snap.state, self.recorder.decision
        if state.halted:
            return record(snap, CycleDecision(True, state.halt_reasons, []), plan)
        max_age = timedelta(seconds=self.config.max_message_age_seconds)
        inbox = Inbox(snap.cycle_id, snap.at, max_age)
        sent = self._sent_signals
        if sent is not None and _the_same_objects(signal_messages, sent[0]):
            # This desk's own (frozen) messages: read in the form the ledger recorded, the
            # form a decide in another process reads, without dumping 500 of them again.
            signal_messages = sent[1]
        delivery = inbox.receive(signal_messages, MessageType.TRADING_SIGNAL)
        self.recorder.refused(snap, delivery.refused)
        signals = [m.payload for m in delivery.accepted]
        mean_confidence = float(np.mean([s.confidence for s in signals])) if signals else None
        breaches = self.breakers.check(BookState(
            nav=snap.nav,
            session_start_nav=state.day_start_nav_cents / 100,
            position_values=snap.weights * snap.nav,
            recent_returns=self.session(snap).returns,
            mean_confidence=mean_confidence,
            usual_confidence=state.mean_confidence,
        ))  # fmt: skip
        if breaches:
            reasons = [b.reason for b in breaches]
            policy = self.config.breakers.policy
            self.recorder.emit(snap, "halt", {
                "reasons": reasons,
                "policy": policy,
                "breaches": {b.breaker: [b.value, b.threshold] for b in breaches},
            })  # fmt: skip
            return record(snap, CycleDecision(True, reasons, self._halt_orders(snap)), plan)
        if snap.refused:
            return record(snap, CycleDecision(False, [snap.refused], []), plan)
        rebalancing = inbox.read_one(order_message, MessageType.REBALANCING_ORDER)
        assessment = inbox.read_one(risk_message, MessageType.RISK_ASSESSMENT)
        refusals = [r for r in (rebalancing, assessment) if isinstance(r, Refusal)]
        self.recorder.refused(snap, refusals)
        refused = [r.describe() for r in refusals]
        if not refused and [o.symbol for o in rebalancing.payload.orders] != plan.symbols:
            refused = ["the execution plan does not price this cycle's rebalancing order"]
        if refused:
            return record(snap, CycleDecision(False, refused, []), plan)
        rebalancing, assessment = rebalancing.payload, assessment.payload
        ballot = ballot_for(
            snap, signals, rebalancing.support(), assessment.var_headroom(), plan,
            self.config.cost_budget,
        )  # fmt: skip
        weights = self.consensus.weights(state.agent_weights)
        consensus = self.consensus.decide(ballot, weights, assessment.veto_reasons)
        orders = approved_orders(plan, consensus)
        hedge, model = None, self.session(snap).hedge
        if model is not None:
            hedge, order = hedge_order(snap, model, orders)
            self.recorder.emit(snap, "hedge", hedge.payload())
            orders = [*orders, order] if order is not None else orders
        reasons = list(assessment.veto_reasons)
        decision = CycleDecision(False, reasons, orders, consensus, hedge)
        return record(snap, decision, plan, ballot)

    def submit(self, snap: Snapshot, decision: CycleDecision) -> CycleResult:
        """Record the orders, fill what is not filled yet, close the cycle
        (``agents.desk.settlement``)."""
        submit_started = time.perf_counter()
        if snap.completed is not None:
            return result_of(snap, snap.completed, replayed=True)
        orders, recorded = record_orders(snap, decision, self.log, self.recorder)
        self.recorder.flush(snap)  # every decision and order is durable before the first fill
        bar = self.feed.bar(snap.at)
        earlier = [e.payload for e in recorded if e.event_type == "fill"]
        fills = fill_orders(
            snap, orders, {f["order_id"] for f in earlier}, bar, self.feed.symbols,
            self.session(snap).impact, self.broker, self.recorder,
            self._router(snap.state),
        )  # fmt: skip
        closes = pd.Series(bar.close, index=self.feed.symbols)
        latency_ms = snap.compute_seconds * 1000 + _since(submit_started)
        summary = cycle_summary(
            snap, decision, orders, [e.payload for e in fills] + earlier, closes,
            bar.synthesized, latency_ms,
        )  # fmt: skip
        # Outside the decision's latency; the cycle closes after them.
        filled = [e.payload for e in fills] + earlier
        events = self._target_events(snap)  # this cycle's target and budget, read once
        self._settle_canary(snap, events, filled, closes)
        self._record_shadow(snap, events)
        self._record_agents_shadow(snap, events, filled)
        self.recorder.emit(snap, "cycle_completed", summary)
        self.recorder.flush(snap)
        # The snapshot is what the log holds now: if another writer (a clear-halt job)
        # appended meanwhile, the state is re-read to include it.
        foreign = self.log.read(after_sequence=snap.state.sequence)
        settled = current(self.log) if foreign else snap.state
        self.log.save_snapshot(settled.sequence, settled.to_dict())
        self._settled = settled
        return result_of(snap, summary, replayed=False)

    def _router(self, state: DeskState) -> ThompsonRouter | None:
        """The venue router as the ledger's fills so far have taught it."""
        if self.venues is None:
            return None
        return ThompsonRouter.learned(self.venues, state.venue_fills, state.venue_misses)

    def _halt_orders(self, snap: Snapshot) -> list:
        """What a breach does to the book before the halt, by the breakers' policy."""
        policy = self.config.breakers.policy
        if policy == "flatten":
            return flatten_orders(snap)
        if policy == "reduce":
            budget = self.session(snap).budget(snap.weights, snap.regime, snap.state.drawdown)
            return reduce_orders(snap, budget.scale * self.config.breakers.reduce_to)
        return []
