"""The desk's events on a bus others can follow: Redis Streams, one capped stream per event
type (signals, target_set, risk_assessment, order, fill, halt, ...), published after the ledger
holds them.

The ledger stays the record; the bus is a copy for followers, delivered at least once:
- each event is published once, keyed by its event id (a marker set in the same Lua call as
  the XADD), so a replayed cycle or a republish sends nothing twice;
- after every append the publisher sends whatever the ledger holds past its cursor, so events
  another writer appended, or that a failed publish left behind, follow at the next append;
- a Redis that lost everything (it keeps nothing on disk) is refilled by ``republish``;
- readers use consumer groups; a reader that died between reading and acknowledging leaves
  its messages pending, and another claims them (``claim_stale``: XAUTOCLAIM).
A stream is in publishing order; an event caught up late comes after newer ones, and every
message carries its ledger ``sequence`` for readers that need the ledger's order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from redis.exceptions import NoScriptError

from agents.desk.ledger import Event, EventLog, to_json

log = logging.getLogger(__name__)

# KEYS[1]: the event's marker, KEYS[2]: its stream; ARGV: maxlen, marker ttl, field/values.
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 3))
end
return false
"""
# Only forward: two publishers never move the cursor back past what either has sent.
_ADVANCE_CURSOR = """
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1]) end
"""


@dataclass(frozen=True)
class BusMessage:
    stream: str
    message_id: str
    event: Event


class StreamBus:
    """Streams ``<prefix>:stream:<event_type>``, markers ``<prefix>:published:<event_id>``
    and the publisher's cursor ``<prefix>:cursor`` (the newest ledger sequence sent)."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        max_length: int = 100_000,
        max_message_length: int = 1_000,
        marker_ttl_s: int = 30 * 86_400,
    ) -> None:
        """``max_length``: entries kept per stream (about, as Redis trims whole nodes);
        ``max_message_length`` for the agents' ``sent_*`` message streams and the
        ``shadow_*`` forecasts, whose entries are
        a cycle's messages (a cycle's 500 trading signals are about 150 KB): 1,000 is some
        77 sessions of half-hourly cycles. The ledger keeps everything."""
        self.client = client
        self.prefix = prefix
        self.cursor_key = f"{prefix}:cursor"
        self.max_length = max_length
        self.max_message_length = max_message_length
        self.marker_ttl_s = marker_ttl_s
        self._publish_once_sha = client.register_script(_PUBLISH_ONCE).sha  # no I/O

    def stream(self, event_type: str) -> str:
        return f"{self.prefix}:stream:{event_type}"

    def publish(self, events: Sequence[Event]) -> int:
        """Sends each event not sent before; returns how many were new to the bus."""
        return self.publish_reading_cursor(events)[0]

    def publish_reading_cursor(self, events: Sequence[Event]) -> tuple[int, int]:
        """``publish``, and the cursor as it stood just before, read in the same round trip
        (the publishing ledger looks for a gap behind what it sends; a GET of its own was a
        second round trip per append, too small to measure on loopback, not on a network).

        The script is called by its hash: redis-py's ``Script`` in a pipeline asks SCRIPT
        EXISTS in a round trip of its own before every pipeline (on loopback the wait only
        moved to the other round trip; across a network it is a round trip saved). A Redis
        that restarted has no scripts (it keeps nothing): every EVALSHA is refused with
        NOSCRIPT and none ran, so the script is loaded and the events sent again; the cursor
        returned is the first round trip's, read before anything moved it."""
        cursor, replies = self._send(events)
        if any(isinstance(reply, NoScriptError) for reply in replies):
            self.client.script_load(_PUBLISH_ONCE)
            _, replies = self._send(events)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return sum(1 for reply in replies[: len(events)] if reply), cursor

    def _send(self, events: Sequence[Event]) -> tuple[int, list[Any]]:
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.cursor_key)
        for event in events:
            pipe.evalsha(
                self._publish_once_sha,
                2,
                f"{self.prefix}:published:{event.event_id}",
                self.stream(event.event_type),
                self._cap(event.event_type),
                self.marker_ttl_s,
                *_fields(event),
            )
        newest = max((e.sequence for e in events if e.sequence is not None), default=None)
        if newest is not None:  # in the same round trip; only forward, whoever publishes
            pipe.eval(_ADVANCE_CURSOR, 1, self.cursor_key, newest)
        cursor, *replies = pipe.execute(raise_on_error=False)
        if isinstance(cursor, Exception):
            raise cursor
        return int(cursor or 0), replies

    def _cap(self, event_type: str) -> int:
        capped = event_type.startswith(("sent_", "shadow_"))
        return self.max_message_length if capped else self.max_length

    def republish(self, ledger: EventLog, after_sequence: int | None = None) -> int:
        """Sends what the ledger holds past ``after_sequence`` (default: the cursor; after a
        Redis that kept nothing, the whole ledger); events already on the bus are skipped."""
        start = self.cursor() if after_sequence is None else after_sequence
        return self.publish(ledger.read(after_sequence=start))

    def cursor(self) -> int:
        return int(self.client.get(self.cursor_key) or 0)

    def streams(self) -> list[str]:
        found = self.client.scan_iter(match=f"{self.prefix}:stream:*", _type="stream")
        return sorted(_text(s) for s in found)

    # ---- readers --------------------------------------------------------------------------

    def read_after(
        self, positions: dict[str, str], block_ms: int | None = None, count: int = 500
    ) -> list[BusMessage]:
        """Messages after each stream's position (XREAD: no group, nothing taken from
        anyone), waiting up to ``block_ms`` for one (None: not at all); ``positions`` moves
        past what was read."""
        replies = self.client.xread(positions, block=block_ms, count=count)
        messages = []
        for stream, entries in replies or []:
            for message_id, fields in entries:
                messages.append(BusMessage(_text(stream), _text(message_id), _event(fields)))
                positions[_text(stream)] = _text(message_id)
        return messages

    def ensure_group(self, group: str, streams: Iterable[str], start: str = "0") -> None:
        for stream in streams:
            try:
                self.client.xgroup_create(stream, group, id=start, mkstream=True)
            except redis.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

    def read_group(
        self, group: str, consumer: str, streams: Sequence[str], count: int = 100,
        block_ms: int | None = None,
    ) -> list[BusMessage]:  # fmt: skip
        replies = self.client.xreadgroup(
            group, consumer, {s: ">" for s in streams}, count=count, block=block_ms
        )
        return [
            BusMessage(_text(stream), _text(message_id), _event(fields))
            for stream, messages in replies or []
            for message_id, fields in messages
        ]

    def ack(self, group: str, messages: Sequence[BusMessage]) -> None:
        for message in messages:
            self.client.xack(message.stream, group, message.message_id)

    def claim_stale(
        self, group: str, consumer: str, stream: str, min_idle_ms: int
    ) -> list[BusMessage]:
        """Messages another consumer of ``group`` read and never acknowledged for at least
        ``min_idle_ms``, now this consumer's (XAUTOCLAIM)."""
        claimed, start = [], "0-0"
        while True:
            reply = self.client.xautoclaim(stream, group, consumer, min_idle_ms, start_id=start)
            start, messages = _text(reply[0]), reply[1]
            claimed += [BusMessage(stream, _text(i), _event(f)) for i, f in messages if f]
            if start == "0-0":
                return claimed


