"""Did the desk lose or double anything? A check of the ledger's own invariants.

Every order a cycle recorded must be filled exactly once, every fill must answer a recorded
order, every cycle asked for must complete once, and its summary must agree with its fills.
The fault tests and the load benchmark count what breaks these (target: 0 and 0).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from agents.desk.ledger import Event


@dataclass(frozen=True)
class LedgerAudit:
    cycles: int
    orders: int
    fills: int
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.lost and not self.duplicated


def audit_ledger(events: Sequence[Event], expected_cycles: Iterable[str] = ()) -> LedgerAudit:
    """``events``: the log (or a slice of it, whole cycles); ``expected_cycles``: cycle ids
    that must have completed (those of the runs that succeeded)."""
    lost, duplicated = [], []
    for event_id, count in Counter(e.event_id for e in events).items():
        if count > 1:
            duplicated.append(f"event {event_id} stored {count} times")
    by_cycle: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_cycle[event.cycle_id].append(event)
    orders = fills = 0
    for cycle_id in set(expected_cycles) - set(by_cycle):
        lost.append(f"cycle {cycle_id}: no event at all")
    for cycle_id, cycle_events in by_cycle.items():
        completed = [e for e in cycle_events if e.event_type == "cycle_completed"]
        ordered = {
            e.payload["order_id"]: e.payload for e in cycle_events if e.event_type == "order"
        }
        filled = Counter(e.payload["order_id"] for e in cycle_events if e.event_type == "fill")
        orders, fills = orders + len(ordered), fills + sum(filled.values())
        if len(completed) > 1:
            duplicated.append(f"cycle {cycle_id} completed {len(completed)} times")
        if not completed:
            if cycle_id in set(expected_cycles):
                lost.append(f"cycle {cycle_id}: its run succeeded but it never completed")
            continue
        for order_id in ordered:
            if filled[order_id] == 0:
                lost.append(f"order {order_id}: recorded, never filled")
            elif filled[order_id] > 1:
                duplicated.append(f"order {order_id}: filled {filled[order_id]} times")
        for order_id in set(filled) - set(ordered):
            duplicated.append(f"fill for {order_id}: no such order recorded")
        summary = completed[0].payload
        shares = sum(e.payload["quantity"] for e in cycle_events if e.event_type == "fill")
        if summary["orders"] != len(ordered) or summary["filled_shares"] != shares:
            lost.append(
                f"cycle {cycle_id}: summary says {summary['orders']} orders, "
                f"{summary['filled_shares']} shares; the log holds {len(ordered)} orders, "
                f"{shares} shares"
            )
    cycles = sum(1 for c in by_cycle.values() if any(e.event_type == "cycle_completed" for e in c))
    return LedgerAudit(cycles, orders, fills, lost, duplicated)
