"""Routing child orders across SIMULATED venues (``agents.execution.venues``) with Thompson
sampling.

Each venue's fill probability has a Beta(1 + fills, 1 + misses) posterior from the outcomes
the router has seen. A child order goes to the venue whose sampled probability gives the
lowest expected cost in bp: p x fee + (1 - p) x the cost of a miss (the child waits and
crosses the spread elsewhere) + latency x its cost per ms. Known fees and latencies are
used as they are; only the fill probability is learned. Regret is measured against the
venue that is best with the true probabilities (known only in simulation).

On the desk the router is batched Thompson sampling: its posterior is counted from the
children the ledger's fills record (``DeskState.venue_fills`` and ``venue_misses``), so it
learns between cycles, from what the ledger holds, and a replayed cycle routes as it did.
A child that fills at its venue pays the venue's fee and may take its hidden liquidity; a
child that misses is re-sent to the lit market and pays ``miss_cost_bp``, as the router's
cost model assumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.execution.venues import Venue


@dataclass(frozen=True)
class RoutingCosts:
    miss_cost_bp: float = 2.0  # a missed child waits and pays about a half spread elsewhere
    latency_cost_bp_per_ms: float = 0.01


@dataclass(frozen=True)
class VenueOutcomes:
    """Per bucket: the venue its child order went to, whether it filled there, the share
    of the displayed participation cap it could take, and its venue cost as a fraction."""

    names: list[str]
    filled: np.ndarray
    capacity: np.ndarray
    cost: np.ndarray

    def children(self, buckets: list[int]) -> list[list]:
        """The ledger's record of the children that traded: [bucket, venue, filled there]."""
        return [[b, self.names[b], bool(self.filled[b])] for b in buckets]


@dataclass
class ThompsonRouter:
    venues: list[Venue]
    costs: RoutingCosts = field(default_factory=RoutingCosts)
    seed: int = 0
    fills: np.ndarray = field(init=False)
    misses: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.fills = np.zeros(len(self.venues))
        self.misses = np.zeros(len(self.venues))
        self._rng = np.random.default_rng(self.seed)
        self._fees = np.array([v.fee_bp for v in self.venues])
        self._latency = np.array([v.latency_ms for v in self.venues])

    def expected_cost_bp(self, fill_probability: np.ndarray) -> np.ndarray:
        c = self.costs
        return (fill_probability * self._fees + (1 - fill_probability) * c.miss_cost_bp
                + self._latency * c.latency_cost_bp_per_ms)  # fmt: skip

    @classmethod
    def learned(cls, venues: list[Venue], fills: dict[str, int], misses: dict[str, int],
                costs: RoutingCosts | None = None) -> ThompsonRouter:  # fmt: skip
        """A router whose posterior counts each venue's fills and misses (by name)."""
        router = cls(venues, costs or RoutingCosts())
        router.fills = np.array([fills.get(v.name, 0) for v in venues], dtype=float)
        router.misses = np.array([misses.get(v.name, 0) for v in venues], dtype=float)
        return router

    def route(self) -> int:
        """The venue (its index) for the next child order."""
        sampled = self._rng.beta(1 + self.fills, 1 + self.misses)
        return int(np.argmin(self.expected_cost_bp(sampled)))

    def route_children(self, buckets: int, rng: np.random.Generator) -> VenueOutcomes:
        """One child order per bucket, each routed on its own posterior draw, and how each
        fared at its venue (drawn with the venue's true fill probability: SIMULATED)."""
        sampled = rng.beta(1 + self.fills, 1 + self.misses, size=(buckets, len(self.venues)))
        chosen = np.argmin(self.expected_cost_bp(sampled), axis=1)
        truth = np.array([v.fill_probability for v in self.venues])
        hit = rng.random(buckets) < truth[chosen]
        hidden = np.array([v.hidden_liquidity for v in self.venues])
        return VenueOutcomes(
            names=[self.venues[i].name for i in chosen],
            filled=hit,
            capacity=np.where(hit, 1.0 + hidden[chosen], 1.0),
            cost=np.where(hit, self._fees[chosen], self.costs.miss_cost_bp) / 1e4,
        )

    def record(self, venue: int, filled: bool) -> None:
        if filled:
            self.fills[venue] += 1
        else:
            self.misses[venue] += 1


def simulate_routing(router: ThompsonRouter, children: int, seed: int = 1) -> dict:
    """Route ``children`` child orders, each filling with its venue's true probability;
    the router's cumulative regret in bp against the best venue in hindsight."""
    rng = np.random.default_rng(seed)
    truth = router.expected_cost_bp(np.array([v.fill_probability for v in router.venues]))
    best = int(np.argmin(truth))
    regret, chosen = np.zeros(children), np.zeros(children, dtype=int)
    for i in range(children):
        venue = router.route()
        router.record(venue, bool(rng.random() < router.venues[venue].fill_probability))
        regret[i], chosen[i] = truth[venue] - truth[best], venue
    tenth = max(children // 10, 1)
    return {
        "children": children,
        "best_venue_in_hindsight": router.venues[best].name,
        "cumulative_regret_bp": round(float(regret.sum()), 3),
        "mean_regret_bp_first_tenth": round(float(regret[:tenth].mean()), 4),
        "mean_regret_bp_last_tenth": round(float(regret[-tenth:].mean()), 4),
        "share_to_best_last_tenth": round(float((chosen[-tenth:] == best).mean()), 4),
        "routed": {v.name: int((chosen == i).sum()) for i, v in enumerate(router.venues)},
        "simulated": "venues are simulated: the data have none",
    }
