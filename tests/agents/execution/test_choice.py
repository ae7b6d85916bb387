"""The execution agent's choice of schedule per order: the Almgren-Chriss trajectory, and the
candidate with the lowest expected cost plus risk aversion x variance under its own model."""

import numpy as np
import pytest

from agents.execution.agent import ExecutionAgent, ExecutionPolicy
from agents.execution.impact import ImpactModel
from agents.execution.schedules import almgren_chriss, almgren_chriss_kappa, twap
from agents.messages import Order

BAR_DAYS = 1 / 13


def test_the_almgren_chriss_trajectory_is_twap_without_urgency_and_front_loads_with_it():
    assert almgren_chriss(1000, 6, 0.0).tolist() == twap(1000, 6).tolist()
    mild, steep = almgren_chriss(1000, 6, 0.3), almgren_chriss(1000, 6, 1.5)
    assert mild.sum() == steep.sum() == 1000
    assert (np.diff(mild) <= 0).all() and steep[0] > mild[0] > twap(1000, 6)[0]
    assert almgren_chriss(1000, 6, 1e6)[0] >= 999  # capped, no overflow
    assert almgren_chriss_kappa(0.0, 1e-4, 1e-3) == 0.0
    assert almgren_chriss_kappa(10.0, 1e-4, 1e-3) < almgren_chriss_kappa(100.0, 1e-4, 1e-3)


def order(quantity: int, urgency: str) -> Order:
    return Order(symbol="X", action="BUY", quantity=quantity, urgency=urgency)


@pytest.fixture
def liquid() -> ImpactModel:
    return ImpactModel(daily_volatility=0.02, adv_shares=5e6)


def test_a_patient_order_takes_the_cheapest_schedule_an_urgent_one_pays_to_cut_its_risk(liquid):
    agent = ExecutionAgent()
    patient = agent.choose(order(20_000, "LOW"), 100.0, liquid, 6, BAR_DAYS)
    assert patient.chosen.algorithm == "vwap"
    assert patient.chosen.expected_cost == min(s.expected_cost for s in patient.scores)
    urgent = agent.choose(order(20_000, "HIGH"), 100.0, liquid, 6, BAR_DAYS)
    assert urgent.chosen.algorithm in ("almgren_chriss", "pov")
    assert urgent.chosen.timing_risk < patient.chosen.timing_risk
    assert urgent.chosen.expected_cost > patient.chosen.expected_cost
    assert urgent.chosen.slices[0] > urgent.chosen.slices[-1]  # front-loaded
    why = urgent.payload()
    assert why["algorithm"] == urgent.chosen.algorithm and "vwap" in why["why"]


def test_vwap_stays_unless_another_schedule_is_better_by_more_than_the_models_precision(liquid):
    tiny = ExecutionAgent().choose(order(500, "MEDIUM"), 100.0, liquid, 6, BAR_DAYS)
    best = min(s.objective for s in tiny.scores)
    assert tiny.scores[0].objective - best < ExecutionPolicy().min_improvement
    assert tiny.chosen.algorithm == "vwap"
    eager = ExecutionAgent(ExecutionPolicy(min_improvement=0.0))
    assert eager.choose(order(500, "MEDIUM"), 100.0, liquid, 6, BAR_DAYS).chosen.objective == best


def test_the_same_order_costs_more_when_its_buckets_are_shorter(liquid):
    """A bucket of a half-hour bar lasts five minutes: the same slice is a faster rate."""
    agent = ExecutionAgent()
    day = agent.choose(order(20_000, "LOW"), 100.0, liquid, 6, 1.0)
    bar = agent.choose(order(20_000, "LOW"), 100.0, liquid, 6, BAR_DAYS)
    assert bar.chosen.expected_cost > day.chosen.expected_cost
