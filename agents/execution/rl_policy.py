"""What the RL scheduler sees and how a trained policy trades an order, without Gymnasium
(the environment, ``agents.execution.rl_env``, wraps these for training): the desk trades
with a promoted policy through ``trade_with_policy`` and must not import a training stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.execution.fills import Fill, fill_slice
from agents.execution.impact import ImpactModel

if TYPE_CHECKING:  # routing imports the fill model, as this module does
    from agents.execution.routing import VenueOutcomes

OBSERVATION = ("time_left", "inventory_left", "move_against_sigma", "size_vs_adv", "spread_sigma")


@dataclass(frozen=True)
class Episode:
    side: int  # +1 buy, -1 sell
    quantity: int
    decision_price: float
    bucket_prices: np.ndarray  # (buckets,) the mid of each five-minute bucket
    bucket_volumes: np.ndarray  # (buckets,) shares
    impact: ImpactModel


def observe(episode: Episode, bucket: int, remaining: int, bucket_days: float,
            half_spread: float) -> np.ndarray:  # fmt: skip
    buckets = len(episode.bucket_prices)
    last = episode.decision_price if bucket == 0 else episode.bucket_prices[bucket - 1]
    sigma_bar = episode.impact.daily_volatility * np.sqrt(bucket_days * buckets)
    move = episode.side * (last / episode.decision_price - 1.0) / max(sigma_bar, 1e-9)
    size = np.log10(max(episode.quantity / episode.impact.adv_shares, 1e-6))
    spread = half_spread / max(episode.impact.daily_volatility * np.sqrt(bucket_days), 1e-9)
    return np.array(
        [(buckets - bucket) / buckets, remaining / episode.quantity, np.clip(move, -5, 5),
         (size + 3.0) / 2.0, np.clip(spread, 0, 5)],
        dtype=np.float32,
    )  # fmt: skip


def trade_with_policy(policy, episode: Episode, bucket_days: float, half_spread: float,
                      max_participation: float,
                      venues: VenueOutcomes | None = None) -> list[Fill]:  # fmt: skip
    """Trade ``episode``'s order live with a trained ``policy`` (``predict(observation,
    deterministic=True)``, as Stable-Baselines3's): at each bucket it sees what the
    environment shows it and chooses the share of the inventory left to send; the slice
    fills as the environment fills it, at a routed child's venue when ``venues`` is given."""
    fills, remaining, traded = [], episode.quantity, 0
    buckets = len(episode.bucket_prices)
    for bucket in range(buckets):
        if bucket == buckets - 1:
            wanted = remaining
        else:
            observation = observe(episode, bucket, remaining, bucket_days, half_spread)
            action, _ = policy.predict(observation, deterministic=True)
            wanted = round(float(np.clip(np.asarray(action).ravel()[0], 0.0, 1.0)) * remaining)
        quantity, price = fill_slice(
            episode.side, wanted, episode.bucket_prices[bucket], episode.bucket_volumes[bucket],
            traded, episode.impact, half_spread=half_spread, max_participation=max_participation,
            bucket_days=bucket_days,
            capacity=1.0 if venues is None else float(venues.capacity[bucket]),
            venue_cost=0.0 if venues is None else float(venues.cost[bucket]),
        )  # fmt: skip
        if quantity > 0:
            fills.append(Fill(bucket, quantity, price))
            remaining -= quantity
            traded += quantity
    return fills
