"""The RL scheduler's asset on the daily graph's real slice: trained, registered as
quorum-execution_rl without a bootstrap champion, and its gate's act in MLflow and the
ledger."""

import dagster as dg
import numpy as np
from mlflow import MlflowClient

from agents.desk.ledger import open_event_log
from assets.resources import Ledger, MlflowTracking, ModelMonitoring, Warehouse
from assets.training.execution_rl import execution_rl_scheduler


def test_the_rl_scheduler_is_registered_and_champion_only_through_its_gate(daily_graph, tmp_path):
    space, _, _ = daily_graph
    tracking = MlflowTracking(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_location=str(tmp_path / "artifacts"),
    )
    ledger = f"duckdb:///{tmp_path / 'ledger.duckdb'}"
    monitoring = ModelMonitoring(
        mlflow_tracking=tracking, ledger=Ledger(url=ledger), reports_dir=str(tmp_path)
    )
    result = dg.materialize(
        [execution_rl_scheduler],
        resources={"warehouse": Warehouse(path=str(space.warehouse)),
                   "model_monitoring": monitoring},
        run_config={"ops": {"execution_rl_scheduler": {"config": {"timesteps": 1200}}}},
    )  # fmt: skip
    assert result.success
    metadata = result.asset_materializations_for_node("execution_rl_scheduler")[0].metadata
    act = metadata["act"].value
    assert act in ("gate_promoted", "gate_refused")
    tracking.configure()
    client = MlflowClient()
    version = client.get_model_version_by_alias("quorum-execution_rl", "challenger")
    assert str(version.version) == metadata["version"].value
    aliases = set(client.get_registered_model("quorum-execution_rl").aliases)
    assert ("champion" in aliases) == (act == "gate_promoted")  # no bootstrap champion
    log = open_event_log(ledger)
    (event,) = log.read(event_types=[f"model_{act}"])
    assert event.payload["agent"] == "execution_rl" and "held-out" in event.payload["reason"]
    log.close()
    # The registered policy loads and answers as a pyfunc.
    import mlflow
    import pandas as pd

    from agents.execution.rl_policy import OBSERVATION

    model = mlflow.pyfunc.load_model(f"models:/quorum-execution_rl/{version.version}")
    shares = model.predict(pd.DataFrame([[1.0, 1.0, 0.0, 0.5, 0.1]], columns=list(OBSERVATION)))
    assert 0.0 <= float(shares["share"].iloc[0]) <= 1.0

    # The desk trades with it only once it is champion (here set by hand, as a person
    # overriding the gate would).
    from agents.desk.models import load_rl_scheduler

    if act == "gate_refused":
        assert load_rl_scheduler(client, "champion") is None
        client.set_registered_model_alias("quorum-execution_rl", "champion", version.version)
    scheduler = load_rl_scheduler(client, "champion")
    assert scheduler.version == str(version.version)
    action, _ = scheduler.policy.predict(np.array([1.0, 1.0, 0.0, 0.5, 0.1], np.float32))
    assert np.asarray(action).shape == (1,)
    # It acts through the deterministic actor, as SB3's PPO itself would.
    from agents.execution.rl_serving import DeterministicActor

    assert isinstance(scheduler.policy, DeterministicActor)
    seen = np.array([0.5, 0.7, -1.0, 0.4, 0.2], np.float32)
    expected, _ = scheduler.policy.model.predict(seen, deterministic=True)
    assert np.array_equal(scheduler.policy.predict(seen, deterministic=True)[0], expected)
