"""The members' hyper-parameter search: Optuna trials as nested MLflow runs, on the
selection period only, and its best parameters found again by the daily training."""

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from agents import model_registry
from agents.market_analyst.search import SEARCH_EXPERIMENT, best_recorded_params, search_member
from features.names import ANALYST_FEATURES

LABEL = "forward_excess_return_5d"


def training_set(days: int = 700, symbols: int = 8, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stamps = pd.bdate_range("2016-01-01", periods=days, tz="UTC") + pd.Timedelta(hours=21)
    rows = pd.DataFrame(
        rng.normal(size=(days * symbols, len(ANALYST_FEATURES))), columns=ANALYST_FEATURES
    )
    rows.insert(0, "event_timestamp", np.repeat(stamps, symbols))
    rows.insert(1, "symbol", np.tile([f"S{i}" for i in range(symbols)], days))
    rows[LABEL] = 0.01 * rows[ANALYST_FEATURES[0]] + 0.02 * rng.normal(size=len(rows))
    rows["forward_excess_return_1d"] = rows[LABEL] / 5
    return rows


def run_search(rows: pd.DataFrame, tmp_path, name: str):
    model_registry.configure(
        f"sqlite:///{tmp_path / f'{name}.db'}", "quorum_test", str(tmp_path / f"{name}-art")
    )
    mlflow.set_experiment(SEARCH_EXPERIMENT)
    with mlflow.start_run(run_name="search") as parent:
        found = search_member(
            rows,
            "lightgbm",
            n_trials=3,
            n_splits=2,
            min_train_days=150,
            selection_end="2017-12-29",
        )
    return found, parent.info.run_id


def test_trials_are_nested_runs_and_the_best_parameters_are_found_again(tmp_path):
    rows = training_set()
    found, parent = run_search(rows, tmp_path, "a")
    client = MlflowClient()
    experiment = client.get_experiment_by_name(SEARCH_EXPERIMENT)
    trials = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'"
    )
    assert len(trials) == 3
    assert max(t.data.metrics["mean_rank_ic"] for t in trials) == found.best_rank_ic
    assert found.best_rank_ic > 0  # the planted feature is found
    assert best_recorded_params(client, "lightgbm") == found.best_params
    assert best_recorded_params(client, "lstm") is None  # never searched


def test_no_trial_reads_a_day_after_the_selection_period(tmp_path):
    rows = training_set()
    cut = pd.Timestamp("2017-12-29", tz="UTC") + pd.Timedelta(hours=23)
    later = rows["event_timestamp"] > cut
    poisoned = rows.copy()
    poisoned.loc[later, LABEL] = -poisoned.loc[later, LABEL] * 50  # a different future
    honest, _ = run_search(rows, tmp_path, "honest")
    other, _ = run_search(poisoned, tmp_path, "poisoned")
    pd.testing.assert_frame_equal(honest.trials, other.trials)
    assert later.any()
