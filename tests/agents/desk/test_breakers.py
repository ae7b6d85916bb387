"""Each circuit breaker at its threshold, from the design's defaults."""

import numpy as np
import pandas as pd
import pytest

from agents.desk.breakers import BookState, BreakerThresholds, CircuitBreakers


def book(**changes) -> BookState:
    rng = np.random.default_rng(0)
    base = dict(
        nav=100.0,
        session_start_nav=100.0,
        position_values=pd.Series({"A": 5.0, "B": 5.0}),
        recent_returns=pd.DataFrame(rng.normal(0, 0.01, (20, 2)), columns=["A", "B"]),
        mean_confidence=0.55,
        usual_confidence=0.55,
    )
    return BookState(**{**base, **changes})


def breakers(state: BookState) -> list[str]:
    return [b.breaker for b in CircuitBreakers().check(state)]


def test_a_calm_book_trips_nothing():
    assert breakers(book()) == []


def test_daily_loss_trips_beyond_two_percent_only():
    assert breakers(book(nav=98.1)) == []
    assert breakers(book(nav=97.0)) == ["daily_loss"]


def test_a_position_over_ten_percent_of_nav_trips_concentration():
    assert breakers(book(position_values=pd.Series({"A": 10.0, "B": 5.0}))) == []
    assert breakers(book(position_values=pd.Series({"A": 11.0, "B": 5.0}))) == [
        "position_concentration"
    ]


def test_held_names_moving_together_trip_the_correlation_spike():
    common = np.random.default_rng(1).normal(0, 0.01, 20)
    together = pd.DataFrame({"A": common, "B": common * 1.1 + 1e-4})
    assert breakers(book(recent_returns=together)) == ["correlation_spike"]


def test_a_confidence_fall_of_more_than_point_three_trips():
    assert breakers(book(mean_confidence=0.30, usual_confidence=0.55)) == []
    assert breakers(book(mean_confidence=0.20, usual_confidence=0.55)) == ["model_confidence_drop"]


def test_the_concentration_breaker_guards_the_universes_cap_not_the_design_floor():
    # 20 names may each hold 10%: the breaker fires at half again that, 15%.
    scaled = CircuitBreakers(BreakerThresholds(), position_cap=0.10)
    assert scaled.thresholds.position_concentration == pytest.approx(0.15)
    # 500 names hold at most 5%: the design's 10% stays.
    assert CircuitBreakers(position_cap=0.05).thresholds.position_concentration == 0.10
    # A limit set by hand is kept as it is.
    explicit = CircuitBreakers(BreakerThresholds(position_concentration=0.01), position_cap=0.1)
    assert explicit.thresholds.position_concentration == 0.01


def test_the_correlation_is_measured_once_per_session_frame_and_held_names(monkeypatch):
    from agents.desk import breakers as module

    measured = []
    original = module.mean_pairwise_correlation
    monkeypatch.setattr(
        module,
        "mean_pairwise_correlation",
        lambda window: measured.append(list(window.columns)) or original(window),
    )
    rng = np.random.default_rng(2)
    session = pd.DataFrame(rng.normal(0, 0.01, (30, 3)), columns=["A", "B", "C"])
    desk = CircuitBreakers()
    two = book(recent_returns=session)
    three = book(recent_returns=session, position_values=pd.Series({"A": 2.0, "B": 2.0, "C": 2.0}))
    next_day = book(recent_returns=session.copy())
    for state in (two, two, three, three, two, next_day):
        desk.check(state)
    # again only for other names, or another session's frame (even with equal values)
    assert measured == [["A", "B"], ["A", "B", "C"], ["A", "B"], ["A", "B"]]
    # and the kept value is the one a fresh measure gives
    together = pd.DataFrame({"A": session["A"], "B": session["A"] * 1.1 + 1e-4, "C": 0.0})
    spiking = book(recent_returns=together)
    assert [b.breaker for b in desk.check(spiking)] == ["correlation_spike"]
    assert [b.breaker for b in desk.check(spiking)] == ["correlation_spike"]
    assert desk.check(spiking)[0].value == CircuitBreakers().check(spiking)[0].value
