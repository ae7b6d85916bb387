"""The risk manager's, optimizer's and execution agent's live evidence: each scored on its
own terms from shadow records (VaR tick loss with Kupiec's test, the book's realised return
with its volatility against forecast, the cost model's error against realised shortfall),
and a challenger promoted only on enough observations and a significant paired gain."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from agents.desk.ledger import Event
from monitoring.agent_evidence import agent_evidence, agent_scores, evaluate_agent_gate

START = datetime(2022, 11, 1, 14, 30, tzinfo=UTC)
Z99 = 2.326  # the normal's 99% quantile
DAILY_VOL = 0.01


def _event(day: int, payload: dict) -> Event:
    at = START + timedelta(days=day)
    cycle_id = f"replay-{at:%Y%m%dT%H%MZ}"
    return Event(f"{cycle_id}/shadow_agents", cycle_id, "shadow_agents", at,
                 {"day": str(at.date()), **payload})  # fmt: skip


def risk_events(days: int, champion_var: float, challenger_var: float | None, seed: int = 0,
                version: str | None = "2", champion_version: str = "1",
                first_day: int = 0) -> list[Event]:  # fmt: skip
    """A one-name book whose daily moves are normal at 1%, with constant VaR forecasts."""
    moves = np.random.default_rng(seed).normal(0, DAILY_VOL, days + 1)
    price, events = 100.0, []
    for day in range(days + 1):
        events.append(_event(first_day + day, {"prices": {"A": price}, "risk_manager": {
            "champion_version": champion_version, "version": version, "book": {"A": 1.0},
            "champion_var_99": champion_var, "challenger_var_99": challenger_var}}))  # fmt: skip
        price *= 1 + moves[day]
    return events


def optimizer_events(days: int, challenger_forecast_vol: float, seed: int = 0) -> list[Event]:
    """The challenger's book holds B, which drifts up 0.2% a day; the champion's holds A."""
    rng = np.random.default_rng(seed)
    prices, events = {"A": 100.0, "B": 100.0}, []
    for day in range(days + 1):
        events.append(_event(day, {"prices": dict(prices), "portfolio_optimizer": {
            "champion_version": "1", "version": "2", "champion_weights": {"A": 1.0},
            "champion_forecast_volatility": DAILY_VOL * 252**0.5,
            "challenger_weights": {"B": 1.0},
            "challenger_forecast_volatility": challenger_forecast_vol}}))  # fmt: skip
        prices = {"A": prices["A"] * (1 + rng.normal(0, DAILY_VOL)),
                  "B": prices["B"] * (1 + 0.002 + rng.normal(0, DAILY_VOL))}  # fmt: skip
    return events


def execution_events(cycles: int, challenger_bias: float, seed: int = 0) -> list[Event]:
    """Realised shortfalls around 5 bp; the champion forecasts 2 bp, the challenger 5 bp
    plus ``challenger_bias``."""
    rng = np.random.default_rng(seed)
    events = []
    for cycle in range(cycles):
        orders = [{"symbol": s, "notional": 10_000.0, "shortfall": 5e-4 + rng.normal(0, 1e-4),
                   "champion_cost": 2e-4, "challenger_cost": 5e-4 + challenger_bias}
                  for s in ("A", "B")]  # fmt: skip
        events.append(_event(cycle, {"prices": {"A": 1.0, "B": 1.0}, "execution": {
            "champion_version": "1", "version": "2", "orders": orders}}))  # fmt: skip
    return events


def test_a_calibrated_var_beats_one_that_is_breached_too_often_and_passes_kupiec():
    scores = agent_scores(risk_events(250, 0.5 * Z99 * DAILY_VOL, Z99 * DAILY_VOL), "risk_manager")
    assert len(scores) == 250  # the last record waits for its next prices
    evidence = agent_evidence(scores, "risk_manager", "2")
    assert evidence.challenger_score < evidence.champion_score and evidence.p_value < 0.05
    assert evidence.check_passed and "Kupiec" in evidence.check
    decision = evaluate_agent_gate(evidence, "passed")
    assert decision.promote, decision.reasons


def test_a_var_breached_far_too_often_fails_kupiec_even_when_it_scores_better():
    # The champion's VaR is absurdly wide; the challenger's, a third of the right one, loses
    # less tick loss but is breached on about a fifth of days.
    scores = agent_scores(risk_events(250, 10 * Z99 * DAILY_VOL, Z99 * DAILY_VOL / 3),
                          "risk_manager")  # fmt: skip
    evidence = agent_evidence(scores, "risk_manager", "2")
    decision = evaluate_agent_gate(evidence, "passed")
    assert not evidence.check_passed and not decision.promote
    assert any("Kupiec" in r for r in decision.reasons)


def test_too_few_days_and_unchecked_training_data_are_each_a_reason_to_refuse():
    scores = agent_scores(risk_events(20, 0.5 * Z99 * DAILY_VOL, Z99 * DAILY_VOL), "risk_manager")
    decision = evaluate_agent_gate(agent_evidence(scores, "risk_manager", "2"), "not_evaluated")
    assert not decision.promote
    assert any("need 60" in r for r in decision.reasons)
    assert any("data quality" in r for r in decision.reasons)


def test_a_challenger_with_the_champions_parameters_is_refused_as_identical():
    same = Z99 * DAILY_VOL
    decision = evaluate_agent_gate(
        agent_evidence(agent_scores(risk_events(100, same, same), "risk_manager"),
                       "risk_manager", "2"), "passed")  # fmt: skip
    assert not decision.promote and "exactly as the champion" in decision.reasons[0]


def test_a_better_book_is_promoted_only_when_its_volatility_was_forecast():
    agent = "portfolio_optimizer"
    right = agent_evidence(agent_scores(optimizer_events(120, DAILY_VOL * 252**0.5), agent),
                           agent, "2")  # fmt: skip
    assert right.challenger_score > right.champion_score and right.p_value < 0.05
    assert evaluate_agent_gate(right, "passed").promote
    # The same book forecast at a third of the volatility it realised.
    wrong = agent_evidence(agent_scores(optimizer_events(120, DAILY_VOL * 252**0.5 / 3), agent),
                           agent, "2")  # fmt: skip
    refused = evaluate_agent_gate(wrong, "passed")
    assert not refused.promote and "realised volatility" in refused.reasons[0]


def test_a_cost_model_closer_to_realised_shortfall_is_promoted_and_a_worse_one_refused():
    closer = agent_evidence(agent_scores(execution_events(60, 0.0), "execution"), "execution", "2")
    assert closer.challenger_score < closer.champion_score
    assert closer.champion_score == pytest.approx(3.0, abs=0.3)  # |2 bp - 5 bp|
    assert evaluate_agent_gate(closer, "passed").promote
    worse = agent_evidence(agent_scores(execution_events(60, 8e-4), "execution"), "execution", "2")
    refused = evaluate_agent_gate(worse, "passed")
    assert not refused.promote and "p = " in refused.reasons[0]


def test_a_book_re_set_within_a_session_is_scored_once_a_day():
    from dataclasses import replace

    events = risk_events(30, Z99 * DAILY_VOL, Z99 * DAILY_VOL / 2)
    later = [replace(e, event_id=e.event_id + "b", market_time=e.market_time + timedelta(hours=1),
                     payload={**e.payload, "prices": {"A": 1.0}}) for e in events]  # fmt: skip
    scores = agent_scores(events + later, "risk_manager")
    assert len(scores) == 30  # one day-to-day move per session, from its first record
    assert scores.equals(agent_scores(events, "risk_manager"))
