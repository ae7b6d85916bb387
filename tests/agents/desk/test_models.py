"""Evaluating and calibrating the risk, optimizer and execution models, on real data."""

import numpy as np
import pandas as pd
import pytest

from agents.execution.evaluation import summary as volatility_summary
from agents.execution.evaluation import volatility_forecast_backtest
from agents.execution.serving import ExecutionCostModel, calibrate_universe
from agents.portfolio_optimizer.evaluation import summary, walk_forward_hrp
from agents.risk_manager.agent import STUDENT_T5_Q99_UNIT_VARIANCE
from agents.risk_manager.backtest import (
    forecast_var_backtest,
    kupiec_pvalue,
    student_t_unit_quantile,
    var_backtest,
)
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


def test_forecast_var_backtest_scores_the_desks_own_var_and_reads_only_the_past():
    # The quantile the desk's VaR limit uses, so the backtest scores what the desk forecasts.
    assert student_t_unit_quantile(0.99) == pytest.approx(STUDENT_T5_Q99_UNIT_VARIANCE)
    unit_t = np.random.default_rng(0).standard_t(5, 20_000) * (3 / 5) ** 0.5
    returns = pd.Series(unit_t * 0.01)
    result = forecast_var_backtest(returns, decay=0.94, window=500)
    assert result["days"] == 19_500 and result["var_99_recent_days"] == 250
    # Near its level, a little above: the EWMA's few effective days add estimation noise.
    assert 0.009 < result["var_99_breach_rate"] < 0.017
    assert 0.045 < result["var_95_breach_rate"] < 0.065
    calm, crash = returns.copy(), returns.copy()
    calm.iloc[-1], crash.iloc[-1] = 1.0, -1.0
    recent = [forecast_var_backtest(r, 0.94)["var_99_recent_breaches"] for r in (calm, crash)]
    assert recent[1] - recent[0] == 1
    # A volatility that doubles overnight and stays: the breaches come in the first days,
    # before the EWMA has learnt it, not for the rest of the window.
    shifted = pd.Series(np.r_[unit_t[:2_000], 2 * unit_t[2_000:2_250]] * 0.01)
    assert forecast_var_backtest(shifted, 0.94)["var_99_recent_breaches"] < 10
    with pytest.raises(ValueError, match="300 days cannot backtest a 500-day VaR"):
        forecast_var_backtest(returns.head(300), 0.94)


def test_impact_calibration_volatility_is_scored_on_the_days_it_would_have_served(sp500_prices):
    prices = sp500_prices.query("symbol in ['AAPL', 'KO'] and date < '2000-01-01'")
    blocks = volatility_forecast_backtest(prices, lookback_days=63, horizon_days=21)
    first = blocks.iloc[0]
    aapl = prices.query("symbol == 'AAPL'").set_index("date")["close"].pct_change().dropna()
    assert first["start_date"] == aapl.index[63]  # held out: after its 63 days of history
    assert first["forecast_vol"] == pytest.approx(aapl.iloc[:63].std())
    assert first["realised_vol"] == pytest.approx(aapl.iloc[63:84].std())
    assert set(blocks["symbol"]) == {"AAPL", "KO"}
    figures = volatility_summary(blocks)
    assert figures["oos_vol_blocks"] == len(blocks) and 0.5 < figures["oos_vol_ratio_median"] < 2
    assert volatility_summary(blocks.head(0)) == {"oos_vol_blocks": 0.0}


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
