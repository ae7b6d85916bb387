"""``make tail``: follow the desk live. Prints each event as the desk publishes it on Redis
Streams (production profile): signals, targets, risk verdicts, orders, fills, halts, alerts.

    QUORUM_PROFILE=production make tail            # from now on
    QUORUM_PROFILE=production make tail ARGS=--all # everything still on the streams first

It only reads (XREAD, no consumer group), so following never takes a message from anyone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

from features.settings import SettingsError, load_settings

WIDTH = 140


def shown(event) -> dict:
    """The payload, or for an agent's messages (a cycle's trading signals are one per name)
    how many, from whom, in which schema version, and the first."""
    messages = event.payload.get("messages") if event.event_type.startswith("sent_") else None
    if messages is None:
        return event.payload
    first = messages[0] if messages else {}
    return {
        "messages": len(messages),
        "agent_id": first.get("agent_id"),
        "schema_version": first.get("schema_version"),
        "first": first.get("payload"),
    }


def line(stream: str, event) -> str:
    payload = json.dumps(shown(event), sort_keys=True, separators=(",", ":"))
    text = (
        f"{event.market_time:%Y-%m-%d %H:%M} {event.cycle_id:<28} "
        f"{stream.rsplit(':', 1)[-1]:<16} {payload}"
    )
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."


def follow(bus, start: str, poll_s: float = 1.0) -> None:
    positions: dict[str, str] = {}
    while True:
        for stream in bus.streams():  # a new event type's stream joins as it appears
            positions.setdefault(stream, start)
        if not positions:
            time.sleep(poll_s)
            continue
        for message in bus.read_after(positions, block_ms=int(poll_s * 1000)):
            print(line(message.stream, message.event), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="replay what the streams hold first")
    args = parser.parse_args()
    try:
        settings = load_settings()
    except SettingsError as error:
        sys.exit(str(error))
    if settings.profile != "production":
        sys.exit(
            "the desk publishes its events on Redis Streams in the production profile: "
            "QUORUM_PROFILE=production make tail (the embedded profile's record is the ledger)"
        )
    import redis

    from agents.desk.bus import StreamBus

    bus = StreamBus(redis.Redis.from_url(settings.redis_url), settings.bus_prefix)
    print(f"following {settings.bus_prefix} on {settings.redis_url} (Ctrl-C to stop)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        follow(bus, "0-0" if args.all else "$")


if __name__ == "__main__":
    main()
