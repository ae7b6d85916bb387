"""A Gymnasium environment for scheduling one order over one bar, built from the execution
agent's own impact and fill model and the replay feed's intraday bars.

An episode is one order (a side, a size against the ADV) traded over a half-hour bar's six
five-minute buckets, from the decision price at the bar's open. At each bucket the policy
sees the time left, the inventory left, the price's move since the decision in units of the
bar's volatility (against the order when positive), the order's size against the ADV and
the half spread against one bucket's volatility; it chooses the share of the inventory left
to send now (the last bucket sends all of it). The slice fills like the fill model fills a
schedule's slice: half spread plus temporary impact plus the permanent impact of what traded
before, at most the participation cap of the bucket's volume (the rest stays in inventory).
The reward is minus each slice's cost against the decision price in bp, and at the end
minus the move on what never filled: an episode's rewards sum to minus its implementation
shortfall.

The bars are SYNTHESIZED (a Brownian bridge through each day's real OHLC): within a bar the
path carries a little of the day's shape, which a policy could learn and a real market would
not repeat. Classical schedules are scored on the same bars, so the comparison is fair, but
a gain over them is an upper bound on what real bars would give.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np

from agents.execution.fills import fill_slice
from agents.execution.rl_policy import OBSERVATION, Episode, observe


def slice_cost(episode: Episode, bucket: int, wanted: int, traded: int, bucket_days: float,
               half_spread: float, max_participation: float) -> tuple[int, float]:  # fmt: skip
    """(shares filled, their cost against the decision price in dollars), filled as the
    fill model fills a schedule's slice."""
    quantity, price = fill_slice(
        episode.side, wanted, episode.bucket_prices[bucket], episode.bucket_volumes[bucket],
        traded, episode.impact, half_spread=half_spread, max_participation=max_participation,
        bucket_days=bucket_days,
    )  # fmt: skip
    return quantity, episode.side * quantity * (price - episode.decision_price)


class OrderSchedulingEnv(gym.Env):
    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, episodes: list[Episode], bucket_days: float, half_spread: float,
                 max_participation: float = 0.1) -> None:  # fmt: skip
        super().__init__()
        self.episodes = episodes
        self.bucket_days, self.half_spread = bucket_days, half_spread
        self.max_participation = max_participation
        self.observation_space = gym.spaces.Box(-5.0, 5.0, (len(OBSERVATION),), np.float32)
        self.action_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
        self._episode: Episode | None = None

    def play(self, episode: Episode) -> np.ndarray:
        """Start ``episode`` (evaluation replays chosen episodes); its first observation."""
        self._episode, self._bucket, self._remaining, self._traded = episode, 0, episode.quantity, 0
        return self._observe()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        episode = self.episodes[int(self.np_random.integers(len(self.episodes)))]
        return self.play(episode), {}

    def step(self, action):
        episode, buckets = self._episode, len(self._episode.bucket_prices)
        last = self._bucket == buckets - 1
        share = 1.0 if last else float(np.clip(np.asarray(action).ravel()[0], 0.0, 1.0))
        wanted = self._remaining if last else round(share * self._remaining)
        filled, cost_usd = slice_cost(
            episode, self._bucket, wanted, self._traded, self.bucket_days, self.half_spread,
            self.max_participation,
        )  # fmt: skip
        self._remaining -= filled
        self._traded += filled
        notional = episode.quantity * episode.decision_price
        reward = -cost_usd / notional * 1e4
        self._bucket += 1
        done = self._bucket == buckets
        if done and self._remaining:  # the move on what never filled
            end = episode.bucket_prices[-1]
            move = episode.side * self._remaining * (end - episode.decision_price)
            reward -= move / notional * 1e4
        observation = self._observe() if not done else np.zeros(len(OBSERVATION), np.float32)
        return observation, float(reward), done, False, {"filled": filled}

    def _observe(self) -> np.ndarray:
        return observe(self._episode, self._bucket, self._remaining, self.bucket_days,
                       self.half_spread)  # fmt: skip
