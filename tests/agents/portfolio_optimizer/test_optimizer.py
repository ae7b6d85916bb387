"""The Portfolio Optimizer on real S&P 500 returns (skfolio's shipped data)."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from agents.messages import MessageType, TradingSignal
from agents.portfolio_optimizer.optimizer import OptimizerConfig, PortfolioOptimizer

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
    assert (weights >= -1e-9).all() and (weights <= config.max_weight + 1e-6).all()
    sectors = weights.groupby(lambda s: SECTORS[s]).sum()
    assert (sectors <= config.max_sector_weight + 1e-6).all()
    assert weights.sum() <= 1 + 1e-6


def test_views_tilt_the_mean_risk_portfolio_within_every_limit(market):
    _, returns = market
    optimizer = PortfolioOptimizer()
    flat = pd.Series(0.0, index=returns.columns)
    bullish = optimizer.propose(returns, _views(XOM=0.03), flat, SECTORS)
    bearish = optimizer.propose(returns, _views(XOM=-0.03), flat, SECTORS)
    assert bullish.method == bearish.method == "black_litterman_mean_risk"
    assert bullish.weights["XOM"] > bearish.weights["XOM"]
    assert bearish.weights["XOM"] == 0.0
    for proposal in (bullish, bearish):
        _within_limits(proposal.weights, optimizer.config)
        assert optimizer.config.min_invested - 1e-6 <= proposal.weights.sum() <= 0.85 + 1e-6
    assert bullish.weights.sum() > bearish.weights.sum()  # a bearish view holds more cash


def test_weak_views_fall_back_to_hierarchical_risk_parity_with_sector_caps(market):
    _, returns = market
    optimizer = PortfolioOptimizer()
    weak = [TradingSignal(symbol="AAPL", signal="BUY", confidence=0.50, expected_return=0.01)]
    proposal = optimizer.propose(returns, weak, pd.Series(0.0, index=returns.columns), SECTORS)
    assert proposal.method == "hierarchical_risk_parity" and proposal.views == []
    _within_limits(proposal.weights, optimizer.config)


def test_two_assets_fall_back_to_capped_inverse_volatility(market):
    _, returns = market
    pair = returns[["KO", "XOM"]]
    proposal = PortfolioOptimizer().propose(pair, [], pd.Series(0.0, index=pair.columns), SECTORS)
    assert proposal.method == "inverse_volatility (too few assets for HRP under the caps)"
    assert (proposal.weights == 0.05).all()  # both capped; the rest stays in cash
    # Three assets with 5% caps cannot hold HRP's full budget either.
    trio = returns[["KO", "XOM", "JPM"]]
    proposal = PortfolioOptimizer().propose(trio, [], pd.Series(0.0, index=trio.columns), SECTORS)
    assert proposal.method.startswith("inverse_volatility") and (proposal.weights == 0.05).all()


def test_a_rebalance_turns_over_no_more_than_the_limit_and_costs_reduce_it(market):
    _, returns = market
    previous = pd.Series(0.0, index=returns.columns)
    previous[["KO", "PG", "JNJ", "XOM", "CVX", "JPM", "HD", "MSFT"]] = 0.05
    views = _views(AAPL=0.03, AMD=0.03, XOM=-0.03, CVX=-0.03)
    limited = PortfolioOptimizer(OptimizerConfig(max_turnover=0.2, min_invested=0.4))
    proposal = limited.propose(returns, views, previous, SECTORS)
    assert proposal.method == "black_litterman_mean_risk"
    assert proposal.turnover <= 0.2 + 1e-6
    cheap = PortfolioOptimizer(
        OptimizerConfig(max_turnover=2.0, transaction_cost=0.0, min_invested=0.4)
    )
    dear = PortfolioOptimizer(
        OptimizerConfig(max_turnover=2.0, transaction_cost=0.05, min_invested=0.4)
    )
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
    message = optimizer.orders(proposal, last, nav_usd=1_000_000, timestamp=now)
    assert message.message_type == MessageType.REBALANCING_ORDER
    orders = {o.symbol: o for o in message.payload.orders}
    for symbol, weight in proposal.weights.items():
        if weight > 0.001:
            assert orders[symbol].action == "BUY"
            assert orders[symbol].quantity == int(weight * 1_000_000 // last[symbol])
    assert message.payload.deadline > now
