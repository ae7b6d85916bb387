"""The bootstrap gate of the risk manager's, optimizer's and execution agent's first versions."""

import pytest

from monitoring.agent_bootstrap import AgentBootstrapPolicy, evaluate_agent_bootstrap

RISK = {"days": 6806.0, "var_99_breach_rate": 0.0126, "var_99_kupiec_pvalue": 0.036,
        "var_99_recent_days": 250.0, "var_99_recent_breaches": 7.0}  # fmt: skip
OPTIMIZER = {"oos_years": 27.0, "oos_vol_ratio_median": 0.90}
EXECUTION = {"oos_vol_blocks": 6879.0, "oos_vol_ratio_median": 0.94}


def test_a_risk_model_out_of_the_basel_red_zone_passes_whatever_the_whole_historys_kupiec():
    decision = evaluate_agent_bootstrap("risk_manager", "1", RISK, "passed")
    assert decision.promote and decision.reasons == []
    # Kupiec over decades is reported with the verdict, not gated on.
    assert "7 breaches of the forecast 99% VaR in the last 250 days" in decision.reason()
    assert "Kupiec p = 0.036" in decision.reason()
    assert decision.record()["evidence"] == RISK and decision.record()["gate"] == "bootstrap"


def test_a_risk_model_in_the_red_zone_or_with_too_short_a_backtest_is_refused():
    red = evaluate_agent_bootstrap("risk_manager", "1", RISK | {"var_99_recent_breaches": 10.0},
                                   "passed")  # fmt: skip
    assert not red.promote
    assert red.reasons == ["out of sample: 10 breaches of the forecast 99% VaR in the last "
                           "250 days, the Basel red zone (from 10)"]  # fmt: skip
    yellow = evaluate_agent_bootstrap("risk_manager", "1", RISK | {"var_99_recent_breaches": 9.0},
                                      "passed")  # fmt: skip
    assert yellow.promote
    short = evaluate_agent_bootstrap("risk_manager", "1", RISK | {"var_99_recent_days": 150.0},
                                     "passed")  # fmt: skip
    assert short.reasons == ["out of sample: 150 days of forecast VaR backtested (need 250)"]
    # A run that logged no forecast backtest at all (an older version's) is refused too.
    assert not evaluate_agent_bootstrap("risk_manager", "1", {"days": 10.0}, "passed").promote


@pytest.mark.parametrize(("agent", "metrics", "held"), [
    ("portfolio_optimizer", OPTIMIZER, "oos_years"),
    ("execution", EXECUTION, "oos_vol_blocks"),
])  # fmt: skip
def test_a_volatility_forecast_must_hold_out_data_and_stay_in_the_live_band(agent, metrics, held):
    band = AgentBootstrapPolicy().volatility_ratio_band
    assert evaluate_agent_bootstrap(agent, "1", metrics, "passed").promote
    for ratio in (band[0] - 0.01, band[1] + 0.01):
        off = evaluate_agent_bootstrap(agent, "1", metrics | {"oos_vol_ratio_median": ratio},
                                       "passed")  # fmt: skip
        assert not off.promote and "outside 0.67-1.50" in off.reasons[0]
    none = evaluate_agent_bootstrap(agent, "1", {held: 0.0}, "passed")
    assert not none.promote and none.reasons[0].startswith("out of sample: 0 held-out")


def test_failed_data_checks_refuse_every_agent_and_an_unknown_agent_is_an_error():
    for agent, metrics in (("risk_manager", RISK), ("portfolio_optimizer", OPTIMIZER),
                           ("execution", EXECUTION)):  # fmt: skip
        decision = evaluate_agent_bootstrap(agent, "3", metrics, "failed")
        assert decision.reasons == ["data quality of the training data: failed"]
    with pytest.raises(ValueError, match="no bootstrap gate for 'market_analyst'"):
        evaluate_agent_bootstrap("market_analyst", "1", {}, "passed")


def test_on_real_prices_each_agents_own_evaluation_passes_and_a_short_history_does_not(
    sp500_prices,
):
    """The metrics the training assets log, computed by the same functions on 20 real
    stocks, 2006-2014 (the integration tests' period)."""
    from agents.execution.evaluation import summary as execution_summary
    from agents.execution.evaluation import volatility_forecast_backtest
    from agents.portfolio_optimizer.evaluation import summary, walk_forward_hrp
    from agents.risk_manager.agent import RiskLimits
    from agents.risk_manager.backtest import risk_model_evaluation

    prices = sp500_prices.query("symbol != 'SP500' and '2006' <= date < '2015'")
    returns = prices.pivot(index="date", columns="symbol", values="close").pct_change().iloc[1:]
    limits = RiskLimits()
    evaluations = {
        "risk_manager": risk_model_evaluation(returns, limits.lookback_days,
                                              limits.budget.ewma_decay),
        "portfolio_optimizer": summary(walk_forward_hrp(returns, {}, train_days=504)),
        "execution": execution_summary(volatility_forecast_backtest(prices)),
    }  # fmt: skip
    for agent, metrics in evaluations.items():
        decision = evaluate_agent_bootstrap(agent, "1", metrics, "passed")
        assert decision.promote, (agent, decision.reasons)
    risk = evaluations["risk_manager"]
    # 2008 is in the history, not in the last 250 days: the whole history's breach rate is
    # reported beside the recent count the gate reads.
    assert risk["var_99_recent_days"] == 250 and risk["var_99_recent_breaches"] < 10
    # 300 days: a 150-day window, 150 days backtested, fewer than the Basel window.
    short = risk_model_evaluation(returns.tail(300), limits.lookback_days,
                                  limits.budget.ewma_decay)  # fmt: skip
    refused = evaluate_agent_bootstrap("risk_manager", "1", short, "passed")
    assert refused.reasons == ["out of sample: 150 days of forecast VaR backtested (need 250)"]
