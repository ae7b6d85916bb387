"""The event log on both backends: idempotent appends, filters, snapshots, the projection."""

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from agents.desk.ledger import (
    DuckDBEventLog,
    Event,
    PostgresEventLog,
    _finite,
    open_event_log,
    to_json,
)
from agents.desk.state import DeskState, current, rebuild

AT = datetime(2022, 12, 1, 14, 30, tzinfo=UTC)


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.services)])
def log(request, tmp_path):
    """The same tests on DuckDB and on the session's own PostgreSQL server."""
    if request.param == "duckdb":
        opened = DuckDBEventLog(tmp_path / "ledger.duckdb")
        yield opened
        opened.close()
        return
    opened = PostgresEventLog(request.getfixturevalue("ledger_database"))
    yield opened
    opened.close()


def fill(cycle: str, symbol: str, quantity: int, cash: int) -> Event:
    return Event(
        f"{cycle}/fill/{cycle}/{symbol}",
        cycle,
        "fill",
        AT,
        {
            "symbol": symbol,
            "signed_quantity": quantity,
            "cash_delta_cents": cash,
            "commission_cents": 100,
        },
    )


def test_appending_the_same_events_again_writes_nothing(log):
    events = [
        Event("account/opened", "account", "account_opened", AT, {"cash_cents": 1_000_000_00}),
        fill("c1", "AAPL", 10, -150_000),
    ]
    written = log.append(events)
    assert [e.event_id for e in written] == ["account/opened", "c1/fill/c1/AAPL"]
    assert written[0].sequence < written[1].sequence
    assert log.append(events) == []
    again = log.append([*events, fill("c1", "MSFT", 5, -120_000)])
    assert [e.event_id for e in again] == ["c1/fill/c1/MSFT"]
    stored = log.read()
    assert [e.event_id for e in stored] == [
        "account/opened",
        "c1/fill/c1/AAPL",
        "c1/fill/c1/MSFT",
    ]
    assert stored[0].market_time == AT and stored[1].payload["signed_quantity"] == 10
    first_fill = log.read(cycle_id="c1", event_types=["fill"])[0]
    assert first_fill.event_id.endswith("AAPL")
    assert log.read(after_sequence=stored[-1].sequence) == []


def test_snapshot_plus_tail_equals_a_full_rebuild(log):
    log.append([Event("account/opened", "account", "account_opened", AT, {"cash_cents": 10_000})])
    log.append([fill("c1", "AAPL", 3, -4_500)])
    state = current(log)
    log.save_snapshot(state.sequence, state.to_dict())
    log.append([fill("c2", "AAPL", -3, 4_700), fill("c2", "MSFT", 2, -3_000)])
    assert current(log) == rebuild(log)
    assert rebuild(log).positions == {"MSFT": 2}
    assert rebuild(log).cash_cents == 10_000 - 4_500 + 4_700 - 3_000
    # A retried cycle reads the state without its own events.
    assert current(log, excluding_cycle="c2").positions == {"AAPL": 3}


def test_a_second_snapshot_at_the_same_sequence_keeps_the_first(log):
    log.append([Event("account/opened", "account", "account_opened", AT, {"cash_cents": 10_000})])
    state = current(log)
    log.save_snapshot(state.sequence, state.to_dict())
    log.save_snapshot(state.sequence, {**state.to_dict(), "cash_cents": 1})
    assert log.latest_snapshot() == (state.sequence, state.to_dict())
    log.append([fill("c1", "AAPL", 3, -4_500)])  # the log is still writable
    assert current(log).positions == {"AAPL": 3}


def test_a_halt_is_state_until_it_is_cleared_and_then_the_baseline_restarts():
    state = DeskState.fold(
        [
            Event("c1/halt", "c1", "halt", AT, {"reasons": ["daily_loss 0.03"]}),
            Event("m/halt_cleared", "m", "halt_cleared", AT, {"requested_by": "me"}),
        ]
    )
    assert not state.halted and state.rebase_pending


def test_an_unknown_ledger_url_is_refused_with_the_url():
    with pytest.raises(ValueError, match="sqlite:///x"):
        open_event_log("sqlite:///x")


