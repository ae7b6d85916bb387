"""The Portfolio Optimizer on real S&P 500 returns (skfolio's shipped data)."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from agents.messages import MessageType, TradingSignal
from agents.portfolio_optimizer import optimizer as optimizer_module
from agents.portfolio_optimizer.optimizer import OptimizerConfig, PortfolioOptimizer
from agents.universe_limits import position_cap, sector_caps

SECTORS = pd.read_csv("dbt/seeds/symbol_sectors.csv").set_index("symbol")["sector"].to_dict()


@pytest.fixture(scope="module")
def market(sp500_prices):
    prices = sp500_prices.pivot(index="date", columns="symbol", values="close").drop(
        columns="SP500"
    )
    return prices, prices.loc["2017":"2019"].pct_change().dropna()


def _views(**expected: float) -> list[TradingSignal]:
    return [
        TradingSignal(
            symbol=s, signal="BUY" if er > 0 else "SELL", confidence=0.7, expected_return=er
        )
        for s, er in expected.items()
    ]


def _within_limits(weights: pd.Series, config: OptimizerConfig) -> None:
    """Long only, fully invested (a shape: the risk budget sizes it), inside the caps that
    scale with the universe."""
    cap = position_cap(len(weights), config.max_weight, config.position_multiple)
    assert (weights >= -1e-9).all() and (weights <= cap + 1e-6).all()
    caps = sector_caps(weights.index, SECTORS, config.max_sector_weight, config.sector_multiple)
    by_sector = weights.groupby(lambda s: SECTORS[s]).sum()
    assert all(by_sector[sector] <= caps[sector] + 1e-6 for sector in by_sector.index)
    assert weights.sum() == pytest.approx(1.0, abs=1e-6)


def test_views_relative_to_equilibrium_tilt_the_fully_invested_shape_within_every_limit(market):
    _, returns = market
    optimizer = PortfolioOptimizer()
    flat = pd.Series(0.0, index=returns.columns)
    bullish = optimizer.propose(returns, _views(XOM=0.03), flat, SECTORS)
    bearish = optimizer.propose(returns, _views(XOM=-0.03), flat, SECTORS)
    assert bullish.method == bearish.method == "black_litterman_mean_risk"
    equal_share = 1 / len(returns.columns)
    assert bullish.weights["XOM"] > equal_share > bearish.weights["XOM"]
    for proposal in (bullish, bearish):
        _within_limits(proposal.weights, optimizer.config)
    # An excess-return view is relative: a bearish call on one name leaves the others' views
    # at equilibrium, so the rest of the book stays invested rather than going to cash.
    assert bearish.weights.drop("XOM").gt(0).sum() >= len(returns.columns) // 2


def test_weak_views_fall_back_to_hierarchical_risk_parity_with_sector_caps(market):
    _, returns = market
    optimizer = PortfolioOptimizer()
    weak = [TradingSignal(symbol="AAPL", signal="BUY", confidence=0.50, expected_return=0.01)]
    proposal = optimizer.propose(returns, weak, pd.Series(0.0, index=returns.columns), SECTORS)
    assert proposal.method == "hierarchical_risk_parity" and proposal.views == []
    by_sector = proposal.weights.groupby(lambda s: SECTORS[s]).sum()
    caps = sector_caps(returns.columns, SECTORS, 0.15)
    assert all(by_sector[s] <= caps[s] + 1e-6 for s in by_sector.index)


def test_a_small_universe_gets_caps_that_can_hold_it(market):
    _, returns = market
    pair = returns[["KO", "XOM"]]
    proposal = PortfolioOptimizer().propose(pair, [], pd.Series(0.0, index=pair.columns), SECTORS)
    assert proposal.method == "inverse_volatility (too few assets for HRP)"
    assert proposal.weights.sum() == pytest.approx(1.0)  # caps of 100% for two names
    trio = returns[["KO", "XOM", "JPM"]]
    proposal = PortfolioOptimizer().propose(trio, [], pd.Series(0.0, index=trio.columns), SECTORS)
    assert proposal.method == "hierarchical_risk_parity"
    # One name per sector: a sector may hold what its name may, two thirds.
    assert proposal.weights.sum() == pytest.approx(1.0)
    assert proposal.weights.max() <= 2 / 3 + 1e-9


def test_a_drifted_book_reaches_the_caps_by_relaxing_the_turnover_limit(market):
    _, returns = market
    # A book at 50% in two names cannot reach 10% caps within a 0.1 turnover limit: the caps
    # are hard, the limit gives way, and the method says so.
    previous = pd.Series(0.0, index=returns.columns)
    previous[["XOM", "KO"]] = [0.5, 0.5]
    tight = PortfolioOptimizer(OptimizerConfig(max_turnover=0.1))
    proposal = tight.propose(returns, _views(AAPL=0.03), previous, SECTORS)
    assert proposal.method == (
        "black_litterman_mean_risk (turnover limit relaxed: the caps come first)"
    )
    _within_limits(proposal.weights, tight.config)


def test_only_an_infeasible_problem_falls_back_and_says_so(market, monkeypatch):
    _, returns = market
    flat = pd.Series(0.0, index=returns.columns)
    # Sector caps of one name's 10% each, on fewer than ten sectors, cannot hold a full book.
    by_name = OptimizerConfig(max_sector_weight=0.0, sector_multiple=0.01)
    impossible = PortfolioOptimizer(by_name)
    proposal = impossible.propose(returns, _views(AAPL=0.03), flat, SECTORS)
    assert proposal.method == "hierarchical_risk_parity (mean-risk infeasible)"

    def broken_fit(self, X, y=None, **fit_params):
        raise ValueError("a bug, not an infeasible problem")

    monkeypatch.setattr(optimizer_module.MeanRisk, "fit", broken_fit)
    with pytest.raises(ValueError, match="a bug"):
        PortfolioOptimizer().propose(returns, _views(AAPL=0.03), flat, SECTORS)


def test_a_rebalance_turns_over_no_more_than_the_limit_and_costs_reduce_it(market):
    _, returns = market
    previous = pd.Series(0.0, index=returns.columns)
    previous[["KO", "PG", "JNJ", "XOM", "CVX", "JPM", "HD", "MSFT", "WMT", "UNH"]] = 0.05
    views = _views(AAPL=0.03, AMD=0.03, XOM=-0.03, CVX=-0.03)
    limited = PortfolioOptimizer(OptimizerConfig(max_turnover=0.2))
    proposal = limited.propose(returns, views, previous, SECTORS)
    assert proposal.method == "black_litterman_mean_risk"
    assert proposal.turnover <= 0.2 + 1e-6
    cheap = PortfolioOptimizer(OptimizerConfig(max_turnover=2.0, transaction_cost=0.0))
    dear = PortfolioOptimizer(OptimizerConfig(max_turnover=2.0, transaction_cost=0.05))
    assert (
        dear.propose(returns, views, previous, SECTORS).turnover
        < cheap.propose(returns, views, previous, SECTORS).turnover
    )


def test_orders_move_the_book_to_target_in_whole_shares(market):
    prices, returns = market
    optimizer = PortfolioOptimizer()
    proposal = optimizer.propose(
        returns, _views(AAPL=0.02), pd.Series(0.0, index=returns.columns), SECTORS
    )
    last = prices.loc["2019-12-31"]
    now = datetime(2019, 12, 31, 21, tzinfo=UTC)
    flat = proposal.previous_weights
    message = optimizer.orders(
        proposal.weights, flat, flat * 0, last[flat.index], 1_000_000, now,
        cycle_id="c1", method=proposal.method, conviction=0.7,
    )  # fmt: skip
    assert message.message_type == MessageType.REBALANCING_ORDER
    orders = {o.symbol: o for o in message.payload.orders}
    for symbol, weight in proposal.weights.items():
        if weight > 0.001:
            assert orders[symbol].action == "BUY"
            assert orders[symbol].quantity == int(weight * 1_000_000 // last[symbol])
    assert message.payload.deadline > now and message.payload.support() == 0.7
    # A long-only book sells no more than it holds.
    held = pd.Series(10.0, index=flat.index)
    selling = optimizer.orders(
        flat, proposal.weights, held, last[flat.index], 1_000_000, now,
        cycle_id="c1", method="hold", conviction=0.5,
    )  # fmt: skip
    assert selling.payload.orders and all(o.quantity <= 10 for o in selling.payload.orders)


def test_a_long_short_shape_shorts_a_bearish_name_within_its_limits(market):
    _, returns = market
    config = OptimizerConfig(max_short=0.3)
    optimizer = PortfolioOptimizer(config)
    flat = pd.Series(0.0, index=returns.columns)
    proposal = optimizer.propose(returns, _views(XOM=-0.05, AAPL=0.03), flat, SECTORS)
    weights = proposal.weights
    assert proposal.method == "black_litterman_mean_risk"
    assert weights["XOM"] < 0  # long only, the best it could do was hold none
    cap = position_cap(len(weights), config.max_weight, config.position_multiple)
    assert (weights.abs() <= cap + 1e-6).all()
    assert -weights[weights < 0].sum() <= config.max_short + 1e-6
    assert weights.sum() == pytest.approx(1.0, abs=1e-6)  # net fully invested, 1 + s long
    caps = sector_caps(weights.index, SECTORS, config.max_sector_weight, config.sector_multiple)
    by_sector = weights.groupby(lambda s: SECTORS[s]).sum()
    assert all(abs(by_sector[s]) <= caps[s] + 1e-6 for s in by_sector.index)


def test_a_covariance_prepared_before_the_open_gives_the_same_book_and_only_for_its_window(
    market, monkeypatch
):
    prices, returns = market
    held = pd.Series(1 / len(returns.columns), index=returns.columns)
    views = _views(XOM=0.03, AAPL=-0.02, JPM=0.01)
    fresh = PortfolioOptimizer().propose(returns, views, held, SECTORS)
    prepared = PortfolioOptimizer()
    # Before the open: the same window, computed the same way, as another object.
    prepared.prepare(prices.loc["2017":"2019"].pct_change().dropna())
    estimated = []
    original = optimizer_module.EquilibriumMu.fit

    def counting(self, X, y=None, **params):
        estimated.append(type(self.covariance_estimator).__name__)
        return original(self, X, y, **params)

    monkeypatch.setattr(optimizer_module.EquilibriumMu, "fit", counting)
    same = prepared.propose(returns, views, held, SECTORS)
    assert estimated == ["PreparedCovariance", "PreparedCovariance"]
    # The same book: to the last bits BLAS rounds differently for the same values at another
    # address (two fresh estimates on copies of the window differ as much).
    pd.testing.assert_series_equal(same.weights, fresh.weights, check_exact=False, atol=1e-12)
    assert same.method == fresh.method
    assert same.expected_daily_volatility == pytest.approx(fresh.expected_daily_volatility)
    # A window that differs by one day is not served the prepared matrix.
    estimated.clear()
    prepared.propose(returns.iloc[1:], views, held, SECTORS)
    assert estimated == ["NoneType", "NoneType"]
    # Before the first sessions there is no window to prepare: nothing is, nothing fails.
    prepared.prepare(returns.iloc[:1])
    assert prepared._covariance_estimator(returns.iloc[:1]) is None
