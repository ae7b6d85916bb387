"""Hyper-parameter search for the analyst's members with Optuna, on the selection period
only (1990-2018 by default): each trial is a purged walk-forward of one member, scored by
its mean out-of-sample rank IC, and logged as a nested MLflow run. The best parameters are
recorded on the search's parent run, where the daily training finds them
(``best_recorded_params``). 2019 onwards is never read here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mlflow
import optuna
import pandas as pd
from mlflow import MlflowClient

from agents.market_analyst.names import LIGHTGBM, SEARCH_EXPERIMENT, SELECTION_END
from agents.market_analyst.training import (
    label_splitter,
    labelled_rows,
    matured_rows,
    walk_forward,
)
from agents.market_analyst.walk_forward import PurgedWalkForward

BEST_PARAMS_TAG = "quorum.best_params_member"


def _lightgbm_space(trial: optuna.Trial) -> dict:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 600, step=50),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 63),
        "min_child_samples": trial.suggest_int("min_child_samples", 100, 2000, log=True),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 0.1, 100.0, log=True),
    }


def _sequence_space(trial: optuna.Trial) -> dict:
    return {
        "hidden_size": trial.suggest_categorical("hidden_size", [16, 32, 64]),
        "num_layers": trial.suggest_int("num_layers", 1, 2),
        "dropout": trial.suggest_float("dropout", 0.0, 0.3),
        "learning_rate": trial.suggest_float("learning_rate", 3e-4, 3e-3, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-2, log=True),
        "epochs": trial.suggest_int("epochs", 1, 4),
    }


def search_space(member: str) -> Callable[[optuna.Trial], dict]:
    return _lightgbm_space if member == LIGHTGBM else _sequence_space


@dataclass(frozen=True)
class MemberSearch:
    member: str
    best_params: dict
    best_rank_ic: float
    trials: pd.DataFrame  # one row per trial: number, value (mean rank IC), params


@dataclass(frozen=True)
class Selection:
    """What every trial of a search reads: the selection period's matured rows and folds."""

    data: pd.DataFrame
    label: str
    splitter: PurgedWalkForward


def selection(
    training_set: pd.DataFrame,
    *,
    horizon_days: int,
    n_splits: int,
    min_train_days: int,
    selection_end: str,
    member: str,
) -> Selection:
    # The sequence members' windows only when a sequence member is searched: they are most
    # of the rows' size, and a Ray search ships the rows to every worker.
    windows = member != LIGHTGBM
    label = f"forward_excess_return_{horizon_days}d"
    data = matured_rows(labelled_rows(training_set, label, windows=windows), selection_end,
                        horizon_days)  # fmt: skip
    splitter = label_splitter(data, n_splits, min_train_days, horizon_days)
    return Selection(data, label, splitter)


def score_trial(chosen: Selection, member: str, params: dict) -> dict[str, float]:
    """One trial: ``member`` with ``params`` walked forward over the selection's folds, logged
    as the active MLflow run; its scores (``mean_rank_ic`` is the objective)."""
    _, _, member_folds = walk_forward(chosen.data, chosen.label, {member: params}, chosen.splitter)
    metrics = {
        "mean_rank_ic": float(member_folds["rank_ic"].mean()),
        "mean_hit_rate": float(member_folds["hit_rate"].mean()),
        "mean_long_short_sharpe": float(member_folds["long_short_sharpe"].mean()),
        **{f"fold_{int(r.fold)}_rank_ic": float(r.rank_ic) for r in member_folds.itertuples()},
    }
    mlflow.log_params({"member": member, **params})
    mlflow.log_metrics(metrics)
    return metrics


def record_best(member: str, best_params: dict, best_rank_ic: float) -> None:
    """The search's best parameters on the active (parent) run, where the daily training's
    ``best_recorded_params`` finds them."""
    mlflow.log_params({f"{member}.{k}": v for k, v in best_params.items()})
    mlflow.log_metric(f"{member}_best_mean_rank_ic", best_rank_ic)
    mlflow.set_tag(f"{BEST_PARAMS_TAG}.{member}", "recorded")


def search_member(
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
) -> MemberSearch:
    """Optuna's TPE sampler over ``member``'s space, one trial after another in this process;
    every trial a nested MLflow run under the active run (call inside ``mlflow.start_run``)."""
    chosen = selection(
        training_set,
        horizon_days=horizon_days,
        n_splits=n_splits,
        min_train_days=min_train_days,
        selection_end=selection_end,
        member=member,
    )
    space = search_space(member)

    def objective(trial: optuna.Trial) -> float:
        params = {**(fixed_params or {}), **space(trial)}
        with mlflow.start_run(run_name=f"{member}-trial-{trial.number}", nested=True):
            return score_trial(chosen, member, params)["mean_rank_ic"]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    best = {**(fixed_params or {}), **study.best_params}
    record_best(member, best, study.best_value)
    trials = study.trials_dataframe(attrs=("number", "value", "params"))
    return MemberSearch(member, best, float(study.best_value), trials)


def best_recorded_params(client: MlflowClient, member: str) -> dict | None:
    """The newest finished search's best parameters for ``member``, or None."""
    experiment = client.get_experiment_by_name(SEARCH_EXPERIMENT)
    if experiment is None:
        return None
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`{BEST_PARAMS_TAG}.{member}` = 'recorded' "
        "and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        return None
    prefix = f"{member}."
    return {
        k[len(prefix) :]: _typed(v) for k, v in runs[0].data.params.items() if k.startswith(prefix)
    }


def _typed(text: str):
    """MLflow stores parameters as text: back to int, float or None where they were."""
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
