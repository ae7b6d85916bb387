"""The search asset: its config's engine picks Optuna in the step or Ray Tune trials, and
either way the best parameters land on the search's MLflow run for the daily training."""

import dagster as dg
from mlflow import MlflowClient

from agents.market_analyst.search import SEARCH_EXPERIMENT, best_recorded_params
from assets.resources import AnalystTraining, FeastStore, MlflowTracking
from assets.training.market_analyst_search import market_analyst_search
from features.names import ANALYST_SERVICE
from tests.agents.market_analyst.test_search import training_set
from tests.support.ray_cluster import CLIENT_ENV


def test_the_search_asset_runs_its_trials_on_ray_when_its_config_says_so(tmp_path, monkeypatch):
    # The tests' Ray token, so that the local Ray does not write one to ~/.ray/auth_token.
    for name, value in CLIENT_ENV.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "training").mkdir()
    training_set().to_parquet(tmp_path / "training" / f"{ANALYST_SERVICE}.parquet")
    tracking = MlflowTracking(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_location=str(tmp_path / "art")
    )
    config = {"members": ["lightgbm"], "n_trials": 2, "n_splits": 2,
              "selection_end": "2017-12-29", "engine": "ray"}  # fmt: skip
    result = dg.materialize(
        [market_analyst_search],
        resources={
            "feast": FeastStore(
                exports_dir=str(tmp_path), training_root=str(tmp_path / "training")
            ),
            "mlflow_tracking": tracking,
            "analyst_training": AnalystTraining(members=["lightgbm"]),  # no cluster: a local Ray
        },
        run_config={"ops": {"market_analyst_search": {"config": config}}},
    )
    metadata = result.asset_materializations_for_node("market_analyst_search")[0].metadata
    assert metadata["engine"].value == "ray"
    client = MlflowClient(tracking.tracking_uri)
    parent = metadata["mlflow_run_id"].value
    experiment = client.get_experiment_by_name(SEARCH_EXPERIMENT)
    trials = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'"
    )
    assert len(trials) == 2 and all("ray.trial_id" in t.data.tags for t in trials)
    assert client.get_run(parent).data.params["engine"] == "ray"
    assert best_recorded_params(client, "lightgbm") == metadata["best_params"].data["lightgbm"]
