"""The RL scheduler as an MLflow pyfunc: observations (``rl_env.OBSERVATION``) in, the share
of the inventory left to send now out."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd

from agents.execution.rl_policy import OBSERVATION


class ExecutionRLModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from stable_baselines3 import PPO

        self.policy = PPO.load(context.artifacts["policy"], device="cpu")

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        observations = model_input[list(OBSERVATION)].to_numpy(dtype=np.float32)
        actions, _ = self.policy.predict(observations, deterministic=True)
        share = np.clip(np.asarray(actions, dtype=float).reshape(-1), 0.0, 1.0)
        return pd.DataFrame({"share": share}, index=model_input.index)
