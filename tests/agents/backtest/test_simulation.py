"""The backtest's simulation core, metrics and benchmarks on real S&P 500 prices."""

import numpy as np
import pandas as pd
import pytest

from agents.backtest.attribution import agent_attribution
from agents.backtest.benchmarks import buy_and_hold, month_ends, monthly_targets
from agents.backtest.metrics import performance
from agents.backtest.simulation import TradingCosts, impact_inputs, simulate
from agents.desk.broker import Commission
from agents.desk.ledger import DuckDBEventLog, Event
from agents.execution.impact import ImpactModel

FREE = TradingCosts(commission=Commission(0.0, 0.0), half_spread=0.0, impact=False)


@pytest.fixture(scope="module")
def closes(sp500_prices) -> pd.DataFrame:
    mask = sp500_prices["date"].between("2015-01-01", "2018-12-31")
    wide = sp500_prices[mask].pivot(index="date", columns="symbol", values="close")
    return wide.drop(columns="SP500")


def test_without_costs_a_held_book_is_worth_its_shares(closes):
    start = closes.index[0]
    targets = pd.DataFrame({"AAPL": [0.5], "JNJ": [0.3]}, index=[start])
    sim = simulate(targets, closes, costs=FREE, initial_nav=1_000_000.0)
    shares = {s: w * 1_000_000.0 / closes.loc[start, s] for s, w in (("AAPL", 0.5), ("JNJ", 0.3))}
    worth = 200_000.0 + sum(n * closes[s] for s, n in shares.items())
    assert np.allclose(sim.nav.to_numpy(), worth.to_numpy(), rtol=1e-12)
    last = sim.weights.iloc[-1]
    assert last["AAPL"] == pytest.approx(shares["AAPL"] * closes["AAPL"].iloc[-1] / worth.iloc[-1])
    assert sim.turnover.sum() == pytest.approx(0.4)  # one-way: 80% bought from cash, halved


def test_every_trade_pays_commission_spread_and_the_execution_agents_impact(closes):
    day = closes.index[100]
    targets = pd.DataFrame({"XOM": [0.2]}, index=[day])
    costs = TradingCosts()
    sim = simulate(targets, closes, costs=costs, initial_nav=10_000_000.0)
    nav = sim.nav.loc[:day].iloc[-2]  # nothing held before: the NAV before the trade
    dollars, price = 0.2 * nav, closes.loc[day, "XOM"]
    sigma, adv = impact_inputs(closes)
    model = ImpactModel(float(sigma.loc[day, "XOM"]), float(adv.loc[day, "XOM"]) / price)
    shares = dollars / price
    paid = sim.cost_breakdown.loc[day] * nav
    assert paid["commission"] == pytest.approx(shares * costs.commission.per_share)
    assert paid["spread"] == pytest.approx(dollars * costs.half_spread)
    assert paid["impact"] == pytest.approx(
        dollars * (model.temporary(shares, 1.0) + 0.5 * model.permanent(shares))
    )
    assert sim.nav.loc[day] == pytest.approx(nav - paid.sum())
    assert sim.costs.drop(day).eq(0.0).all()


def test_monthly_rebalancing_trades_back_from_drifted_weights(closes):
    symbols = list(closes.columns)
    targets = monthly_targets(closes, symbols, "equal_weight", start="2016-01-01")
    assert list(targets.index) == list(month_ends(closes.loc["2016-01-01":].index))
    sim = simulate(targets, closes, costs=FREE)
    days = list(closes.index)
    for day in targets.index[1:4]:
        before = sim.weights.iloc[days.index(day) - 1]
        r = closes.loc[day] / closes.iloc[days.index(day) - 1] - 1.0
        drifted = before * (1 + r) / (1 + (before * r).sum())
        assert sim.turnover.loc[day] == pytest.approx((targets.loc[day] - drifted).abs().sum() / 2)
        assert np.allclose(sim.weights.loc[day], 1.0 / len(symbols))


@pytest.mark.parametrize("method", ["equal_weight", "inverse_volatility", "minimum_variance"])
def test_benchmarks_and_the_simulation_never_look_ahead(closes, method):
    cut = pd.Timestamp("2017-06-30")
    altered = closes.copy()
    later = altered.index > cut
    rng = np.random.default_rng(0)
    altered.loc[later] *= rng.uniform(0.5, 1.5, size=altered.loc[later].shape)
    symbols = list(closes.columns)
    ours = monthly_targets(closes, symbols, method, start="2016-01-01")
    theirs = monthly_targets(altered, symbols, method, start="2016-01-01")
    pd.testing.assert_frame_equal(ours.loc[:cut], theirs.loc[:cut])
    a, b = simulate(ours, closes), simulate(theirs, altered)
    pd.testing.assert_series_equal(a.nav.loc[:cut], b.nav.loc[:cut])
    assert not np.allclose(a.nav.loc[cut:].iloc[1:], b.nav.loc[cut:].iloc[1:])  # it mattered
    if method != "equal_weight":
        assert not np.allclose(ours.loc[cut:].iloc[1:], theirs.loc[cut:].iloc[1:])
    if method == "minimum_variance":  # fully invested, long only, and tilted to low risk
        assert np.allclose(ours.sum(axis=1), 1.0) and (ours >= -1e-9).all().all()


