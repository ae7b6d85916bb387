"""The RL scheduler as an MLflow pyfunc: observations (``rl_env.OBSERVATION``) in, the share
of the inventory left to send now out."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd

from agents.execution.rl_policy import OBSERVATION


class DeterministicActor:
    """A trained Stable-Baselines3 actor-critic ``model``'s deterministic action, the same
    array ``model.predict(observation, deterministic=True)`` returns, without predict's
    per-call overhead. The backtest's post-trade counterfactual asks for one action per
    bucket of every order (about 94,000 calls a walk), and SB3's predict spent most of each
    call switching the network to eval mode and checking the observation; the network's own
    arithmetic is the same calls on the same tensors, so the actions are equal bit for bit.

    Only a diagonal Gaussian policy on a Box action space without squashing (PPO's
    ``MlpPolicy`` on this environment) takes the short path, where the distribution's mode
    is the action net's mean; any other policy, or a stochastic action, goes through
    ``model.predict``."""

    def __init__(self, model) -> None:
        from gymnasium import spaces
        from stable_baselines3.common.distributions import DiagGaussianDistribution

        self.model = model
        policy = model.policy
        policy.set_training_mode(False)  # once: nothing trains a served policy
        space = model.action_space
        self._short_path = (
            isinstance(space, spaces.Box)
            and isinstance(getattr(policy, "action_dist", None), DiagGaussianDistribution)
            and not policy.squash_output
            and isinstance(policy.observation_space, spaces.Box)
        )
        self._observation_shape = policy.observation_space.shape
        self._action_shape = space.shape
        self._low, self._high = getattr(space, "low", None), getattr(space, "high", None)

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        if not (deterministic and self._short_path):
            return self.model.predict(observation, state, episode_start, deterministic)
        import torch
        from stable_baselines3.common.preprocessing import preprocess_obs

        policy = self.model.policy
        observation = np.asarray(observation)
        vectorized = observation.shape != self._observation_shape
        if vectorized and observation.shape[1:] != self._observation_shape:
            raise ValueError(
                f"an observation has shape {observation.shape}: the policy takes "
                f"{self._observation_shape} or (n, {', '.join(map(str, self._observation_shape))})"
            )
        batch = torch.as_tensor(observation.reshape((-1, *self._observation_shape)))
        with torch.no_grad():
            # ActorCriticPolicy.get_distribution, then DiagGaussianDistribution.mode
            features = policy.pi_features_extractor(
                preprocess_obs(batch, policy.observation_space, policy.normalize_images)
            )
            mean = policy.action_net(policy.mlp_extractor.forward_actor(features))
        actions = np.clip(mean.numpy().reshape((-1, *self._action_shape)), self._low, self._high)
        return (actions if vectorized else actions.squeeze(axis=0)), state


class ExecutionRLModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from stable_baselines3 import PPO

        self.policy = DeterministicActor(PPO.load(context.artifacts["policy"], device="cpu"))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        observations = model_input[list(OBSERVATION)].to_numpy(dtype=np.float32)
        actions, _ = self.policy.predict(observations, deterministic=True)
        share = np.clip(np.asarray(actions, dtype=float).reshape(-1), 0.0, 1.0)
        return pd.DataFrame({"share": share}, index=model_input.index)
