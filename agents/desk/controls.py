"""What a person does to the desk from outside a cycle, recorded in the ledger with who
asked and why."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.desk.ledger import Event, EventLog
from agents.desk.state import current


class NotHalted(RuntimeError):
    """Clearing a halt that is not there is refused: the request is probably a mistake."""


def clear_halt(log: EventLog, *, requested_by: str, reason: str, reference: str) -> Event:
    """Lift the halt so the next cycle may trade again; its daily loss baseline restarts
    from the book's value then. ``reference`` (e.g. the Dagster run id) makes the request
    idempotent."""
    state = current(log)
    if not state.halted:
        raise NotHalted("the desk is not halted; nothing to clear")
    if not reason.strip():
        raise ValueError("clearing a halt needs a reason")
    at = datetime.fromisoformat(state.last_market_time) if state.last_market_time else None
    event = Event(
        event_id=f"manual-{reference}/halt_cleared",
        cycle_id=f"manual-{reference}",
        event_type="halt_cleared",
        market_time=at or datetime.now(UTC),
        payload={
            "requested_by": requested_by,
            "reason": reason,
            "cleared_reasons": state.halt_reasons,
            "recorded_at": datetime.now(UTC).isoformat(),
        },
    )
    log.append([event])
    return event
