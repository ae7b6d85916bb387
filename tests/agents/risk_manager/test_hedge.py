"""The hedge model: beta from an EWMA covariance, half of it hedged, a band against churn;
and a short's financing from the closes it was held over."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from agents.desk.financing import financing_payload
from agents.risk_manager.agent import PreparedRisk, RiskLimits
from agents.risk_manager.budget import ewma_covariance
from agents.risk_manager.hedge import HedgeModel, HedgePolicy
from agents.risk_manager.stress import crisis_moves


def returns_with_betas(betas: dict[str, float], days: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    market = rng.normal(0.0, 0.01, days)
    columns = {s: b * market + rng.normal(0.0, 0.002, days) for s, b in betas.items()}
    return pd.DataFrame({**columns, "IDX": market})


def test_the_books_beta_is_the_weighted_beta_of_its_names():
    model = HedgeModel(HedgePolicy(), "IDX", returns_with_betas({"A": 1.5, "B": 0.5}))
    book = pd.Series({"A": 0.4, "B": 0.4})
    assert model.beta(book) == pytest.approx(0.4 * 1.5 + 0.4 * 0.5, rel=0.05)


def test_the_hedge_is_the_policys_share_of_beta_and_lowers_the_forecast_volatility():
    model = HedgeModel(HedgePolicy(beta_ratio=0.6), "IDX", returns_with_betas({"A": 1.2}))
    target = model.target(pd.Series({"A": 0.8}), current_weight=0.0)
    assert target.weight == pytest.approx(-0.6 * target.book_beta) and target.weight < 0
    assert target.trade and target.hedged_volatility < target.unhedged_volatility


def test_the_hedged_covariance_forecasts_the_book_with_its_hedge():
    returns = returns_with_betas({"A": 1.2, "B": 0.7})
    model = HedgeModel(HedgePolicy(beta_ratio=0.75), "IDX", returns)
    names = ewma_covariance(returns[["A", "B"]].tail(250).to_numpy())
    book = pd.Series({"A": 0.5, "B": 0.3})
    w = book.to_numpy()
    hedged = model.hedged_covariance(names, ["A", "B"])
    target = model.target(book, 0.0)
    assert np.sqrt(w @ hedged @ w * 252) == pytest.approx(target.hedged_volatility)
    assert np.sqrt(w @ names @ w * 252) == pytest.approx(target.unhedged_volatility)


def test_the_limits_judge_a_hedged_book_with_its_hedge():
    returns = returns_with_betas({"A": 1.2, "B": 0.9}, days=1200)
    returns.index = pd.bdate_range("2005-06-01", periods=len(returns))
    prices = (1 + returns).cumprod() * 100
    risk = PreparedRisk(RiskLimits(), prices[["A", "B"]], {}, index=prices["IDX"])
    model = HedgeModel(
        HedgePolicy(),
        "IDX",
        returns,
        {c.scenario: float(c.moves[0]) for c in crisis_moves(prices[["IDX"]])},
    )
    book = pd.Series({"A": 0.5, "B": 0.5})
    alone = risk.assess(book)
    hedged = risk.assess(book, model.book(book, risk.covariance, risk.symbols))
    assert hedged.hedge_weight < 0
    assert hedged.forecast_var_99 < alone.forecast_var_99
    crisis = {s.scenario: s.portfolio_return for s in alone.stress}
    assert crisis  # the synthetic history spans 2008
    for s in hedged.stress:  # the short gives back part of each crisis' fall
        assert s.portfolio_return == pytest.approx(
            crisis[s.scenario] + hedged.hedge_weight * model.crisis_moves[s.scenario]
        )


def test_a_hedge_inside_the_band_is_not_traded():
    model = HedgeModel(HedgePolicy(rebalance_band=0.05), "IDX", returns_with_betas({"A": 1.0}))
    wanted = model.target(pd.Series({"A": 0.8}), 0.0).weight
    assert not model.target(pd.Series({"A": 0.8}), wanted + 0.02).trade
    assert model.target(pd.Series({"A": 0.8}), wanted + 0.08).trade


def test_a_book_with_negative_beta_is_not_hedged_by_buying_the_index():
    model = HedgeModel(HedgePolicy(), "IDX", returns_with_betas({"A": -1.0}))
    target = model.target(pd.Series({"A": 0.5}), 0.0)
    assert target.book_beta < 0 and target.weight == 0.0
    assert "negative beta: no hedge" in target.reasons


def test_a_switched_off_policy_asks_for_no_hedge():
    model = HedgeModel(HedgePolicy(enabled=False), "IDX", returns_with_betas({"A": 1.0}))
    assert model.target(pd.Series({"A": 0.9}), 0.0).weight == 0.0


def test_financing_charges_each_close_held_short_since_the_last_session_opened():
    days = pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"])
    history = pd.DataFrame({"IDX": [100.0, 101.0, 102.0, 99.0], "A": [10.0] * 4}, index=days)
    payload = financing_payload(
        {"IDX": -50, "A": 10}, history, "2020-01-03", date(2020, 1, 8), rate_annual=0.05
    )
    owed = 50 * (101.0 + 102.0 + 99.0) * 0.05 / 252  # three closes; the long pays nothing
    assert payload["cash_delta_cents"] == -round(owed * 100)
    assert payload["shorts"]["IDX"]["closes"] == 3 and list(payload["shorts"]) == ["IDX"]
    assert financing_payload({"A": 10}, history, "2020-01-03", date(2020, 1, 8), 0.05) is None
    # A history dated by strings or dates (not the feed's DatetimeIndex) owes the same.
    for labels in (days.strftime("%Y-%m-%d"), days.date):
        relabelled = history.set_axis(pd.Index(labels, dtype=object))
        again = financing_payload({"IDX": -50, "A": 10}, relabelled, "2020-01-03",
                                  date(2020, 1, 8), rate_annual=0.05)  # fmt: skip
        assert again == payload