def test_non_finite_numbers_are_stored_as_null_in_both_logs(log):
    """PostgreSQL's jsonb refuses Infinity; an empty book's risk payload carries one."""
    event = Event("c/risk", "c", "risk_assessment", AT, {"effective": float("inf"),
                                                         "beta": [1.0, float("nan")]})  # fmt: skip
    log.append([event])
    assert log.read()[0].payload == {"effective": None, "beta": [1.0, None]}


def test_payloads_json_wrote_are_stored_as_json_wrote_them_in_both_logs(log):
    """orjson writes what it can, ``json`` the rest: NumPy floats are numbers, integer
    keys strings, integers past 64 bits exact, and text outside ASCII survives."""
    payload = {"weight": np.float64(0.25), "by_day": {1: 2.0, 2: float("nan")},
               "notional_cents": 2**70, "name": "Société Générale"}  # fmt: skip
    log.append([Event("c/mixed", "c", "note", AT, payload)])
    assert log.read()[0].payload == {
        "weight": 0.25, "by_day": {"1": 2.0, "2": None},
        "notional_cents": 2**70, "name": "Société Générale",
    }  # fmt: skip
    assert json.loads(to_json(payload)) == json.loads(json.dumps(_finite(payload)))


def test_an_append_returns_each_new_event_with_the_text_it_stored_in_both_logs(log):
    """The bus publishes the stored text as is; an event the log already had is not
    returned, and the text is no part of an event's identity."""
    payload = {"weight": np.float64(0.25), "risk": float("inf"), "name": "Société Générale"}
    first = Event("c/mixed", "c", "note", AT, payload)
    written = log.append([first])
    assert written[0].payload_json == to_json(payload)
    assert json.loads(written[0].payload_json) == log.read()[0].payload
    again = log.append([first, fill("c", "AAPL", 10, -150_000)])
    assert [(e.event_id, e.payload_json) for e in again] == [
        ("c/fill/c/AAPL", to_json(fill("c", "AAPL", 10, -150_000).payload))
    ]
    assert again[0] == log.read()[-1]  # read back without the text, the same event


@pytest.mark.parametrize("value", [datetime(2022, 12, 1), np.int64(1)], ids=["datetime", "int64"])
def test_a_payload_json_would_refuse_is_refused_with_its_type(value):
    with pytest.raises(TypeError, match=type(value).__name__):
        to_json({"value": value})


def test_an_order_without_fills_keeps_its_cycle_open_until_it_completes():
    order = Event("c1/order/c1/AAPL", "c1", "order", AT, {"order_id": "c1/AAPL"})
    done = Event("c1/cycle_completed", "c1", "cycle_completed", AT, {})
    state = DeskState.fold([order])
    assert state.open_cycles == {"c1": AT.isoformat()}
    assert DeskState.fold([order, done]).open_cycles == {}


def write_ahead_log_bytes(path) -> int:
    wal = path.with_name(path.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_a_duckdb_checkpoint_folds_the_write_ahead_log_and_keeps_every_event(tmp_path):
    path = tmp_path / "ledger.duckdb"
    log = DuckDBEventLog(path)
    log.append([fill("c1", "AAA", 10, -1_000), fill("c1", "BBB", -5, 700)])
    assert write_ahead_log_bytes(path) > 0
    log.checkpoint()
    assert write_ahead_log_bytes(path) == 0
    log.close()
    reopened = DuckDBEventLog(path)
    assert [e.event_id for e in reopened.read()] == ["c1/fill/c1/AAA", "c1/fill/c1/BBB"]
    reopened.close()


def test_duckdb_appends_past_its_default_threshold_leave_the_checkpoint_to_the_desk(tmp_path):
    """DuckDB's default folds the log inside the commit that passes 16 MB: a cycle's append
    paid for a checkpoint of the whole file. Here 20 MB of appends leave it all in the log."""
    path = tmp_path / "ledger.duckdb"
    log = DuckDBEventLog(path)
    for i in range(20):
        log.append([Event(f"c{i}/note", f"c{i}", "note", AT, {"text": "x" * 1_000_000})])
    assert write_ahead_log_bytes(path) > 20_000_000
    log.close()
