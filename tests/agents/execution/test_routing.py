"""Thompson-sampling routing over simulated venues: it learns the best venue from fills and
its regret per child order falls as it does."""

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
