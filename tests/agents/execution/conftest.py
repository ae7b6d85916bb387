"""An order's episode on a short bar, and a small PPO policy really trained (briefly) on it."""

import numpy as np
import pytest

from agents.execution.agent import ExecutionAgent
from agents.execution.impact import ImpactModel
from agents.execution.rl_policy import Episode


def episode(side: int = 1, quantity: int = 40_000) -> Episode:
    prices = np.array([100.0, 100.2, 99.9, 100.4, 100.6, 100.3])
    return Episode(side, quantity, 100.0, prices, np.full(6, 60_000.0),
                   ImpactModel(daily_volatility=0.02, adv_shares=5e6))  # fmt: skip


@pytest.fixture(scope="module")
def trained_policy():
    """A small PPO policy, really trained (briefly) on the synthetic order's episodes."""
    from agents.execution.rl_scheduler import train

    return train([episode(1), episode(-1)], ExecutionAgent(), timesteps=600)
