"""The Risk Manager on hand-checked numbers and real prices."""

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from agents.risk_manager.agent import RiskLimits, RiskManager
from agents.risk_manager.measures import (
    historical_tail_risk,
    monte_carlo_tail_risk,
    value_at_risk,
)
from agents.risk_manager.stress import replay_crises

SECTORS = pd.read_csv("dbt/seeds/symbol_sectors.csv").set_index("symbol")["sector"].to_dict()


@pytest.fixture(scope="module")
def prices(sp500_prices) -> pd.DataFrame:
    return sp500_prices.pivot(index="date", columns="symbol", values="close")


def test_historical_var_and_es_of_a_known_series_match_the_hand_count():
    # 100 daily returns -5.0%, -4.9%, ..., +4.9%: the 5 worst days (5% tail) are -5.0..-4.6%.
    returns = (np.arange(100) - 50) / 1000
    np.random.default_rng(0).shuffle(returns)
    risk = historical_tail_risk(returns)
    assert risk.var_95 == pytest.approx(0.046)  # the 5th worst loss
    assert risk.es_95 == pytest.approx((0.050 + 0.049 + 0.048 + 0.047 + 0.046) / 5)
    assert risk.var_99 == pytest.approx(0.050) and risk.es_99 == pytest.approx(0.050)


@pytest.mark.parametrize("size", [1, 7, 100, 20_000])
def test_value_at_risk_is_the_kth_worst_loss_of_the_sorted_returns(size):
    """Ties and NaN (sorted last) included; all NaN gives NaN."""
    rng = np.random.default_rng(size)
    returns = np.round(rng.standard_t(5, size) / 100, 3)  # rounded: many ties
    returns[rng.random(size) < 0.02] = np.nan
    for beta in (0.5, 0.9, 0.95, 0.975, 0.99, 0.999):
        k = max(1, math.ceil(round((1 - beta) * size, 9)))
        expected = -np.sort(returns)[k - 1]
        var = value_at_risk(returns, beta)
        # == : when +0.0 and -0.0 tie at the k-th place, either may be the one taken
        assert var == expected or (np.isnan(var) and np.isnan(expected))
    assert np.isnan(value_at_risk(np.full(size, np.nan), 0.5))


def test_monte_carlo_tail_is_close_to_history_and_repeatable(prices):
    returns = prices[["KO", "PG", "JNJ", "XOM"]].loc["2015":"2019"].pct_change().dropna()
    weights = np.full(4, 0.25)
    historical = historical_tail_risk((returns @ weights).to_numpy())
    simulated = monte_carlo_tail_risk(returns, weights, seed=1)
    assert simulated == monte_carlo_tail_risk(returns, weights, seed=1)
    assert simulated.var_99 == pytest.approx(historical.var_99, rel=0.35)
    assert simulated.es_99 >= simulated.var_99 >= simulated.var_95 > 0


def test_a_weight_above_its_limit_is_vetoed_with_the_symbol_named(prices):
    # 20 names: a name may hold twice its equal share, 10%.
    weights = pd.Series({"AAPL": 0.15, "KO": 0.05, "XOM": 0.05, "JPM": 0.05, "GE": 0.05})
    manager = RiskManager(RiskLimits(max_var_99=1.0, min_effective_positions=1))
    assessment = manager.assess(weights, prices.loc[:"2019-12-31"], SECTORS, prices["SP500"])
    assert not assessment.approved
    assert assessment.veto_reasons == ["AAPL weight 0.1500 > max 0.1000"]


def test_the_caps_scale_with_the_universe(prices):
    five = prices[["AAPL", "KO", "XOM", "JPM", "GE", "SP500"]].loc[:"2019-12-31"]
    weights = pd.Series({"AAPL": 0.35, "KO": 0.2, "XOM": 0.15, "JPM": 0.15, "GE": 0.15})
    limits = RiskLimits(max_var_99=1.0, min_effective_positions=1, max_stress_loss=1.0)
    assessment = RiskManager(limits).assess(weights, five, SECTORS, prices["SP500"])
    assert assessment.approved, assessment.veto_reasons  # 40% caps for five names
    assert RiskManager(limits).prepare(five.drop(columns="SP500"), SECTORS).max_weight == 0.4


