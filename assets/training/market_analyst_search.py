"""The analyst members' hyper-parameter search (Optuna), its own asset and job: never part
of the daily run, which reads the best parameters this records in MLflow. Its trials run one
after another in the step, or side by side as Ray Tune trials (``engine: ray``) on the Ray
cluster at QUORUM_RAY_ADDRESS or on a Ray the step starts."""

from typing import Literal

import dagster as dg
from pydantic import Field

from agents.market_analyst.names import LIGHTGBM, SEARCH_EXPERIMENT, SELECTION_END, SEQUENCE_MEMBERS
from assets.features.feature_store import training_set
from assets.resources import AnalystTraining, FeastStore, MlflowTracking
from features.names import ANALYST_SERVICE


class MarketAnalystSearchConfig(dg.Config):
    members: list[str] = Field(
        default=[LIGHTGBM, *SEQUENCE_MEMBERS], description="Members to search, one study each."
    )
    n_trials: int = Field(default=12, description="Optuna trials per member.")
    n_splits: int = Field(default=3, description="Walk-forward test blocks per trial.")
    selection_end: str = Field(
        default=SELECTION_END,
        description="Last day any trial reads; later days are the holdout, never searched on.",
    )
    sequence_max_train_rows: int = Field(
        default=60_000, description="Each sequence-model fit reads at most this many rows."
    )
    engine: Literal["optuna", "ray"] = Field(
        default="optuna",
        description="optuna: trials one after another in this step; ray: Ray Tune trials "
        "(the same Optuna sampler) side by side, one CPU each, on the Ray cluster.",
    )
    max_concurrent_trials: int | None = Field(
        default=None, description="engine ray: trials at once; default: as many as CPUs allow."
    )


@dg.asset(group_name="research", kinds={"optuna", "ray", "mlflow"}, deps=[training_set])
def market_analyst_search(
    context: dg.AssetExecutionContext,
    config: MarketAnalystSearchConfig,
    feast: FeastStore,
    mlflow_tracking: MlflowTracking,
    analyst_training: AnalystTraining,
) -> dg.MaterializeResult:
    """Optuna (TPE) over each member's hyper-parameters, scored by mean purged walk-forward
    rank IC up to ``selection_end``; every trial a nested MLflow run, the best parameters on
    the parent run of experiment quorum-market_analyst-search."""
    import mlflow  # MLflow, Optuna and the models load with the step, not the location

    from agents.market_analyst.ray_search import search_member_on_ray
    from agents.market_analyst.search import search_member

    data = feast.training_set(ANALYST_SERVICE)
    mlflow_tracking.configure()
    mlflow.set_experiment(SEARCH_EXPERIMENT)
    results = {}
    with mlflow.start_run(run_name="market_analyst-search") as run:
        mlflow.log_params(
            {
                "selection_end": config.selection_end,
                "n_trials": config.n_trials,
                "engine": config.engine,
            }
        )
        for member in config.members:
            fixed = {} if member == LIGHTGBM else {"max_train_rows": config.sequence_max_train_rows}
            common = dict(
                n_trials=config.n_trials,
                n_splits=config.n_splits,
                selection_end=config.selection_end,
                fixed_params=fixed,
            )
            if config.engine == "ray":
                found = search_member_on_ray(
                    data,
                    member,
                    address=analyst_training.ray_address,
                    max_concurrent_trials=config.max_concurrent_trials,
                    **common,
                )
            else:
                found = search_member(data, member, **common)
            context.log.info(f"{member}: best mean rank IC {found.best_rank_ic:.4f}")
            results[member] = found
    return dg.MaterializeResult(
        metadata={
            "mlflow_run_id": run.info.run_id,
            "selection_end": config.selection_end,
            "engine": config.engine,
            "best_mean_rank_ic": {m: round(r.best_rank_ic, 5) for m, r in results.items()},
            "best_params": {m: r.best_params for m, r in results.items()},
            **{
                f"trials_{m}": dg.MetadataValue.md(r.trials.round(5).to_markdown(index=False))
                for m, r in results.items()
            },
        }
    )
