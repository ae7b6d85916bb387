"""The served RL scheduler acts exactly as Stable-Baselines3's predict would, only cheaper."""

import gymnasium as gym
import numpy as np
import pytest

from agents.execution.rl_serving import DeterministicActor


def observations(count: int) -> np.ndarray:
    # Wide enough that some means fall outside the action space and are clipped.
    return np.random.default_rng(0).normal(0.0, 20.0, (count, 5)).astype(np.float32)


def test_the_deterministic_actor_returns_sb3s_actions_bit_for_bit(trained_policy):
    actor, wide = DeterministicActor(trained_policy), observations(400)
    single = np.stack([actor.predict(o, deterministic=True)[0] for o in wide])
    expected = np.stack([trained_policy.predict(o, deterministic=True)[0] for o in wide])
    assert single.dtype == expected.dtype and single.shape == expected.shape == (400, 1)
    assert np.array_equal(single, expected)
    batched, _ = actor.predict(wide, deterministic=True)
    assert np.array_equal(batched, trained_policy.predict(wide, deterministic=True)[0])
    low, high = trained_policy.action_space.low, trained_policy.action_space.high
    assert ((expected == low) | (expected == high)).any()  # the clip is exercised


def test_an_action_space_without_the_short_path_goes_through_sb3s_predict():
    from stable_baselines3 import PPO

    class Choose(gym.Env):
        observation_space = gym.spaces.Box(-50.0, 50.0, (5,), np.float32)
        action_space = gym.spaces.Discrete(3)

        def reset(self, seed=None, options=None):
            return np.zeros(5, np.float32), {}

        def step(self, action):
            return np.zeros(5, np.float32), float(action), True, False, {}

    model = PPO("MlpPolicy", Choose(), n_steps=64, batch_size=32, device="cpu", seed=0)
    actor, wide = DeterministicActor(model), observations(50)
    assert np.array_equal(actor.predict(wide, deterministic=True)[0],
                          model.predict(wide, deterministic=True)[0])  # fmt: skip


def test_an_observation_of_the_wrong_shape_is_refused_with_its_shape(trained_policy):
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        DeterministicActor(trained_policy).predict(np.zeros((3, 4), np.float32), deterministic=True)