def test_a_sector_over_its_cap_is_vetoed(prices):
    # Energy holds 3 of the 20 names: its cap is 1.5 x 15% = 22.5%.
    energy = {"XOM": 0.1, "CVX": 0.1, "RRC": 0.05}
    weights = pd.Series({**energy, "KO": 0.05, "JNJ": 0.05, "JPM": 0.05, "HD": 0.05})
    assessment = RiskManager(RiskLimits(max_var_99=1.0)).assess(
        weights, prices.loc[:"2019-12-31"], SECTORS, prices["SP500"]
    )
    assert any(
        r.startswith("sector Energy weight 0.2500 > max 0.2250") for r in assessment.veto_reasons
    ), assessment.veto_reasons


def test_the_budget_never_levers_a_capped_shape_past_its_caps(prices):
    # Energy at its 22.5% cap and the rest in cash: a calm book whose volatility target asks
    # for more exposure is scaled up only as far as the caps allow, so the veto never fires.
    energy = {"XOM": 0.1, "CVX": 0.075, "RRC": 0.05}
    shape = pd.Series({**energy, "KO": 0.05, "JNJ": 0.05, "JPM": 0.05, "HD": 0.05})
    manager = RiskManager(RiskLimits(max_var_99=1.0))
    prepared = manager.prepare(prices.drop(columns="SP500").loc[:"2019-12-31"], SECTORS)
    budget = prepared.budget(shape, "calm", 0.0)
    assert "position and sector caps" in budget.reasons
    sized = shape * budget.scale
    assert sized[list(energy)].sum() == pytest.approx(0.225)
    assert not [r for r in prepared.assess(sized).veto_reasons if "weight" in r]


def test_a_diversified_book_within_limits_is_approved_with_its_beta(prices):
    symbols = [
        "AAPL",
        "MSFT",
        "JPM",
        "BAC",
        "HD",
        "BBY",
        "CVX",
        "XOM",
        "JNJ",
        "PFE",
        "KO",
        "PG",
        "GE",
        "WMT",
    ]
    weights = pd.Series(0.05, index=symbols)
    assessment = RiskManager().assess(weights, prices.loc[:"2019-12-31"], SECTORS, prices["SP500"])
    assert assessment.approved, assessment.veto_reasons
    assert 0.5 < assessment.beta < 1.5
    assert 0 < assessment.historical.var_95 < assessment.historical.var_99 < 0.04
    assert 0 < assessment.forecast_var_99 < 0.04 and 0 < assessment.forecast_volatility < 0.4
    at = datetime(2019, 12, 31, tzinfo=UTC)
    message = RiskManager().message(assessment, weights, at, cycle_id="c1", position_cap=0.1)
    payload = message.payload
    assert payload.risk_approval and payload.position_limits["AAPL"].current == 0.05
    assert payload.position_limits["AAPL"].max_weight == 0.1
    assert payload.var_headroom() == pytest.approx(1 - assessment.forecast_var_99 / 0.04)


def test_crisis_replay_holds_the_weights_through_the_real_2008_prices(prices):
    weights = pd.Series({"JPM": 0.5, "BAC": 0.5})
    results = {r.scenario: r for r in replay_crises(prices, weights, prices["SP500"])}
    crisis = results["2008 financial crisis"]
    window = prices.loc["2007-10-09":"2009-03-09"]
    by_hand = 0.5 * (window["JPM"].iloc[-1] / window["JPM"].iloc[0] - 1) + 0.5 * (
        window["BAC"].iloc[-1] / window["BAC"].iloc[0] - 1
    )
    assert crisis.portfolio_return == pytest.approx(by_hand)
    assert crisis.portfolio_return < -0.5 and crisis.coverage == 1.0
    assert set(results) == {
        "1998 LTCM and Russia",
        "2000-02 dot-com bust",
        "2008 financial crisis",
        "2020 COVID crash",
        "2022 inflation bear market",
    }
    vetoed = RiskManager(
        RiskLimits(max_var_99=1.0, min_effective_positions=1, max_weight=1.0, max_sector_weight=1.0)
    ).assess(weights, prices, SECTORS, prices["SP500"])
    assert any("stress '2008 financial crisis'" in r for r in vetoed.veto_reasons)


def test_the_concentration_limit_never_asks_for_more_names_than_the_caps_allow(prices):
    twelve = prices.drop(columns="SP500").columns[:12]
    limits = RiskLimits()
    small = RiskManager(limits).prepare(prices[list(twelve)].loc[:"2019-12-31"], SECTORS)
    assert small.max_weight == pytest.approx(1 / 6)
    assert small.min_effective_positions == pytest.approx(6.0)  # 1 / cap, below the design's 8
    full = RiskManager(limits).prepare(prices.drop(columns="SP500").loc[:"2019-12-31"], SECTORS)
    assert full.min_effective_positions == limits.min_effective_positions == 8.0