def test_index_buy_and_hold_starts_at_the_first_close_on_or_after_the_start(sp500_prices):
    index = sp500_prices[sp500_prices["symbol"] == "SP500"].set_index("date")["close"]
    prices = index.loc["2019-01-01":"2019-12-31"].to_frame("SP500")
    targets = buy_and_hold(prices, "SP500", "2019-01-01")  # a holiday: trades on Jan 2
    assert targets.index[0] == pd.Timestamp("2019-01-02")
    sim = simulate(targets, prices, costs=FREE)
    assert sim.nav.iloc[-1] / sim.nav.iloc[0] == pytest.approx(
        prices["SP500"].iloc[-1] / prices["SP500"].iloc[0]
    )


def test_performance_reads_a_known_path():
    days = pd.bdate_range("2020-01-01", periods=6)
    returns = pd.Series([0.10, -0.20, -0.10, 0.30, 0.05, -0.01], index=days)
    out = performance(returns, turnover=pd.Series(0.1, days), costs=pd.Series(0.001, days))
    wealth = np.cumprod(1 + returns.to_numpy())  # 1.1, .88, .792, 1.0296, 1.08108, ...
    assert out["max_drawdown"] == pytest.approx(1 - 0.792 / 1.1)
    assert (out["max_drawdown_peak"], out["max_drawdown_trough"]) == ("2020-01-01", "2020-01-03")
    assert out["max_drawdown_recovery"] is None  # 1.0703 never regains 1.1
    assert out["cagr"] == pytest.approx(wealth[-1] ** (252 / 6) - 1)
    assert out["hit_rate"] == pytest.approx(3 / 6)
    assert out["sharpe"] == pytest.approx(
        returns.mean() * 252 / (returns.std(ddof=1) * np.sqrt(252))
    )
    assert out["annual_turnover"] == pytest.approx(0.6 / (6 / 252))
    assert out["calmar"] == pytest.approx(out["cagr"] / out["max_drawdown"])


def test_attribution_scores_each_agents_votes_and_the_veto_by_what_followed(tmp_path):
    d1, d2 = pd.Timestamp("2021-03-01 14:30", tz="UTC"), pd.Timestamp("2021-03-08 14:30", tz="UTC")
    payload = {
        "votes": {"market_analyst": {"A": 1.0, "B": -0.5}, "risk_manager": {"A": 0.0, "B": 1.0}},
        "agent_weights": {"market_analyst": 0.4, "risk_manager": 0.3},
        "directions": {"A": 1, "B": -1},
        "blocked_by_veto": ["B"],
    }
    log = DuckDBEventLog(tmp_path / "ledger.duckdb")
    unvetoed = {**payload, "blocked_by_veto": []}
    log.append(
        [
            Event("c1/decision", "c1", "decision", d1.to_pydatetime(), payload),
            Event("c2/decision", "c2", "decision", d2.to_pydatetime(), unvetoed),
        ]
    )
    closes = pd.DataFrame(
        {"A": [100.0, 105.0, 110.0], "B": [50.0, 48.0, 45.0]},
        index=pd.to_datetime(["2021-03-01", "2021-03-05", "2021-03-08"]),
    )
    out = agent_attribution(log, closes)
    log.close()
    # A rose 10% (bought: +10%), B fell 10% (sold: +10%); only the first decision has a next.
    assert out["decisions_scored"] == 1 and out["trades_scored"] == 2
    analyst = out["market_analyst"]
    expected = (0.4 * 1.0 * 0.1 + 0.4 * -0.5 * 0.1) * 1e4
    assert analyst["votes_added_bps_per_decision"] == pytest.approx(expected)
    assert analyst["vote_hit_rate"] == 0.5  # backed the winner A, opposed the winner B
    assert out["risk_manager"] == {
        "votes_added_bps_per_decision": pytest.approx(300.0),
        "vote_hit_rate": 1.0,
    }
    # It blocked a sale that would have made 10%: the veto cost that.
    assert out["risk_veto"] == {
        "blocked_trades": 1,
        "saved_bps_per_blocked_trade": pytest.approx(-1000.0),
    }
