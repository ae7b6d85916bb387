"""The ledger audit counts what was lost or doubled, and nothing else."""

from datetime import UTC, datetime

from agents.desk.ledger import Event
from monitoring.audit import audit_ledger

AT = datetime(2022, 12, 1, 14, 30, tzinfo=UTC)


def cycle(cycle_id: str, orders: dict[str, int], fills: dict[str, int], complete=True):
    events = [
        Event(f"{cycle_id}/order/{s}", cycle_id, "order", AT, {"order_id": f"{cycle_id}/{s}"})
        for s in orders
    ]
    for symbol, times in fills.items():
        events += [
            Event(f"{cycle_id}/fill/{symbol}/{i}", cycle_id, "fill", AT,
                  {"order_id": f"{cycle_id}/{symbol}", "quantity": orders.get(symbol, 1)})
            for i in range(times)
        ]  # fmt: skip
    if complete:
        shares = sum(orders.get(s, 1) * n for s, n in fills.items())
        summary = {"orders": len(orders), "filled_shares": shares}
        events.append(Event(f"{cycle_id}/done", cycle_id, "cycle_completed", AT, summary))
    return events


def test_a_clean_log_has_nothing_lost_or_doubled():
    events = cycle("a", {"AAPL": 10, "MSFT": 5}, {"AAPL": 1, "MSFT": 1}) + cycle("b", {}, {})
    audit = audit_ledger(events, expected_cycles=["a", "b"])
    assert audit.clean and (audit.cycles, audit.orders, audit.fills) == (2, 2, 2)


def test_each_kind_of_loss_and_duplicate_is_counted():
    events = (
        cycle("a", {"AAPL": 10, "MSFT": 5}, {"AAPL": 2})  # MSFT never filled, AAPL twice
        + cycle("b", {}, {"PEP": 1})  # a fill answering no order
        + cycle("c", {"KO": 3}, {}, complete=False)  # still open: not judged
    )
    events.append(events[0])  # one event stored twice
    audit = audit_ledger(events, expected_cycles=["a", "b", "d"])
    assert sorted(audit.lost) == [
        "cycle d: no event at all",
        "order a/MSFT: recorded, never filled",
    ]
    assert any("a/AAPL: filled 2 times" in d for d in audit.duplicated)
    assert any("fill for b/PEP" in d for d in audit.duplicated)
    assert any("stored 2 times" in d for d in audit.duplicated)
    assert not any("cycle c" in p for p in audit.lost + audit.duplicated)
