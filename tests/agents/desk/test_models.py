"""Evaluating and calibrating the risk, optimizer and execution models, on real data."""

import numpy as np
import pandas as pd
import pytest

from agents.execution.serving import ExecutionCostModel, calibrate_universe
from agents.portfolio_optimizer.evaluation import summary, walk_forward_hrp
from agents.risk_manager.backtest import kupiec_pvalue, var_backtest
from features.ingestion.market_data import load_market_data

SECTORS = pd.read_csv("dbt/seeds/symbol_sectors.csv").set_index("symbol")["sector"].to_dict()


def test_kupiec_accepts_the_expected_breach_count_and_rejects_far_more():
    assert kupiec_pvalue(10, 1000, 0.99) == pytest.approx(1.0)
    # 250 days at 99%: 2.5 breaches expected; Basel's traffic light turns red at 10.
    assert kupiec_pvalue(4, 250, 0.99) > 0.05
    assert kupiec_pvalue(10, 250, 0.99) < 0.001
    assert kupiec_pvalue(0, 250, 0.99) < kupiec_pvalue(2, 250, 0.99)


def test_var_backtest_breaches_at_its_level_on_iid_returns_and_reads_only_the_past():
    returns = pd.Series(np.random.default_rng(4).standard_normal(20_000) * 0.01)
    result = var_backtest(returns, window=500)
    assert result["var_95_breach_rate"] == pytest.approx(0.05, abs=0.006)
    assert result["var_99_breach_rate"] == pytest.approx(0.01, abs=0.003)
    calm, crash = returns.copy(), returns.copy()
    calm.iloc[-1], crash.iloc[-1] = 1.0, -1.0  # the last day's own return cannot move its VaR
    rates = [
        var_backtest(r, window=500)["var_99_breach_rate"] * len(r[500:]) for r in (calm, crash)
    ]
    assert round(rates[1]) - round(rates[0]) == 1


def test_risk_parity_walk_forward_holds_each_year_out_of_sample(sp500_prices):
    prices = sp500_prices.pivot(index="date", columns="symbol", values="close").drop(
        columns="SP500"
    )
    returns = prices.loc["2010":"2016"].pct_change().iloc[1:]
    walk = walk_forward_hrp(returns, SECTORS, train_days=504)
    assert walk["year"].tolist() == [2013, 2014, 2015, 2016]  # 2010-11: 503 days < 504
    # A shape: HRP invests everything its caps hold (sector caps scale with the universe,
    # so they cut little); the risk budget, not the optimizer, sizes the book.
    assert (walk["forecast_vol"] > 0).all()
    assert (walk["invested"] <= 1 + 1e-6).all() and (walk["invested"] > 0.85).all()
    assert 0.5 < walk["vol_ratio"].median() < 2.0
    assert set(summary(walk)) == {
        "oos_years",
        "oos_vol_ratio_median",
        "oos_annual_vol",
        "oos_sharpe",
    }


def test_a_history_too_short_to_hold_out_a_year_reports_zero_years(sp500_prices):
    prices = sp500_prices.pivot(index="date", columns="symbol", values="close").drop(
        columns="SP500"
    )
    returns = prices.loc["2019":"2020"].pct_change().iloc[1:]
    walk = walk_forward_hrp(returns, SECTORS, train_days=len(returns) // 2)
    assert walk.empty and summary(walk) == {"oos_years": 0.0}


def test_impact_calibration_uses_volume_where_the_data_have_it():
    with_volume = calibrate_universe(load_market_data("arch").prices)
    assert all(m.calibrated_from_volume for m in with_volume.values())
    without = calibrate_universe(load_market_data("sp500").prices.query("symbol in ['AAPL', 'KO']"))
    assert not any(m.calibrated_from_volume for m in without.values())
    model = ExecutionCostModel(with_volume, half_spread=0.0002)
    costs = model.predict(
        None,
        pd.DataFrame({"symbol": ["SP500", "SP500"], "shares": [1e6, 1e7], "duration_days": 1.0}),
    )
    assert costs["expected_cost"].iloc[1] > costs["expected_cost"].iloc[0] > 0.0002
