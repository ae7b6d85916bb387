"""The analyst's hyper-parameter search on Ray Tune: the same Optuna TPE sampler, space,
folds and objective as ``search.search_member``, but each trial a Ray task, run side by side
on a Ray cluster's CPUs (``address``) or on a Ray started inside this process.

The rows go to Ray's object store once (``tune.with_parameters``); each trial logs itself
as an MLflow run whose parent is the caller's active run, from whichever node ran it, so
the tracking URI must be one every node reaches (PostgreSQL or MLflow's server; a SQLite
file only on one machine). Trials keep no checkpoints: their scores come back to this
process, and Tune's own result files go to ``storage_path`` (a temporary folder by default).
"""

from __future__ import annotations

import tempfile

import mlflow
import optuna
import pandas as pd

from agents.market_analyst.names import SELECTION_END
from agents.market_analyst.search import (
    MemberSearch,
    Selection,
    record_best,
    score_trial,
    search_space,
    selection,
)

OBJECTIVE = "mean_rank_ic"


def _trial(
    config: dict,
    *,
    chosen: Selection,
    member: str,
    tracking_uri: str,
    experiment_id: str,
    parent_run_id: str,
) -> None:
    """One trial inside a Ray worker: a child MLflow run of the search, its scores to Tune."""
    from ray import tune

    mlflow.set_tracking_uri(tracking_uri)
    trial_id = tune.get_context().get_trial_id()
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=f"{member}-trial-{trial_id}",
        tags={"mlflow.parentRunId": parent_run_id, "ray.trial_id": trial_id},
    ):
        metrics = score_trial(chosen, member, dict(config))
    tune.report(metrics)


class DefineByRun:
    """Optuna's define-by-run space for Ray's OptunaSearch: the suggestions are captured from
    the trial, what it returns are constants added to every trial's config. A class, not a
    closure: Tune pickles its searcher's state with the experiment's."""

    def __init__(self, member: str, fixed_params: dict) -> None:
        self.member = member
        self.fixed_params = dict(fixed_params)

    def __call__(self, trial: optuna.Trial) -> dict | None:
        search_space(self.member)(trial)
        return dict(self.fixed_params) or None


def search_member_on_ray(
    training_set: pd.DataFrame,
    member: str,
    *,
    n_trials: int,
    horizon_days: int = 5,
    n_splits: int = 3,
    min_train_days: int = 1260,
    selection_end: str = SELECTION_END,
    fixed_params: dict | None = None,
    seed: int = 0,
    address: str | None = None,
    cpus_per_trial: float = 1.0,
    max_concurrent_trials: int | None = None,
    storage_path: str | None = None,
) -> MemberSearch:
    """``search_member`` with every trial a Ray Tune trial; call inside ``mlflow.start_run``
    (the search's parent run). ``address``: a running Ray cluster's (``ray start --head``);
    None starts a local Ray for this call and stops it after. With concurrent trials TPE
    proposes from fewer finished ones than one after another would: the same seed does not
    give the same trials as ``search_member``."""
    import ray
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    parent = mlflow.active_run()
    if parent is None:
        raise RuntimeError("search_member_on_ray logs its trials under an active MLflow run")
    chosen = selection(
        training_set,
        horizon_days=horizon_days,
        n_splits=n_splits,
        min_train_days=min_train_days,
        selection_end=selection_end,
        member=member,
    )
    fixed = dict(fixed_params or {})
    searcher = OptunaSearch(
        space=DefineByRun(member, fixed),
        metric=OBJECTIVE,
        mode="max",
        sampler=optuna.samplers.TPESampler(seed=seed),
    )
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory(prefix="ray-tune-") as scratch:
            trainable = tune.with_parameters(
                _trial,
                chosen=chosen,
                member=member,
                tracking_uri=mlflow.get_tracking_uri(),
                experiment_id=parent.info.experiment_id,
                parent_run_id=parent.info.run_id,
            )
            tuner = tune.Tuner(
                tune.with_resources(trainable, {"cpu": cpus_per_trial}),
                tune_config=tune.TuneConfig(
                    search_alg=searcher,
                    num_samples=n_trials,
                    max_concurrent_trials=max_concurrent_trials,
                ),
                run_config=tune.RunConfig(
                    name=f"{member}-search",
                    storage_path=storage_path or scratch,
                    verbose=0,
                ),
            )
            results = tuner.fit()
    finally:
        if started_here:
            ray.shutdown()
    if results.errors:
        raise RuntimeError(f"{len(results.errors)} Ray trial(s) failed: {results.errors[0]!r}")
    frame = results.get_dataframe()
    best = results.get_best_result(metric=OBJECTIVE, mode="max")
    best_params = dict(best.config)  # the suggestions and the fixed constants DefineByRun adds
    best_rank_ic = float(best.metrics[OBJECTIVE])
    record_best(member, best_params, best_rank_ic)
    config_columns = [c for c in frame.columns if c.startswith("config/")]
    trials = frame[["trial_id", OBJECTIVE, *config_columns]].rename(
        columns={OBJECTIVE: "value", **{c: f"params_{c[len('config/') :]}" for c in config_columns}}
    )
    return MemberSearch(member, best_params, best_rank_ic, trials.reset_index(drop=True))
