"""The analyst's search on Ray Tune: trials run as Ray tasks on a Ray cluster (the test's
own ``ray start --head``), each a child MLflow run of the search, and the best parameters
recorded where the daily training finds them (the same contract as the Optuna search in this
process). The asset's test runs it on a Ray the step starts itself."""

from collections.abc import Iterator

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from agents import model_registry
from agents.market_analyst.ray_search import search_member_on_ray
from agents.market_analyst.search import SEARCH_EXPERIMENT, best_recorded_params
from tests.agents.market_analyst.test_search import training_set
from tests.support.ray_cluster import PrivateRayHead


@pytest.fixture
def ray_head(monkeypatch) -> Iterator[PrivateRayHead]:
    head = PrivateRayHead.start_new()
    for name, value in head.client_env.items():
        monkeypatch.setenv(name, value)
    yield head
    head.remove()


def test_ray_trials_are_child_runs_of_the_search_and_its_best_parameters_are_recorded(
    tmp_path, ray_head
):
    model_registry.configure(
        f"sqlite:///{tmp_path / 'mlflow.db'}", "quorum_test", str(tmp_path / "artifacts")
    )
    mlflow.set_experiment(SEARCH_EXPERIMENT)
    with mlflow.start_run(run_name="search") as parent:
        found = search_member_on_ray(
            training_set(),
            "lightgbm",
            n_trials=4,
            n_splits=2,
            min_train_days=150,
            selection_end="2017-12-29",
            fixed_params={"n_jobs": 1},
            max_concurrent_trials=2,
            address=ray_head.address,
            storage_path=str(tmp_path / "ray_results"),
        )
    client = MlflowClient()
    experiment = client.get_experiment_by_name(SEARCH_EXPERIMENT)
    trials = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert len(trials) == 4 == len(found.trials)
    # Each child run is a Ray trial's, with the parameters Tune gave it and its scores.
    assert {t.data.tags["ray.trial_id"] for t in trials} == set(found.trials["trial_id"])
    # A trial whose trees cannot split (min_child_samples above its rows) scores NaN and is
    # never the best, as in Optuna's own study.
    assert np.nanmax([t.data.metrics["mean_rank_ic"] for t in trials]) == found.best_rank_ic
    assert found.best_rank_ic > 0  # the planted feature is found
    assert found.best_params["n_jobs"] == 1  # fixed parameters reach every trial
    assert 100 <= found.best_params["n_estimators"] <= 600  # drawn from the member's space
    assert best_recorded_params(client, "lightgbm") == found.best_params
    # Tune's result files went where it was told, not to ~/ray_results.
    assert (tmp_path / "ray_results" / "lightgbm-search").is_dir()
