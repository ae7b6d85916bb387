"""The consensus's inbox: a message is read from its sent form and refused, with the field
that failed, when it is malformed, from the wrong agent, for another cycle, from the future,
too old, or past its deadline."""

from datetime import UTC, datetime, timedelta

import pytest

from agents.desk.inbox import Inbox, Refusal
from agents.messages import MessageType, Order, RebalancingOrder, TradingSignal, envelope

AT = datetime(2022, 12, 14, 14, 30, tzinfo=UTC)
CYCLE = "replay-20221214T1430Z"


def signal(**changes) -> dict:
    view = TradingSignal(symbol="AAPL", signal="BUY", confidence=0.7, expected_return=0.01)
    sent = envelope("market_analyst_001", view, AT, cycle_id=CYCLE).model_dump(mode="json")
    return {**sent, **changes}


@pytest.fixture
def inbox() -> Inbox:
    return Inbox(CYCLE, AT, timedelta(minutes=30))


def test_a_message_for_this_cycle_is_read_back_as_sent(inbox):
    delivery = inbox.receive([signal()], MessageType.TRADING_SIGNAL)
    assert not delivery.refused
    assert delivery.accepted[0].model_dump(mode="json") == signal()


@pytest.mark.parametrize(
    ("sent", "field", "reason"),
    [
        (signal(payload={**signal()["payload"], "confidence": 1.7}), "payload.confidence", "1"),
        (signal(payload={**signal()["payload"], "signal": "STRONG_BUY"}), "payload.signal", ""),
        (signal(agent_id="risk_manager_001"), "agent_id", "market_analyst_001"),
        (signal(cycle_id="replay-20221214T1400Z"), "cycle_id", "stale"),
        (signal(timestamp=(AT + timedelta(seconds=1)).isoformat()), "timestamp", "after"),
        (signal(timestamp=(AT - timedelta(hours=1)).isoformat()), "timestamp", "stale"),
        (signal(message_type="risk_assessment"), "message_type", "expected trading_signal"),
        (signal(schema_version=2, cycle_id=None), "cycle_id", "required"),
    ],
)
def test_a_bad_message_is_refused_with_the_field_that_failed(inbox, sent, field, reason):
    delivery = inbox.receive([sent, signal()], MessageType.TRADING_SIGNAL)
    assert len(delivery.accepted) == 1  # the good one still gets through
    (refusal,) = delivery.refused
    assert isinstance(refusal, Refusal) and refusal.message_type == "trading_signal"
    assert refusal.field.startswith(field) and reason in refusal.reason
    assert refusal.symbol == "AAPL" and refusal.field in refusal.describe()


def test_a_rebalancing_order_past_its_deadline_is_refused(inbox):
    order = RebalancingOrder(
        orders=[Order(symbol="AAPL", action="BUY", quantity=10)],
        expected_cost=0.001,
        deadline=AT - timedelta(minutes=1),
    )
    sent = envelope("portfolio_optimizer_001", order, AT, cycle_id=CYCLE)
    (refusal,) = inbox.receive([sent], MessageType.REBALANCING_ORDER).refused
    assert refusal.field == "payload.deadline"


def test_a_version_1_message_without_a_cycle_is_judged_by_its_time(inbox):
    old = signal(schema_version=1, cycle_id=None)
    assert inbox.receive([old], MessageType.TRADING_SIGNAL).accepted
    late = signal(schema_version=1, cycle_id=None, timestamp=(AT - timedelta(hours=2)).isoformat())
    assert inbox.receive([late], MessageType.TRADING_SIGNAL).refused[0].field == "timestamp"
