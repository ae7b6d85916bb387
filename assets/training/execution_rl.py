"""The execution agent's RL order scheduler: trained, judged against the classical schedules
on held-out sessions, registered as quorum-execution_rl and promoted only through its gate."""

import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.resources import ModelMonitoring, Warehouse
from assets.training.desk_models import STAGING

AGENT = "execution_rl"


class SchedulerTraining(dg.Config):
    timesteps: int = Field(default=30_000, description="PPO steps: six per training order.")
    seed: int = 0


@dg.asset(group_name="execution_training", kinds={"pytorch", "mlflow"}, deps=STAGING)
def execution_rl_scheduler(
    config: SchedulerTraining, warehouse: Warehouse, model_monitoring: ModelMonitoring
) -> dg.MaterializeResult:
    """PPO (Stable-Baselines3) in the execution agent's Gymnasium environment; champion only
    when its mean shortfall on held-out orders beats the best classical schedule's without a
    worse 95th percentile. Bars are SYNTHESIZED: see ``agents.execution.rl_env``."""
    from agents import model_registry
    from agents.execution.rl_policy import OBSERVATION
    from agents.execution.rl_scheduler import fit_and_judge
    from agents.execution.rl_serving import ExecutionRLModel

    market = warehouse.staged_market()
    exclude = {market.benchmark_symbol} if market.benchmark_symbol else set()
    trained = fit_and_judge(market.prices, exclude, config.timesteps, seed=config.seed)
    verdict = trained.verdict
    example = pd.DataFrame([[1.0, 1.0, 0.0, 0.5, 0.1]], columns=list(OBSERVATION))
    model_monitoring.mlflow_tracking.configure()
    with tempfile.TemporaryDirectory() as folder:
        policy = str(Path(folder) / "policy.zip")
        trained.model.save(policy)
        python_model = ExecutionRLModel()
        python_model.policy = trained.model
        registered = model_registry.log_and_register(
            AGENT, python_model,
            params={"algorithm": "PPO", "timesteps": config.timesteps, "seed": config.seed,
                    "training_orders": trained.training_orders,
                    "held_out_orders": trained.held_out_orders},
            metrics=verdict.metrics,
            tags={"bars": "synthesized (Brownian bridge through real OHLC)",
                  "held_out_sessions": trained.held_out_sessions},
            input_example=example, output_example=python_model.predict(None, example),
            version_tags={"trained_through": trained.trained_through},
            model_artifacts={"policy": policy}, first_is_champion=False,
            pip_requirements=model_registry.installed_requirements(
                ["stable-baselines3", "gymnasium", "torch", "pandas"]
            ),
        )  # fmt: skip
    with model_monitoring.workflow() as workflow:
        act = workflow.apply_verdict(AGENT, registered.version, verdict.promote, verdict.reason,
                                     {"metrics": verdict.metrics})  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "model": registered.name,
            "version": registered.version,
            "act": act.act,
            "champion_after": str(act.champion_after),
            "reason": verdict.reason,
            "held_out_sessions": trained.held_out_sessions,
            **{k: round(v, 4) for k, v in verdict.metrics.items()},
        }
    )
