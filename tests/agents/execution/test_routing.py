"""Thompson-sampling routing over simulated venues: it learns the best venue from fills and
its regret per child order falls as it does."""

import numpy as np

from agents.execution.routing import RoutingCosts, ThompsonRouter, simulate_routing
from agents.execution.venues import Venue


def venues() -> list[Venue]:
    return [
        Venue("RELIABLE", fee_bp=0.3, fill_probability=0.95, latency_ms=1, hidden_liquidity=0),
        Venue("REBATE", fee_bp=-0.2, fill_probability=0.4, latency_ms=1, hidden_liquidity=0),
        Venue("DARK", fee_bp=0.1, fill_probability=0.3, latency_ms=5, hidden_liquidity=0.5),
    ]


def test_the_router_learns_the_venue_that_is_best_in_hindsight_and_its_regret_falls():
    report = simulate_routing(ThompsonRouter(venues(), seed=3), children=3000, seed=4)
    assert report["best_venue_in_hindsight"] == "RELIABLE"
    assert report["share_to_best_last_tenth"] > 0.9
    assert report["mean_regret_bp_last_tenth"] < report["mean_regret_bp_first_tenth"]
    assert report["routed"]["RELIABLE"] > report["routed"]["REBATE"] + report["routed"]["DARK"]


def test_a_cheap_miss_makes_the_rebate_venue_the_best():
    router = ThompsonRouter(venues(), RoutingCosts(miss_cost_bp=0.0), seed=3)
    report = simulate_routing(router, children=3000, seed=4)
    assert report["best_venue_in_hindsight"] == "REBATE"
    assert report["share_to_best_last_tenth"] > 0.9


def test_routed_children_pay_their_venues_fee_or_the_miss_cost_and_take_hidden_liquidity():
    router = ThompsonRouter.learned(venues(), {"DARK": 500}, {"RELIABLE": 500, "REBATE": 500})
    outcomes = router.route_children(2000, np.random.default_rng(0))
    names = np.array(outcomes.names)
    assert (names == "DARK").mean() > 0.95  # its posterior says it always fills
    dark_hits = (names == "DARK") & outcomes.filled
    assert 0.2 < dark_hits.sum() / (names == "DARK").sum() < 0.4  # its true probability 0.3
    assert np.allclose(outcomes.cost[dark_hits], 0.1e-4)
    assert np.allclose(outcomes.capacity[dark_hits], 1.5)
    assert np.allclose(outcomes.cost[~outcomes.filled], RoutingCosts().miss_cost_bp / 1e4)
    assert np.allclose(outcomes.capacity[~outcomes.filled], 1.0)


def test_the_same_seed_routes_the_same_children():
    router = ThompsonRouter.learned(venues(), {}, {})
    first = router.route_children(6, np.random.default_rng(7))
    again = router.route_children(6, np.random.default_rng(7))
    assert first.names == again.names and (first.filled == again.filled).all()
