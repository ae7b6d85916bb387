"""The desk's events on Redis Streams, against a Redis these tests start: published once per
event id, one capped stream per event type, at least once to a consumer group even when a
consumer dies between reading and acknowledging, and refilled from the ledger after a Redis
that kept nothing restarts."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from agents.desk.bus import PublishingEventLog, StreamBus
from agents.desk.ledger import DuckDBEventLog, Event

START = datetime(2022, 12, 1, 14, 30, tzinfo=UTC)


def cycle_events(cycle: int) -> list[Event]:
    cycle_id = f"replay-{cycle}"
    at = START + timedelta(minutes=30 * cycle)
    return [
        Event(f"{cycle_id}/signals", cycle_id, "signals", at, {"mean_confidence": 0.55}),
        Event(f"{cycle_id}/order/AAPL", cycle_id, "order", at, {"symbol": "AAPL", "shares": 10}),
        Event(f"{cycle_id}/fill/AAPL", cycle_id, "fill", at, {"symbol": "AAPL", "price": 1.5}),
    ]


def bus_on(url: str, **options) -> StreamBus:
    return StreamBus(redis.Redis.from_url(url), f"test:{uuid.uuid4().hex[:8]}", **options)


def publishing_log(url: str, tmp_path: Path, **options) -> tuple[StreamBus, PublishingEventLog]:
    """A bus of its own prefix and a DuckDB ledger that publishes on it."""
    bus = bus_on(url, **options)
    return bus, PublishingEventLog(DuckDBEventLog(tmp_path / "ledger.duckdb"), bus)


def test_each_event_is_published_once_on_its_types_stream(redis_server, tmp_path):
    bus, log = publishing_log(redis_server.url, tmp_path)
    log.append(cycle_events(1))
    log.append(cycle_events(1))  # a replayed cycle: the ledger writes nothing, nor does the bus
    assert bus.republish(log, after_sequence=0) == 0  # a republish sends nothing twice
    assert bus.streams() == [bus.stream(t) for t in ("fill", "order", "signals")]
    for stream in bus.streams():
        assert bus.client.xlen(stream) == 1
    [(_, fields)] = bus.client.xrange(bus.stream("order"))
    assert fields[b"event_id"] == b"replay-1/order/AAPL"
    assert json.loads(fields[b"payload"]) == {"symbol": "AAPL", "shares": 10}
    assert bus.cursor() == max(e.sequence for e in log.read())
    log.close()


def test_streams_are_capped(redis_server, tmp_path):
    bus, log = publishing_log(redis_server.url, tmp_path, max_length=10)
    for cycle in range(300):
        log.append(cycle_events(cycle))
    # MAXLEN ~ trims whole radix-tree nodes: about the cap, never the whole history.
    assert bus.client.xlen(bus.stream("order")) < 300
    log.close()


CONSUMER = """
import sys, time, redis
from agents.desk.bus import StreamBus
bus = StreamBus(redis.Redis.from_url(sys.argv[1]), sys.argv[2])
read = bus.read_group("followers", "doomed", [bus.stream("order")], count=100)
print(len(read), flush=True)
time.sleep(600)  # killed here: read, never acknowledged
"""


def test_a_consumer_killed_before_acknowledging_leaves_its_messages_to_another(
    redis_server, tmp_path
):
    bus = bus_on(redis_server.url)
    bus.ensure_group("followers", [bus.stream("order")])
    log = PublishingEventLog(DuckDBEventLog(tmp_path / "ledger.duckdb"), bus)
    for cycle in range(5):
        log.append(cycle_events(cycle))
    doomed = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, redis_server.url, bus.prefix],
        stdout=subprocess.PIPE, text=True, env={**os.environ},
    )  # fmt: skip
    assert doomed.stdout.readline().strip() == "5"
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()

    survivor = "survivor"
    assert bus.read_group("followers", survivor, [bus.stream("order")]) == []  # none new
    time.sleep(0.2)
    claimed = bus.claim_stale("followers", survivor, bus.stream("order"), min_idle_ms=100)
    assert sorted(m.event.event_id for m in claimed) == [f"replay-{c}/order/AAPL" for c in range(5)]
    bus.ack("followers", claimed)
    assert bus.client.xpending(bus.stream("order"), "followers")["pending"] == 0
    log.close()


def test_after_redis_restarts_empty_the_ledger_republishes_everything_once(start_redis, tmp_path):
    with start_redis() as server:
        bus, log = publishing_log(server.url, tmp_path)
        for cycle in range(3):
            log.append(cycle_events(cycle))
        server.stop()
        log.append(cycle_events(3))  # Redis down: the ledger has it, the cycle goes on
        assert len(log.read()) == 12
        server.start()  # it kept nothing
        assert bus.streams() == [] and bus.cursor() == 0
        assert bus.republish(log) == 12
        assert bus.republish(log, after_sequence=0) == 0
        assert sum(bus.client.xlen(s) for s in bus.streams()) == 12
        log.close()


def test_make_tail_prints_each_event_as_it_is_published(redis_server, tmp_path):
    project = f"tail{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUORUM_")}
    env |= {"QUORUM_PROFILE": "production", "QUORUM_REDIS_URL": redis_server.url,
            "QUORUM_FEAST_PROJECT": project, "QUORUM_HOME": str(tmp_path / "home")}  # fmt: skip
    bus = StreamBus(redis.Redis.from_url(redis_server.url), f"quorum:{project}")
    log = PublishingEventLog(DuckDBEventLog(tmp_path / "ledger.duckdb"), bus)
    log.append(cycle_events(1))  # before the follower starts: shown with --all
    follower = subprocess.Popen(
        [sys.executable, "-m", "orchestration.tail", "--all"],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert follower.stdout.readline().startswith(f"following quorum:{project}")
        seen = [follower.stdout.readline() for _ in range(3)]
        log.append(cycle_events(2))  # while it follows
        seen += [follower.stdout.readline() for _ in range(3)]
    finally:
        follower.kill()
        follower.wait()
        log.close()
    assert sorted(s.split()[2] for s in seen) == ["replay-1"] * 3 + ["replay-2"] * 3
    assert any(" order " in s and '"shares":10' in s for s in seen)


def test_events_another_writer_appended_follow_at_the_next_publishing_append(
    redis_server, tmp_path
):
    bus = bus_on(redis_server.url)
    ledger = DuckDBEventLog(tmp_path / "ledger.duckdb")
    log = PublishingEventLog(ledger, bus)
    log.append(cycle_events(1))
    ledger.append(cycle_events(2))  # written past the publisher (a failed publish, a process)
    assert bus.client.xlen(bus.stream("order")) == 1
    log.append(cycle_events(3))
    published = [m.event.event_id for m in bus.read_after({bus.stream("order"): "0-0"})]
    assert published == [f"replay-{c}/order/AAPL" for c in (1, 3, 2)]
    log.close()


def test_the_agents_message_streams_keep_fewer_entries_than_the_event_streams(redis_server):
    """A cycle's messages are large (500 trading signals: ~150 KB), so their streams are
    trimmed sooner; Redis trims in whole nodes of 100 entries, so lengths are approximate."""
    bus = bus_on(redis_server.url, max_length=5_000, max_message_length=200)
    events = [
        Event(f"replay-{i}/{kind}", f"replay-{i}", kind, START + timedelta(minutes=30 * i),
              {"messages": [{"i": i}]} if kind.startswith("sent_") else {"i": i})
        for i in range(2_000) for kind in ("sent_trading_signal", "decision")
    ]  # fmt: skip
    for start in range(0, len(events), 500):
        bus.publish(events[start : start + 500])
    messages = bus.client.xlen(bus.stream("sent_trading_signal"))
    assert 200 <= messages <= 400
    assert bus.client.xlen(bus.stream("decision")) == 2_000


def test_a_publishing_append_reads_the_cursor_in_its_publish_round_trip(
    redis_server, tmp_path, monkeypatch
):
    bus, log = publishing_log(redis_server.url, tmp_path)
    log.append(cycle_events(1))  # the first loads the publishing script
    round_trips = []
    command = bus.client.execute_command  # a command of its own, outside any pipeline
    monkeypatch.setattr(
        bus.client, "execute_command", lambda *a, **k: round_trips.append(a[0]) or command(*a, **k)
    )
    execute = redis.client.Pipeline.execute
    monkeypatch.setattr(
        redis.client.Pipeline,
        "execute",
        lambda pipe, *a, **k: round_trips.append("pipeline") or execute(pipe, *a, **k),
    )
    log.append(cycle_events(2))
    assert round_trips == ["pipeline"]
    assert bus.cursor() == max(e.sequence for e in log.read())
    log.close()


def _calls(client: redis.Redis) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in client.info("commandstats").items()}


def test_a_publishing_append_asks_redis_nothing_about_its_script(redis_server, tmp_path):
    """redis-py's Script in a pipeline asks SCRIPT EXISTS before every pipeline: a round trip
    of its own per append. The server's own command counts show the append sends only its
    pipeline: the cursor's GET, one EVALSHA per event (a marker's SET, an XADD) and the
    cursor's EVAL (a GET and a SET inside it; Redis counts a script's commands too)."""
    bus, log = publishing_log(redis_server.url, tmp_path)
    log.append(cycle_events(1))  # the first may load the script
    before = _calls(bus.client)
    log.append(cycle_events(2))
    after = _calls(bus.client)
    sent = {name: after[name] - before.get(name, 0) for name in after}
    sent = {name: count for name, count in sent.items() if count and name != "cmdstat_info"}
    assert sent == {"cmdstat_get": 2, "cmdstat_evalsha": 3, "cmdstat_eval": 1,
                    "cmdstat_set": 4, "cmdstat_xadd": 3}  # fmt: skip
    log.close()


def test_an_append_after_redis_restarts_empty_loads_its_script_and_catches_up(
    start_redis, tmp_path
):
    """The restarted Redis knows no script: the append's EVALSHAs are refused (NOSCRIPT),
    the script is loaded and the events sent again, and the gap behind them (everything
    before, which the empty Redis lost) is republished from the ledger, each event once."""
    with start_redis() as server:
        bus, log = publishing_log(server.url, tmp_path)
        for cycle in range(2):
            log.append(cycle_events(cycle))
        server.stop()
        server.start()  # it kept nothing, its scripts neither
        assert bus.client.script_exists(bus._publish_once_sha) == [False]
        log.append(cycle_events(2))
        assert sum(bus.client.xlen(s) for s in bus.streams()) == 9
        assert bus.cursor() == max(e.sequence for e in log.read())
        assert bus.republish(log, after_sequence=0) == 0  # every event is on the bus once
        log.close()


def test_the_bus_publishes_the_text_the_ledger_stored_and_encodes_nothing_again(
    redis_server, tmp_path, monkeypatch
):
    """A 500-name cycle's messages are ~250 kB of JSON: the ledger encodes them once and the
    bus sends that text. An event the ledger did not encode (a republish reads it back)
    is encoded by the bus, the same text."""
    from agents.desk import bus as bus_module
    from agents.desk.ledger import to_json

    encoded = []
    monkeypatch.setattr(bus_module, "to_json", lambda p: encoded.append(p) or to_json(p))
    bus, log = publishing_log(redis_server.url, tmp_path)
    events = cycle_events(1)
    log.append(events)
    assert encoded == []
    stored = {m.event.event_id: m for m in bus.read_after(dict.fromkeys(bus.streams(), "0"))}
    for event in events:
        _, fields = bus.client.xrange(stored[event.event_id].stream)[0]
        assert fields[b"payload"].decode() == to_json(event.payload)
    other = bus_on(redis_server.url)
    assert other.republish(log, after_sequence=0) == 3 and len(encoded) == 3
    log.close()
