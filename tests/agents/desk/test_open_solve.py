"""The session's rebalance anchored on the previous close and solved before the open: the open
cycle then solves nothing, and decides exactly what a desk solving in its open cycle decides."""

from datetime import date, datetime

import pandas as pd
import pytest

from agents.desk.state import DeskState
from agents.desk.steps import Snapshot
from tests.agents.desk.test_ledger import write_ahead_log_bytes
from tests.agents.desk.test_preparations import decisions
from tests.support.desk import make_desk


def counting_solves(desk) -> list[int]:
    """Counts the optimizer's solves from now on (one list entry per solve)."""
    solves, propose = [], desk.optimizer.propose

    def counted(*args, **kwargs):
        solves.append(1)
        return propose(*args, **kwargs)

    desk.optimizer.propose = counted
    return solves


def next_day(desk) -> date:
    return desk.feed.session_of(desk.next_cycle_time())


def test_a_rebalance_solved_before_the_open_decides_what_the_open_cycle_would(desk_parts, tmp_path):
    in_cycle = make_desk(desk_parts, tmp_path / "a.duckdb")
    early = make_desk(desk_parts, tmp_path / "b.duckdb")
    in_cycle_solves, early_solves = counting_solves(in_cycle), counting_solves(early)
    for _ in range(2):  # the second opens on a book held overnight, hedged (financed)
        day = next_day(in_cycle)
        for at in in_cycle.feed.cycle_times(day):  # nothing before the open: the open solves
            in_cycle.run_cycle(at)

        assert next_day(early) == day
        early.before_the_open(day)
        solved_before_open = len(early_solves)
        for at in early.feed.cycle_times(day):
            early.run_cycle(at)
        assert len(early_solves) == solved_before_open  # the session's cycles solved nothing

    assert len(early_solves) == len(in_cycle_solves) == 2  # one solve a session, both ways
    assert decisions(early.log) == decisions(in_cycle.log)
    assert any(kind == "order" for _, kind, _ in decisions(early.log))


def test_a_book_anchored_on_the_open_is_solved_in_the_open_cycle(desk_parts, tmp_path):
    desk = make_desk(desk_parts, tmp_path / "a.duckdb", rebalance_anchor="open")
    solves = counting_solves(desk)
    day = next_day(desk)
    desk.before_the_open(day)
    assert solves == []  # the book at the open's prices is not known before it
    desk.run_cycle(desk.feed.cycle_times(day)[0])
    assert solves == [1]


def test_a_session_already_opened_is_not_solved_again_before_a_later_cycle(desk_parts, tmp_path):
    desk = make_desk(desk_parts, tmp_path / "a.duckdb")
    day = next_day(desk)
    times = desk.feed.cycle_times(day)
    desk.run_cycle(times[0])
    other = make_desk(desk_parts, tmp_path / "a.duckdb")  # a later decision run's process
    solves, published = counting_solves(other), counting_publishes(other)
    other.before_the_open(day)
    assert solves == [] and published == []  # its cycles republish only what the store lost
    other.run_cycle(times[1])
    assert solves == []  # the session's target is in the ledger, under the same signals


def test_an_unknown_anchor_is_refused(desk_parts, tmp_path):
    with pytest.raises(ValueError, match="rebalance_anchor='midday'"):
        make_desk(desk_parts, tmp_path / "a.duckdb", rebalance_anchor="midday")


def snapshot_with(positions: dict[str, int], cash_cents: int) -> Snapshot:
    state = DeskState(cash_cents=cash_cents, positions=positions)
    snap = Snapshot("c", datetime(2020, 1, 3, 14, 30), date(2020, 1, 3), ["A", "B", "C"], state)
    snap.history = pd.DataFrame(
        {"A": [90.0, 100.0], "B": [20.0, None], "C": [5.0, 6.0], "HEDGE": [300.0, 310.0]},
        index=pd.to_datetime(["2020-01-01", "2020-01-02"]),
    )
    snap.prices = pd.Series({"A": 120.0, "B": 30.0, "C": 7.0})
    snap.marks = pd.Series({"A": 120.0, "B": 30.0, "C": 7.0, "HEDGE": 330.0})
    return snap


def test_the_closing_shape_is_the_names_values_at_the_previous_close_without_cash():
    snap = snapshot_with({"A": 100, "B": -50, "HEDGE": 10}, cash_cents=50_000_00)
    # B did not trade on the last day: its last close is carried forward. The hedge is not
    # one of the names; cash is in neither.
    net = 100 * 100.0 - 50 * 20.0
    expected = pd.Series({"A": 100 * 100.0 / net, "B": -50 * 20.0 / net, "C": 0.0})
    pd.testing.assert_series_equal(snap.closing_shape, expected)
    richer = snapshot_with({"A": 100, "B": -50, "HEDGE": 10}, cash_cents=49_000_00)
    pd.testing.assert_series_equal(richer.closing_shape, expected)
    assert not snap.closing_shape.equals(snap.weights / snap.weights.sum())  # the open moved


def test_a_net_short_closing_book_is_a_fraction_of_its_nav_then_and_a_flat_one_is_flat():
    snap = snapshot_with({"A": 10, "B": -100}, cash_cents=10_000_00)
    nav = 10_000 + 10 * 100.0 - 100 * 20.0
    expected = pd.Series({"A": 10 * 100.0 / nav, "B": -100 * 20.0 / nav, "C": 0.0})
    pd.testing.assert_series_equal(snap.closing_shape, expected)
    flat = snapshot_with({}, cash_cents=0)  # before the account opens: no NAV at all
    assert (flat.closing_shape == 0.0).all()


def test_the_ledger_is_checkpointed_before_the_open_not_inside_a_cycle(desk_parts, tmp_path):
    path = tmp_path / "a.duckdb"
    desk = make_desk(desk_parts, path)
    day = next_day(desk)
    desk.before_the_open(day)
    for at in desk.feed.cycle_times(day):
        desk.run_cycle(at)
    assert write_ahead_log_bytes(path) > 0  # the session's events wait in the log
    desk.before_the_open(next_day(desk))
    assert write_ahead_log_bytes(path) == 0


def counting_publishes(desk, failures: int = 0) -> list[date]:
    """The days the session hook publishes from now on; the first ``failures`` calls fail
    as an unwritable online store would."""
    days, publish = [], desk.on_session_open

    def counted(day: date) -> None:
        days.append(day)
        if len(days) <= failures:
            raise ConnectionError("online store unwritable")
        publish(day)

    desk.on_session_open = counted
    return days


def test_a_session_published_before_the_open_is_not_published_again_by_its_cycles(
    desk_parts, tmp_path
):
    desk = make_desk(desk_parts, tmp_path / "a.duckdb")
    published = counting_publishes(desk)
    day = next_day(desk)
    desk.before_the_open(day)
    assert published == [day]
    results = [desk.run_cycle(at) for at in desk.feed.cycle_times(day)]
    assert published == [day]  # the open cycle read what was published before it
    assert all(r.refused is None for r in results) and sum(r.orders for r in results) > 0


def test_a_publish_that_failed_before_the_open_is_done_by_the_open_cycle(desk_parts, tmp_path):
    desk = make_desk(desk_parts, tmp_path / "a.duckdb")
    published = counting_publishes(desk, failures=1)
    solves = counting_solves(desk)
    day = next_day(desk)
    desk.before_the_open(day)
    assert solves == []  # nothing to solve from: the store has not got the session's rows
    desk.run_cycle(desk.feed.cycle_times(day)[0])
    assert published == [day, day] and solves == [1]
    assert any(kind == "order" for _, kind, _ in decisions(desk.log))
