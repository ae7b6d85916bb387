"""Recording a cycle in the ledger: event ids derived from the cycle id, and one append per
phase inside ``Desk.run_cycle`` (decisions and orders before any fill; fills with the
cycle's close). Whatever happens, what was queued is written: a failure keeps its audit
trail of the steps before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from agents.consensus.engine import AGENTS, Ballot
from agents.desk.inbox import Refusal, sent_form
from agents.desk.ledger import Event, EventLog
from agents.desk.steps import CycleDecision, ExecutionPlan, Snapshot
from agents.messages import Envelope, MessageType


class CycleRecorder:
    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._pending: list[Event] | None = None  # queued events, inside ``one_append_per_phase``

    @staticmethod
    def event(snap: Snapshot, kind: str, payload: dict, key: str | None = None) -> Event:
        event_id = f"{snap.cycle_id}/{kind}" + (f"/{key}" if key else "")
        return Event(event_id, snap.cycle_id, kind, snap.at, payload)

    def record(self, snap: Snapshot, events: list[Event]) -> None:
        """Append (or, inside ``one_append_per_phase``, queue for one append), then apply to
        the cycle's state. Events another attempt of this cycle already wrote are applied
        too: the state was read without them. A completed cycle records nothing more."""
        if not events or snap.completed is not None:
            return
        if self._pending is None:
            self._written(snap, self.log.append(events))
        else:
            self._pending.extend(events)
        for event in events:
            snap.state.apply(event)

    def emit(self, snap: Snapshot, kind: str, payload: dict) -> None:
        """Record one event of the cycle."""
        self.record(snap, [self.event(snap, kind, payload)])

    def sent(
        self, snap: Snapshot, message_type: MessageType, messages: list[Envelope]
    ) -> list[dict]:
        """An agent's messages as sent, one event per type and cycle (on the bus, each type
        has its stream). Returns their sent forms, as recorded."""
        forms = [sent_form(m) for m in messages]
        self.emit(snap, f"sent_{message_type}", {"messages": forms})
        return forms

    def refused(self, snap: Snapshot, refusals: list[Refusal]) -> None:
        """Messages the consensus would not read, each with the field that failed."""
        self.record(snap, [
            self.event(snap, "message_refused", r.payload(), f"{r.message_type}/{i}")
            for i, r in enumerate(refusals)
        ])  # fmt: skip

    def flush(self, snap: Snapshot | None = None) -> None:
        if self._pending:
            written = self.log.append(self._pending)
            self._pending = []
            if snap is not None:
                self._written(snap, written)

    @staticmethod
    def _written(snap: Snapshot, written: list[Event]) -> None:
        """The state covers the log up to the newest event this cycle wrote."""
        if written:
            snap.state.sequence = max(snap.state.sequence, written[-1].sequence)

    @contextmanager
    def one_append_per_phase(self) -> Iterator[None]:
        """Queue a cycle's events and write them in as few transactions as its order
        guarantees allow. Whatever happens, the queue is written."""
        self._pending = []
        try:
            yield
        finally:
            try:
                self.flush()
            finally:
                self._pending = None

    def decision(
        self,
        snap: Snapshot,
        decision: CycleDecision,
        plan: ExecutionPlan,
        ballot: Ballot | None = None,
    ) -> CycleDecision:
        """Record the decision with every vote, weight, veto and price it was made on."""
        consensus = decision.consensus
        votes = (
            {a: dict(zip(ballot.symbols, map(float, ballot.support[a]), strict=True))
             for a in AGENTS}
            if ballot is not None
            else {}
        )  # fmt: skip
        self.emit(snap, "decision", {
            "halted": decision.halted,
            "reasons": decision.reasons,
            "proposed": len(plan.symbols),
            "approved": [o.symbol for o in decision.orders],
            "veto": bool(consensus and consensus.veto),
            "blocked_by_veto": [
                s for s, b in zip(plan.symbols, consensus.blocked_by_veto, strict=True) if b
            ] if consensus else [],
            "agent_weights": consensus.weights if consensus else {},
            "net_support": dict(zip(plan.symbols, map(float, consensus.net_support), strict=True))
            if consensus else {},
            "sizes": dict(zip(plan.symbols, map(float, consensus.size), strict=True))
            if consensus is not None and consensus.size is not None else {},
            "votes": votes,
            "directions": dict(zip(plan.symbols, map(int, plan.direction), strict=True)),
            "prices": {s: float(snap.prices[s]) for s in plan.symbols},
        })  # fmt: skip
        return decision