class PublishingEventLog:
    """An ``EventLog`` that publishes what its ledger appends (and anything past the bus's
    cursor) to a ``StreamBus``. The ledger is written first and is the record: a bus that
    cannot be reached is logged and caught up at a later append or by ``republish``."""

    def __init__(self, ledger: EventLog, bus: StreamBus) -> None:
        self.ledger = ledger
        self.bus = bus

    def append(self, events: Sequence[Event]) -> list[Event]:
        written = self.ledger.append(events)
        if written:
            try:
                # What was just written goes out as is; a gap between the cursor and it (a
                # publish that failed, or another writer's events) is read back from the ledger.
                _, cursor = self.bus.publish_reading_cursor(written)
                if written[0].sequence is not None and written[0].sequence > cursor + 1:
                    self.bus.republish(self.ledger, after_sequence=cursor)
            except redis.RedisError as error:
                log.warning("event bus unreachable, the ledger keeps the events: %s", error)
        return written

    def read(self, **filters: Any) -> list[Event]:
        return self.ledger.read(**filters)

    def save_snapshot(self, sequence: int, state: dict[str, Any]) -> None:
        self.ledger.save_snapshot(sequence, state)

    def latest_snapshot(self) -> tuple[int, dict[str, Any]] | None:
        return self.ledger.latest_snapshot()

    def checkpoint(self) -> None:
        self.ledger.checkpoint()

    def close(self) -> None:
        self.ledger.close()


def _fields(event: Event) -> list[str]:
    return [
        "event_id", event.event_id,
        "cycle_id", event.cycle_id,
        "event_type", event.event_type,
        "market_time", event.market_time.isoformat(),
        "sequence", str(event.sequence if event.sequence is not None else ""),
        "payload", event.payload_json if event.payload_json is not None else to_json(event.payload),
    ]  # fmt: skip


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _event(fields: dict) -> Event:
    data = {_text(k): _text(v) for k, v in fields.items()}
    return Event(
        data["event_id"],
        data["cycle_id"],
        data["event_type"],
        datetime.fromisoformat(data["market_time"]),
        json.loads(data["payload"]),
        int(data["sequence"]) if data["sequence"] else None,
    )
