"""The canary split: a share of the book traded by a sub-book the analyst's challenger drives,
on real prices, features and models (the daily graph's 3 stocks), with its own positions
and P&L in the ledger and the desk's limits on the whole book."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from agents.desk.canary import EVENT, opened, settle
from agents.desk.shadow import ShadowAnalyst
from agents.desk.state import rebuild
from agents.market_analyst.agent import MarketAnalyst
from agents.market_analyst.signal_model import SignalModel
from features.names import ANALYST_FEATURES
from tests.support.desk import make_desk

SHARE = 0.25


@pytest.fixture(scope="module")
def challenger(desk_parts) -> MarketAnalyst:
    """A different real model: fewer, shallower trees on the same training set."""
    rows = pd.read_parquet(
        Path(desk_parts[3].root).parent / "training" / "market_analyst_v2.parquet"
    )
    rows = rows.dropna(subset=["forward_excess_return_5d"])
    X, y = rows[ANALYST_FEATURES], rows["forward_excess_return_5d"]
    model = SignalModel(n_estimators=10, min_child_samples=200).fit(X, y)
    model.calibrate(model.predict(X), y.to_numpy())
    return MarketAnalyst(model)


def with_challenger(desk_parts, challenger, version: str = "2"):
    return replace(desk_parts[0], versions={"market_analyst": "1"},
                   shadow_analyst=ShadowAnalyst(challenger, version))  # fmt: skip


@pytest.fixture(scope="module")
def canary_desk(desk_parts, challenger, tmp_path_factory):
    """Two sessions of a desk with a quarter of its capital in a canary."""
    ledger = tmp_path_factory.mktemp("canary") / "ledger.duckdb"
    desk = make_desk(desk_parts, ledger, models=with_challenger(desk_parts, challenger),
                     canary_share=SHARE)  # fmt: skip
    for _ in range(2):
        desk.run_session()
    return desk


def test_the_ledger_holds_both_sub_books_and_they_add_up_to_the_account(canary_desk):
    log = canary_desk.log
    books = log.read(event_types=[EVENT])
    completed = {e.cycle_id: e.payload for e in log.read(event_types=["cycle_completed"])}
    assert len(books) > 10
    since = [c for c in completed if c >= books[0].cycle_id]
    assert [e.cycle_id for e in books] == since  # one record every cycle once it started
    first = books[0].payload
    assert first["version"] == "2" and first["share"] == SHARE
    capital = first["capital_cents"] + first["main_capital_cents"]
    assert abs(first["capital_cents"] - SHARE * capital) <= 1
    held, hedged = set(), False
    for event in books:
        book, summary = event.payload, completed[event.cycle_id]
        assert book["nav_cents"] + book["main_nav_cents"] == book["book_nav_cents"]
        assert book["book_nav_cents"] == round(summary["nav_at_bar_close"] * 100)
        for symbol, shares in book["positions"].items():
            whole = summary["positions"][symbol]
            # Never more than the whole book, nor on the other side (the hedge is short).
            assert 0 < shares / whole <= 1
            hedged |= shares < 0
        assert book["pnl_cents"] == book["nav_cents"] - book["capital_cents"]
        assert book["main_pnl_cents"] == book["main_nav_cents"] - book["main_capital_cents"]
        held |= set(book["positions"])
    assert held and hedged  # the canary traded, and carries its part of the index hedge
    # Its record is state: the ledger rebuilds it.
    assert rebuild(log).canary == books[-1].payload


def test_the_challenger_drives_the_canary_and_the_blend_is_what_the_book_trades(canary_desk):
    log = canary_desk.log
    targets = [e.payload for e in log.read(event_types=["target_set"])]
    assert targets and all(t["canary"]["version"] == "2" for t in targets)
    differs = False
    for target in targets:
        main, theirs = target["canary"]["main_weights"], target["canary"]["weights"]
        for symbol, weight in target["weights"].items():
            blended = (1 - SHARE) * main.get(symbol, 0.0) + SHARE * theirs.get(symbol, 0.0)
            assert weight == pytest.approx(blended, abs=1e-9)
        differs |= main != theirs
    assert differs  # the challenger's own views, not a slice of the champion's book
    # Every target of the whole book was assessed and sized by the Risk Manager.
    assessed = {e.cycle_id for e in log.read(event_types=["risk_assessment"])}
    sized = {e.cycle_id for e in log.read(event_types=["risk_budget"])}
    assert {e.cycle_id for e in log.read(event_types=["target_set"])} <= assessed & sized


def test_share_zero_runs_no_canary_and_trades_as_the_champion_alone(
    desk_parts, challenger, tmp_path
):
    off = make_desk(desk_parts, tmp_path / "off.duckdb",
                    models=with_challenger(desk_parts, challenger))  # fmt: skip
    alone = make_desk(desk_parts, tmp_path / "alone.duckdb")
    off.run_session()
    alone.run_session()
    assert not off.log.read(event_types=[EVENT])

    def fills(desk):
        return [(e.event_id, e.payload["quantity"]) for e in desk.log.read(event_types=["fill"])]

    assert fills(off) and fills(off) == fills(alone)


def test_a_new_challenger_closes_the_canary_and_starts_another(desk_parts, challenger, tmp_path):
    ledger = tmp_path / "ledger.duckdb"
    first = make_desk(desk_parts, ledger, models=with_challenger(desk_parts, challenger, "2"),
                      canary_share=SHARE)  # fmt: skip
    first.run_session()
    before = first.log.read(event_types=[EVENT])[-1].payload
    assert before["version"] == "2" and before["positions"]
    # The registry's next challenger: the same account, a new canary on its current value.
    second = make_desk(desk_parts, ledger, models=with_challenger(desk_parts, challenger, "3"),
                       canary_share=SHARE)  # fmt: skip
    (cycle, *_) = second.run_session()
    (started,) = second.log.read(cycle_id=cycle.cycle_id, event_types=[EVENT])
    assert started.payload["version"] == "3" and started.payload["started_cycle"] == cycle.cycle_id
    assert started.payload["capital_cents"] == pytest.approx(
        SHARE * (started.payload["capital_cents"] + started.payload["main_capital_cents"])
    )
    # No challenger any more: the canary closes, its holdings back in the main book.
    third = make_desk(desk_parts, ledger, models=desk_parts[0], canary_share=SHARE)
    (cycle, *_) = third.run_session()
    (last,) = third.log.read(cycle_id=cycle.cycle_id, event_types=[EVENT])
    assert last.payload["version"] is None and last.payload["closed_version"] == "3"
    assert rebuild(third.log).canary == {}
    later = third.log.read(event_types=[EVENT])
    assert later[-1].cycle_id == cycle.cycle_id  # nothing recorded after it closed


def test_settling_prices_traded_shares_at_the_fill_and_transfers_at_the_decision_price():
    book = opened("2", 0.25, 400_000_00, "c1")  # $100,000 of cash
    prices = pd.Series({"AAA": 10.0, "BBB": 20.0})
    fills = [{"symbol": "AAA", "signed_quantity": 300, "cash_delta_cents": -301_500}]
    # The book bought 300 AAA (at $10.05 with costs) and holds 500 BBB it did not trade.
    after = settle(book, {"AAA": 100, "BBB": 50}, {"AAA": 300, "BBB": 500}, fills, prices,
                   main_wanted={"AAA": 200, "BBB": 450})  # fmt: skip
    assert after["positions"] == {"AAA": 100, "BBB": 50}
    assert after["filled_shares"] == {"AAA": 100}  # a third of the fill and of its cost
    assert after["transferred_shares"] == {"BBB": 50}  # from the main book at $20, no cost
    assert after["cash_cents"] == 100_000_00 - 100_500 - 100_000
    # With no target of its own (a halt), it follows the book: the book sold 90% of its AAA.
    sold = [{"symbol": "AAA", "signed_quantity": -270, "cash_delta_cents": 269_000}]
    later = settle(after, None, {"AAA": 30, "BBB": 500}, sold, prices)
    assert later["positions"] == {"AAA": 10, "BBB": 50}
    assert later["filled_shares"] == {"AAA": -90}
    assert later["cash_cents"] == after["cash_cents"] + round(269_000 * 90 / 270)


def test_a_partly_filled_order_leaves_both_sub_books_short_of_their_targets_alike():
    book = opened("2", 0.25, 400_000_00, "c1")
    prices = pd.Series({"AAA": 10.0})
    # The book wanted 300 more AAA (100 for the canary, 200 for the main book); 150 filled.
    fills = [{"symbol": "AAA", "signed_quantity": 150, "cash_delta_cents": -150_600}]
    after = settle(book, {"AAA": 100}, {"AAA": 150}, fills, prices, main_wanted={"AAA": 200})
    assert after["positions"] == {"AAA": 50} and after["filled_shares"] == {"AAA": 50}
    assert after["cash_cents"] == 100_000_00 - 50_200
    # The main book wanting to sell what the canary wants to buy: they cross, at no cost,
    # and the canary does not take from the main book more than it sells.
    crossed = settle(after, {"AAA": 120}, {"AAA": 150}, [], prices, main_wanted={"AAA": 80})
    assert crossed["positions"] == {"AAA": 70} and crossed["transferred_shares"] == {"AAA": 20}


def test_the_canary_carries_the_hedge_in_proportion_to_its_long_value():
    book = opened("2", 0.25, 400_000_00, "c1")
    prices = pd.Series({"AAA": 10.0, "IDX": 10.0})
    fills = [{"symbol": "AAA", "signed_quantity": 400, "cash_delta_cents": -400_000},
             {"symbol": "IDX", "signed_quantity": -200, "cash_delta_cents": 199_000}]  # fmt: skip
    after = settle(book, {"AAA": 100}, {"AAA": 400, "IDX": -200}, fills, prices, hedge="IDX",
                   main_wanted={"AAA": 300})  # fmt: skip
    # A quarter of the book's long value: a quarter of its short hedge, at the hedge's fill.
    assert after["positions"] == {"AAA": 100, "IDX": -50}
    assert after["filled_shares"] == {"AAA": 100, "IDX": -50}
    assert after["cash_cents"] == 100_000_00 - 100_000 + 49_750
