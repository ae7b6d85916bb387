"""The end of a cycle: its orders recorded (ids from the cycle id), every order not filled
yet filled by the paper broker on the cycle's bar, and the cycle's summary. A retry uses the
orders its first attempt recorded, never new ones, and fills each order once."""

from __future__ import annotations

from typing import Any

import pandas as pd

from agents.desk.broker import PaperBroker
from agents.desk.feed import BAR_DAYS, Bar
from agents.desk.ledger import Event, EventLog
from agents.desk.recording import CycleRecorder
from agents.desk.steps import CycleDecision, CycleResult, Snapshot
from agents.execution.impact import ImpactModel
from agents.execution.routing import ThompsonRouter
from agents.messages import Order


def record_orders(
    snap: Snapshot, decision: CycleDecision, log: EventLog, recorder: CycleRecorder
) -> tuple[dict[str, dict[str, Any]], list[Event]]:
    """The cycle's orders by id, and the order and fill events an earlier attempt of this
    cycle recorded (a retry resumes those orders instead of deciding new ones)."""
    recorded = log.read(cycle_id=snap.cycle_id, event_types=["order", "fill"])
    orders = {e.payload["order_id"]: e.payload for e in recorded if e.event_type == "order"}
    if not orders:
        orders = {
            f"{snap.cycle_id}/{o.symbol}": {
                "order_id": f"{snap.cycle_id}/{o.symbol}",
                **o.model_dump(),
                "decision_price": float(snap.marks[o.symbol]),
            }
            for o in decision.orders
        }
        recorder.record(snap, [
            recorder.event(snap, "order", payload, key=order_id)
            for order_id, payload in orders.items()
        ])  # fmt: skip
    return orders, recorded


def fill_orders(
    snap: Snapshot,
    orders: dict[str, dict[str, Any]],
    already_filled: set[str],
    bar: Bar,
    feed_symbols: list[str],
    impact: dict[str, ImpactModel],
    broker: PaperBroker,
    recorder: CycleRecorder,
    router: ThompsonRouter | None = None,
) -> list[Event]:
    """Fill every order not filled yet through the bar's buckets, each child order routed
    by ``router`` (None: no venue); records the fills."""
    row = {s: i for i, s in enumerate(feed_symbols)}
    fills = []
    for order_id, payload in orders.items():
        if order_id in already_filled:
            continue
        order = Order(**{k: payload[k] for k in Order.model_fields})
        i = row[order.symbol]
        fills.append(recorder.event(snap, "fill", broker.execute(
            order_id, order, payload["decision_price"], bar.bucket_prices[i],
            bar.bucket_volumes[i], impact[order.symbol], BAR_DAYS, router,
        ), key=order_id))  # fmt: skip
    recorder.record(snap, fills)
    return fills


def cycle_summary(
    snap: Snapshot,
    decision: CycleDecision,
    orders: dict[str, dict[str, Any]],
    fills: list[dict[str, Any]],
    closes: pd.Series,
    bar_synthesized: bool,
    latency_ms: float,
) -> dict[str, Any]:
    """The ``cycle_completed`` payload: what the cycle did and the book it left."""
    return {
        "orders": len(orders),
        "filled_shares": int(sum(f["quantity"] for f in fills)),
        "notional": float(sum(p["quantity"] * p["decision_price"] for p in orders.values())),
        "nav_at_bar_close": snap.state.nav_cents(closes.to_dict()) / 100,
        "halted": decision.halted,
        "refused": snap.refused,
        "bar_synthesized": bar_synthesized,
        "positions": dict(snap.state.positions),
        "cash": snap.state.cash_cents / 100,
        "latency_ms": round(latency_ms, 3),
    }


def result_of(snap: Snapshot, summary: dict[str, Any], replayed: bool) -> CycleResult:
    return CycleResult(
        cycle_id=snap.cycle_id,
        at=snap.at,
        orders=summary["orders"],
        filled=summary["filled_shares"],
        notional=summary["notional"],
        nav=summary["nav_at_bar_close"],
        halted=summary["halted"],
        refused=summary["refused"],
        replayed=replayed,
        latency_ms=summary.get("latency_ms"),
    )
