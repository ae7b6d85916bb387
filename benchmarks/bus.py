"""Messages per second the desk's Redis Streams bus takes from one producer, and what
publishing adds to a cycle's ledger appends, printed as JSON.

On a private Redis this starts itself (loopback, nothing on disk; stopped and deleted after):
- ``throughput``: ``StreamBus.publish`` of batches of events (one Lua call per event,
  pipelined; each also sets the event's once-only marker), spread over 8 event types;
- ``cycle_overhead``: a cycle's worth of events (``--events-per-cycle``) appended to a DuckDB
  ledger plainly and through ``PublishingEventLog``: the difference is the bus's cost.

    python -m benchmarks.bus [--messages 50000] [--batch 500] [--events-per-cycle 40]
"""

import argparse
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from agents.desk.bus import PublishingEventLog, StreamBus
from agents.desk.ledger import DuckDBEventLog, Event
from tests.support.services import PrivateRedis

TYPES = ["signals", "target_set", "risk_budget", "risk_assessment", "decision", "order", "fill",
         "cycle_completed"]  # fmt: skip
START = datetime(2022, 12, 1, 14, 30, tzinfo=UTC)


def events(cycle: int, count: int) -> list[Event]:
    cycle_id = f"bench-{cycle}"
    at = START + timedelta(minutes=30 * cycle)
    payload = {"symbol": "AAPL", "shares": 100, "price": 123.45, "reasons": ["within limits"]}
    return [
        Event(f"{cycle_id}/{i}", cycle_id, TYPES[i % len(TYPES)], at, payload, sequence=i + 1)
        for i in range(count)
    ]


def throughput(bus: StreamBus, messages: int, batch: int) -> dict:
    started = time.perf_counter()
    sent = 0
    for cycle in range(messages // batch):
        sent += bus.publish(events(cycle, batch))
    seconds = time.perf_counter() - started
    return {"messages": sent, "seconds": round(seconds, 3),
            "messages_per_second": round(sent / seconds)}  # fmt: skip


def cycle_overhead(bus: StreamBus, per_cycle: int, cycles: int = 50) -> dict:
    with tempfile.TemporaryDirectory(prefix="quorum-bus-") as root:
        plain = DuckDBEventLog(Path(root) / "plain.duckdb")
        published = PublishingEventLog(DuckDBEventLog(Path(root) / "bus.duckdb"), bus)
        timings: dict[str, list[float]] = {"plain": [], "published": []}
        for cycle in range(cycles):
            for name, log in (("plain", plain), ("published", published)):
                batch = [Event(e.event_id, e.cycle_id, e.event_type, e.market_time, e.payload)
                         for e in events(10_000 + cycle, per_cycle)]  # fmt: skip
                started = time.perf_counter()
                log.append(batch)
                timings[name].append((time.perf_counter() - started) * 1000)
        plain.close()
        published.close()
    p50 = {k: statistics.median(v) for k, v in timings.items()}
    return {
        "events_per_cycle": per_cycle,
        "append_p50_ms": {k: round(v, 2) for k, v in p50.items()},
        "added_p50_ms": round(p50["published"] - p50["plain"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--events-per-cycle", type=int, default=40)
    args = parser.parse_args()
    server = PrivateRedis.start_new()
    try:
        client = redis.Redis.from_url(server.url)
        report = {
            "redis": "private, loopback, nothing on disk",
            "throughput": throughput(
                StreamBus(client, f"b{uuid.uuid4().hex[:6]}"), args.messages, args.batch
            ),
            "cycle_overhead": cycle_overhead(
                StreamBus(client, f"c{uuid.uuid4().hex[:6]}"), args.events_per_cycle
            ),
            "target_messages_per_second": 10_000,
            "target_added_ms": 5,
        }
    finally:
        server.remove()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
