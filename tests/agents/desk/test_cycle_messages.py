"""The cycle's agents speak in the design's messages: each is stored in the ledger as sent,
the consensus reads only what it accepts, a refusal is recorded with its field, and a
message of the previous schema version is still read."""

from dataclasses import replace

from pydantic import BaseModel

from agents.desk import inbox
from agents.desk.inbox import sent_form
from tests.support.desk import make_desk


def steps_of(desk):
    snap = desk.snapshot(desk.next_cycle_time())
    signals = desk.signals(snap)
    target = desk.propose(snap, signals)
    risk = desk.assess(snap, target)
    plan = desk.plan_execution(snap, target)
    return snap, signals, target, risk, plan


def sent(log, message_type: str) -> list[dict]:
    (event,) = log.read(event_types=[f"sent_{message_type}"])
    return event.payload["messages"]


def test_each_agent_message_is_stored_as_sent_and_the_consensus_decides_from_them(
    desk_parts, tmp_path
):
    versions = {"market_analyst": 3, "portfolio_optimizer": 2, "risk_manager": 1}
    models = replace(desk_parts[0], versions=versions)
    desk = make_desk(desk_parts, tmp_path / "ledger.duckdb", models=models)
    snap, signals, target, risk, plan = steps_of(desk)
    assert [signals[0].model_version, target.message.model_version, risk.message.model_version] == [
        "3", "2", "1"
    ]  # fmt: skip
    assert sent(desk.log, "trading_signal") == [sent_form(m) for m in signals]
    assert sent(desk.log, "rebalancing_order") == [sent_form(target.message)]
    assert sent(desk.log, "risk_assessment") == [sent_form(risk.message)]
    assert [o.symbol for o in target.message.payload.orders] == plan.symbols and plan.symbols
    # The consensus reads the sent forms as it would read them off the bus.
    decision = desk.decide(
        snap, sent(desk.log, "trading_signal"), sent(desk.log, "rebalancing_order")[0],
        sent(desk.log, "risk_assessment")[0], plan,
    )  # fmt: skip
    assert decision.orders and not desk.log.read(event_types=["message_refused"])


def test_a_malformed_signal_loses_its_vote_and_a_stale_assessment_stops_the_trades(
    desk_parts, tmp_path
):
    desk = make_desk(desk_parts, tmp_path / "ledger.duckdb")
    snap, signals, target, risk, plan = steps_of(desk)
    bad = [sent_form(m) for m in signals]
    bad[0]["payload"]["confidence"] = 1.7
    stale = {**sent_form(risk.message), "cycle_id": "replay-19990104T1430Z"}
    decision = desk.decide(snap, bad, target.message, stale, plan)
    assert not decision.orders and not decision.halted
    assert "risk_assessment refused: cycle_id: stale" in decision.reasons[0]
    refused = [e.payload for e in desk.log.read(event_types=["message_refused"])]
    assert {(r["message_type"], r["field"], r["symbol"]) for r in refused} == {
        ("trading_signal", "payload.confidence", bad[0]["payload"]["symbol"]),
        ("risk_assessment", "cycle_id", None),
    }
    (recorded,) = desk.log.read(event_types=["decision"])
    assert recorded.payload["approved"] == [] and recorded.payload["reasons"] == decision.reasons


def test_a_version_1_risk_assessment_is_read_and_backs_no_added_risk(desk_parts, tmp_path):
    current = make_desk(desk_parts, tmp_path / "v2.duckdb")
    snap, signals, target, risk, plan = steps_of(current)
    now = current.decide(snap, signals, target.message, risk.message, plan)

    previous = make_desk(desk_parts, tmp_path / "v1.duckdb")
    snap, signals, target, risk, plan = steps_of(previous)
    v1 = sent_form(risk.message)
    v1.update(schema_version=1, cycle_id=None, model_version=None)
    v1["payload"] = {k: v for k, v in v1["payload"].items()
                     if k not in ("forecast_var_99", "var_limit_99")}  # fmt: skip
    then = previous.decide(snap, signals, target.message, v1, plan)
    assert not previous.log.read(event_types=["message_refused"])

    def risk_votes(desk) -> dict:
        (decision,) = desk.log.read(event_types=["decision"])
        adds = [s for s, d in decision.payload["directions"].items() if d > 0]
        return {s: decision.payload["votes"]["risk_manager"][s] for s in adds}

    assert risk_votes(current) and all(v > 0 for v in risk_votes(current).values())
    assert all(v == 0 for v in risk_votes(previous).values())  # no forecast: no headroom
    assert then.consensus is not None and now.consensus is not None


def test_a_desk_reads_its_own_signals_in_their_recorded_form_and_decides_the_same(
    desk_parts, tmp_path, monkeypatch
):
    dumped = []  # each message the inbox had to dump to its sent form

    def counted(message):
        dumped.append(isinstance(message, BaseModel))
        return sent_form(message)

    monkeypatch.setattr(inbox, "sent_form", counted)
    own = make_desk(desk_parts, tmp_path / "own.duckdb")
    snap, signals, target, risk, plan = steps_of(own)
    mine = own.decide(snap, signals, target.message, risk.message, plan)
    assert dumped.count(True) == 2 and len(signals) > 2  # the order and the assessment only

    other = make_desk(desk_parts, tmp_path / "other.duckdb")
    snap, signals, target, risk, plan = steps_of(other)
    copies = [s.model_copy() for s in signals]  # not the objects the desk recorded
    theirs = other.decide(snap, copies, target.message, risk.message, plan)
    assert dumped.count(True) == 2 + 2 + len(copies)
    assert theirs.orders == mine.orders and mine.orders
