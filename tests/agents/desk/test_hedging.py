"""The desk's index hedge on real prices: sized from the book's beta, booked with its
financing, and reconciled with the ledger to the cent."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from agents.backtest.desk_run import daily_values, ledger_fills, ledger_financing
from agents.desk.feed import ReplayFeed
from agents.desk.hedging import hedge_instrument_of
from agents.desk.state import current, rebuild
from agents.risk_manager.budget import TRADING_DAYS
from agents.risk_manager.hedge import HedgeModel
from tests.support.desk import START, make_desk

INDEX = "SP500"


def with_hedge(desk_parts, **policy):
    models = desk_parts[0]
    limits = models.risk_limits
    return replace(models, risk_limits=replace(limits, hedge=replace(limits.hedge, **policy)))


def test_the_hedge_shorts_its_share_of_the_books_beta_and_says_why(desk_parts, tmp_path):
    desk = make_desk(desk_parts, tmp_path / "ledger.duckdb")
    result = desk.run_cycle(desk.next_cycle_time())
    hedge = desk.log.read(cycle_id=result.cycle_id, event_types=["hedge"])[0].payload
    policy = desk.models.risk_limits.hedge
    assert hedge["instrument"] == INDEX and hedge["book_beta"] > 0
    assert hedge["weight"] == pytest.approx(-policy.beta_ratio * hedge["book_beta"])
    assert hedge["hedged_volatility"] < hedge["unhedged_volatility"]
    # The budget sized the hedged book: its forecast is the book with this hedge.
    budget = desk.log.read(cycle_id=result.cycle_id, event_types=["risk_budget"])[0].payload
    assert budget["reasons"][0].startswith(f"forecast with the {policy.beta_ratio:g} x beta")
    orders = desk.log.read(cycle_id=result.cycle_id, event_types=["order"])
    sold = [o.payload for o in orders if o.payload["symbol"] == INDEX]
    assert len(sold) == 1 and sold[0]["action"] == "SELL"
    state = current(desk.log)
    close = desk.feed.bar(result.at).close[desk.feed.symbols.index(INDEX)]
    held_weight = state.positions[INDEX] * close / result.nav
    assert held_weight == pytest.approx(hedge["weight"], abs=policy.rebalance_band)
    assert INDEX not in desk.symbols  # the hedge instrument is never one of the book's names


def test_the_hedges_pnl_and_financing_reconcile_with_the_ledger_to_the_cent(desk_parts, tmp_path):
    _, prices, _, _ = desk_parts
    replay = ReplayFeed(prices, start=START)
    desk = make_desk(desk_parts, tmp_path / "ledger.duckdb", feed=replay)
    days = replay.sessions[:5:3]  # a hedge held over three closes, then a fourth session
    for day in days:
        desk.run_cycle(replay.cycle_times(day)[0])
    log = desk.log
    charges = log.read(event_types=["financing"])
    assert len(charges) == 1
    charge = charges[0].payload
    # Owed: the short's shares x each close it was held x the annual rate / 252, in cents.
    short = [
        e.payload
        for e in log.read(event_types=["fill"])
        if e.payload["symbol"] == INDEX and e.market_time.date() < days[1]
    ]
    shares = sum(f["signed_quantity"] for f in short)  # held over the closes charged
    closes = prices[prices["symbol"] == INDEX].set_index("date")["close"]
    closes.index = pd.to_datetime(closes.index)
    held_closes = closes[
        (closes.index >= pd.Timestamp(days[0])) & (closes.index < pd.Timestamp(days[1]))
    ]
    assert len(held_closes) == 3 == charge["shorts"][INDEX]["closes"]
    rate = desk.models.risk_limits.short_financing_annual
    owed_cents = round(-shares * held_closes.sum() * rate / TRADING_DAYS * 100)
    assert charge["cash_delta_cents"] == -owed_cents != 0

    state = current(log)
    assert rebuild(log).cash_cents == state.cash_cents
    fills = ledger_fills(log)
    assert state.financing_cents == owed_cents
    assert state.cash_cents == round(
        (desk.config.initial_cash + fills["cash"].sum() - owed_cents / 100) * 100
    )
    # The hedge's P&L at the last close, from the ledger alone: what its fills paid and
    # received, its financing, and its shares at the close, against the daily projection.
    sessions = [d for d in replay.sessions if d <= days[-1]]
    values, cash = daily_values(fills, prices, sessions, ledger_financing(log))
    hedge_fills = fills[fills["symbol"] == INDEX]
    held_now = state.positions[INDEX]
    by_hand = (
        hedge_fills["cash"].sum() - owed_cents / 100 + held_now * closes[pd.Timestamp(days[-1])]
    )
    projected = values[INDEX].iloc[-1] + hedge_fills["cash"].sum() - owed_cents / 100
    assert round(by_hand * 100) == round(projected * 100)
    assert round((cash.iloc[-1] + desk.config.initial_cash) * 100) == state.cash_cents


def test_with_the_hedge_off_the_desk_never_trades_the_index(desk_parts, tmp_path):
    models = with_hedge(desk_parts, enabled=False)
    desk = make_desk(desk_parts, tmp_path / "ledger.duckdb", models=models)
    desk.run_session()
    assert desk.hedge_instrument is None
    assert INDEX not in current(desk.log).positions and current(desk.log).positions
    assert not desk.log.read(event_types=["hedge"]) and not desk.log.read(event_types=["financing"])


def test_a_named_hedge_instrument_the_data_lack_is_refused_by_name(desk_parts, tmp_path):
    models = with_hedge(desk_parts, instrument="ES_FUTURE")
    with pytest.raises(ValueError, match="hedge instrument 'ES_FUTURE' is not in the market data"):
        make_desk(desk_parts, tmp_path / "ledger.duckdb", models=models)


def test_data_without_an_index_or_a_named_instrument_run_unhedged(desk_parts):
    models = desk_parts[0]
    assert hedge_instrument_of(models, ["AAPL", "XOM"], index_symbol=None) is None
    assert hedge_instrument_of(models, ["AAPL", "SP500"], index_symbol="SP500") == "SP500"
    named = with_hedge(desk_parts, instrument="XOM")
    assert hedge_instrument_of(named, ["AAPL", "XOM"], index_symbol=None) == "XOM"


def test_a_session_hedges_its_covariance_once_and_shares_it_read_only(
    desk_parts, tmp_path, monkeypatch
):
    answers = []
    original = HedgeModel.hedged_covariance

    def hedged_covariance(self, covariance, symbols):
        answers.append(original(self, covariance, symbols))
        return answers[-1]

    monkeypatch.setattr(HedgeModel, "hedged_covariance", hedged_covariance)
    desk = make_desk(desk_parts, tmp_path / "ledger.duckdb")
    cycles = [desk.run_cycle(desk.next_cycle_time()) for _ in range(3)]
    assert len({c.at.date() for c in cycles}) == 1  # one session
    assert len(desk.log.read(event_types=["risk_budget"])) == 3
    # every budget and limit of the session was sized on one array...
    assert len(answers) >= 6 and all(a is answers[0] for a in answers)
    kept = answers[0]
    assert not kept.flags.writeable  # ...which no caller may change for the others
    # ...equal to the session's covariance hedged afresh; another covariance is hedged anew
    session = desk.prepare(cycles[0].at.date())
    other = session.risk.covariance.copy()
    fresh = session.hedge.hedged_covariance(other, session.risk.symbols)
    assert fresh is not kept
    np.testing.assert_array_equal(fresh, kept)
    assert session.hedge.hedged_covariance(other, session.risk.symbols) is fresh
