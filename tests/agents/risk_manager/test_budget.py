"""The Risk Manager's budget: volatility target, regime cut, drawdown control, gross cap."""

from dataclasses import replace

import numpy as np
import pytest

from agents.risk_manager.budget import (
    TRADING_DAYS,
    RiskBudgetPolicy,
    drawdown_scale,
    ewma_covariance,
    set_budget,
)

# Two uncorrelated names, each with 1% daily volatility.
COVARIANCE = np.diag([1e-4, 1e-4])
EQUAL = np.array([0.5, 0.5])
BOOK_VOL = float(np.sqrt(EQUAL @ COVARIANCE @ EQUAL * TRADING_DAYS))  # about 11.2%


def test_the_book_is_sized_to_the_volatility_target():
    policy = RiskBudgetPolicy(target_volatility=0.05, drawdown_start=1.0, drawdown_full=1.1)
    budget = set_budget(EQUAL, COVARIANCE, policy)
    assert budget.proposed_volatility == pytest.approx(BOOK_VOL)
    assert budget.scale == pytest.approx(0.05 / BOOK_VOL)
    assert budget.forecast_volatility == pytest.approx(0.05)


def test_a_calm_book_is_capped_at_the_gross_limit_not_levered():
    budget = set_budget(EQUAL, COVARIANCE, RiskBudgetPolicy(target_volatility=0.5))
    assert budget.scale == pytest.approx(1.0) and budget.gross_exposure == pytest.approx(1.0)
    assert "gross capped at 1" in budget.reasons


def test_the_stressed_regime_and_a_drawdown_cut_the_budget():
    policy = RiskBudgetPolicy(target_volatility=0.05)
    calm = set_budget(EQUAL, COVARIANCE, policy, regime="calm")
    stressed = set_budget(EQUAL, COVARIANCE, policy, regime="stressed")
    assert stressed.scale == pytest.approx(calm.scale * policy.stressed_scale)
    deep = set_budget(EQUAL, COVARIANCE, policy, drawdown=0.10)
    assert deep.scale == pytest.approx(calm.scale * drawdown_scale(0.10, policy))
    assert any(r.startswith("drawdown 10.0%") for r in deep.reasons)


def test_the_drawdown_control_is_linear_between_its_start_and_its_floor():
    policy = RiskBudgetPolicy(drawdown_start=0.05, drawdown_full=0.15, drawdown_floor_scale=0.5)
    assert drawdown_scale(0.0, policy) == drawdown_scale(0.05, policy) == 1.0
    assert drawdown_scale(0.10, policy) == pytest.approx(0.75)
    assert drawdown_scale(0.15, policy) == drawdown_scale(0.60, policy) == 0.5


def test_a_switched_off_budget_leaves_the_book_as_proposed():
    budget = set_budget(EQUAL, COVARIANCE, replace(RiskBudgetPolicy(), enabled=False))
    assert budget.scale == 1.0 and budget.reasons == []


def test_ewma_covariance_weights_the_latest_days_most():
    quiet = np.full((200, 1), 0.001)
    loud = np.vstack([quiet, np.full((5, 1), 0.03)])
    decay = 0.94
    weights = decay ** np.arange(len(loud) - 1, -1, -1)
    by_hand = float((weights * loud[:, 0] ** 2).sum() / weights.sum())
    assert ewma_covariance(loud, decay)[0, 0] == pytest.approx(by_hand)
    # Five loud days move the EWMA variance far more than the equally weighted one.
    assert ewma_covariance(loud, decay)[0, 0] > 5 * float(np.mean(loud[:, 0] ** 2))
