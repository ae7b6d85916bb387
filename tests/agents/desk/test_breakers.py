"""Each circuit breaker at its threshold, from the design's defaults."""

import numpy as np
import pandas as pd

from agents.desk.breakers import BookState, CircuitBreakers


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
