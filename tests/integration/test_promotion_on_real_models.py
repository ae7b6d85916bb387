"""The champion/challenger workflow end to end on real Market Analyst models.

20 real S&P 500 stocks and the index, 2006-2014, go through the daily graph (ingest -> dbt ->
Feast's point-in-time training set); LightGBM models are trained walk-forward and registered
in MLflow as the training asset registers them; the gate runs as the daily batch runs it (the
drift and promotion assets), the rollback as a person runs it (the promote_model job), and
the drift sensor as the daemon ticks it.

The period is one where the signal model has out-of-sample skill in 2013-2014 and the
serving quarter (Q4 2014) has not drifted; the test asserts both, so "better" and "undrifted"
are measured, not assumed.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient

from agents.market_analyst.registration import AGENT, register_analyst
from agents.market_analyst.training import train_market_analyst
from agents.model_names import OFFLINE_GATE_TAG
from agents.model_registry import CHAMPION, model_name
from assets.monitoring.promotion import market_analyst_drift, market_analyst_promotion
from assets.resources import FeastStore, Ledger, MlflowTracking, ModelMonitoring
from features.names import ANALYST_FEATURES
from features.vectors import analyst_feature_rows
from monitoring.drift_records import DRIFT_REPORT_TAG, DRIFT_SHARE_TAG
from orchestration.jobs import promote_model, retrain_models
from orchestration.sensors import feature_drift_sensor
from tests.conftest import altered_training_rows

CHAMPION_CUTOFF = "2012-12-31"  # the champion has seen nothing of 2013-2014
PARAMS = {"n_estimators": 60}
MODEL = model_name(AGENT)


@pytest.fixture(scope="module")
def feast(real_universe) -> FeastStore:
    space = real_universe
    return FeastStore(exports_dir=str(space.exports), training_root=str(space.root / "training"))


@pytest.fixture
def registry(tmp_path) -> tuple[MlflowTracking, ModelMonitoring]:
    """A registry and ledger of this test's own."""
    tracking = MlflowTracking(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_location=str(tmp_path / "artifacts"),
    )
    monitoring = ModelMonitoring(
        mlflow_tracking=tracking,
        ledger=Ledger(url=f"duckdb:///{tmp_path / 'ledger.duckdb'}"),
        reports_dir=str(tmp_path / "reports"),
    )
    return tracking, monitoring


@pytest.fixture(scope="module")
def trained(feast) -> Callable[..., tuple[pd.DataFrame, object]]:
    """The training set altered as asked and the model trained on it, once per alteration for
    the module: training is deterministic, each test registers in its own registry, and
    several tests ask for the same model (the unaltered one three times)."""
    done: dict[tuple, tuple[pd.DataFrame, object]] = {}
    training = feast.training_set("market_analyst_v2")
    market = feast.exports.read("fct_market_features")
    market = market.set_index(pd.to_datetime(market["date"]))["market_return_1d"]

    def train(**how) -> tuple[pd.DataFrame, object]:
        key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in how.items()))
        if key not in done:
            rows = altered_training_rows(training, **how)
            done[key] = rows, train_market_analyst(rows, market, model_params=PARAMS)
        return done[key]

    return train


def train_and_register(feast: FeastStore, tracking: MlflowTracking, trained, **how) -> str:
    """The model trained on the Feast training set (altered as ``how`` says), registered
    exactly as the training asset registers it; returns its version."""
    first_is_champion = how.pop("first_is_champion", True)
    rows, result = trained(**how)
    tracking.configure()
    registered, _ = register_analyst(
        result,
        rows,
        analyst_feature_rows(feast.exports),
        feature_service="market_analyst_v2",
        horizon_days=5,
        n_splits=5,
        data_quality="passed",
        first_is_champion=first_is_champion,
    )
    return registered.version


def test_a_first_version_is_champion_only_through_the_bootstrap_gate(feast, registry, trained):
    from agents.desk.models import NoChampion, load_desk_models

    tracking, monitoring = registry
    # Registered as the training asset registers it: challenger only, waiting for its gate.
    backwards = train_and_register(
        feast, tracking, trained, backwards=True, first_is_champion=False
    )
    refused = run_gate(feast, monitoring)
    assert refused["decision"] == "refused (bootstrap gate)"
    assert "out of sample" in refused["reasons"] and refused["challenger_rank_ic"] < 0
    with monitoring.workflow() as workflow:
        assert workflow.champion(AGENT) is None
    # With no champion the desk trades nothing, and says why.
    tracking.configure()
    with pytest.raises(NoChampion, match=f"v{backwards}, gate_refused: bootstrap gate: out of"):
        load_desk_models()

    skilled = train_and_register(feast, tracking, trained, first_is_champion=False)
    promoted = run_gate(feast, monitoring)
    assert promoted["decision"] == "promoted (bootstrap gate)", promoted["reasons"]
    assert promoted["challenger_rank_ic"] > 0 and promoted["oos_rank_ic_p_value"] < 0.05
    assert promoted["drifted_feature_share"] < monitoring.max_drifted_share
    with monitoring.workflow() as workflow:
        assert workflow.champion(AGENT) == skilled


def run_gate(feast: FeastStore, monitoring: ModelMonitoring) -> dict:
    result = dg.materialize(
        [market_analyst_drift, market_analyst_promotion],
        resources={"feast": feast, "model_monitoring": monitoring},
    )
    (event,) = result.asset_materializations_for_node("market_analyst_promotion")
    return {k: v.value for k, v in event.metadata.items()}


def test_the_gate_admits_a_better_challenger_refuses_a_drifted_one_and_a_rollback_restores(
    feast, registry, trained
):
    tracking, monitoring = registry
    client = MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)

    def champion() -> str:
        return str(client.get_model_version_by_alias(MODEL, CHAMPION).version)

    def acts() -> list[tuple[str, str, str]]:
        log = monitoring.ledger.open()
        try:
            return [
                (e.event_type, e.payload["version"], e.payload["actor"])
                for e in log.read(event_types=None)
                if e.event_type.startswith("model_")
            ]
        finally:
            log.close()

    v1 = train_and_register(feast, tracking, trained, cutoff=CHAMPION_CUTOFF, backwards=True)
    v2 = train_and_register(feast, tracking, trained)
    assert champion() == v1  # the first version is champion by bootstrap

    # A better challenger on undrifted data: admitted to shadow, with its numbers on the
    # version; the champion changes only on live evidence (here, a live verdict).
    better = run_gate(feast, monitoring)
    assert better["decision"] == "admitted to shadow", better["reasons"]
    assert better["challenger_rank_ic"] > better["champion_rank_ic"]
    assert better["challenger_rank_ic"] > 0.0  # real skill out of sample, not only a bad rival
    assert better["common_window"].startswith("2013-01") and better["common_window_days"] > 400
    assert better["drifted_feature_share"] < monitoring.max_drifted_share
    assert champion() == v1 and better["champion_after"] == v1
    tags = client.get_model_version(MODEL, v2).tags
    assert tags["promotion.last_act"] == "gate_admitted" and tags[OFFLINE_GATE_TAG] == "passed"
    assert float(tags[DRIFT_SHARE_TAG]) == better["drifted_feature_share"]
    assert better["drift_evidence"] == f"drift report {tags[DRIFT_REPORT_TAG]}"  # not redone
    assert list(Path(monitoring.reports_dir, "drift").glob(f"{MODEL}-v{v2}-*.html"))

    with monitoring.workflow() as workflow:
        workflow.apply_verdict(AGENT, v2, True, "live gate passed", {})
    assert champion() == v2

    # A challenger trained on shifted features: refused for drift, the champion untouched.
    shifted = [f for f in ANALYST_FEATURES if not f.endswith("_rank")][:12]
    v3 = train_and_register(feast, tracking, trained, shift=shifted)
    refused = run_gate(feast, monitoring)
    assert refused["decision"] == "refused"
    assert "drift:" in refused["reasons"] and shifted[0] in refused["reasons"]
    assert champion() == v2
    assert client.get_model_version(MODEL, v3).tags["promotion.last_act"] == "gate_refused"

    # A person rolls back from the UI: the previous champion returns, with who and why.
    run = promote_model.execute_in_process(
        run_config={
            "ops": {
                "promote_model_op": {
                    "config": {"agent": AGENT, "action": "rollback", "reason": "v2 trades badly"}
                }
            }
        },
        resources={"model_monitoring": monitoring},
        tags={"quorum/requested_by": "dana"},
    )
    assert run.success and champion() == v1
    assert acts() == [
        ("model_gate_admitted", v2, "promotion_gate"),
        ("model_gate_promoted", v2, "promotion_gate"),
        ("model_gate_refused", v3, "promotion_gate"),
        ("model_rolled_back", v2, "dana"),
    ]


def test_the_drift_sensor_launches_retraining_only_when_the_champions_inputs_drift(
    feast, registry, trained
):
    tracking, monitoring = registry

    def tick(cursor: str | None = None):
        with dg.build_sensor_context(
            cursor=cursor, resources={"feast": feast, "model_monitoring": monitoring}
        ) as context:
            return feature_drift_sensor(context), context.cursor

    skipped, _ = tick()
    assert isinstance(skipped, dg.SkipReason) and "no champion" in skipped.skip_message

    v1 = train_and_register(
        feast, tracking, trained
    )  # champion by bootstrap, trained on these units
    calm, cursor = tick()
    assert isinstance(calm, dg.SkipReason) and "below 15%" in calm.skip_message
    assert cursor == f"2014-12-31/v{v1}"

    # The live features keep their units while the new champion learned other ones: the
    # inputs it serves on have drifted from its reference.
    shifted = [f for f in ANALYST_FEATURES if not f.endswith("_rank")][:12]
    v2 = train_and_register(feast, tracking, trained, shift=shifted)
    with monitoring.workflow() as workflow:
        workflow.promote(AGENT, v2, actor="erin", reason="vendor switch")
    request, cursor = tick(cursor)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"drift-2014-12-31/v{v2}" and cursor == f"2014-12-31/v{v2}"
    assert float(request.tags["quorum/drifted_feature_share"]) >= monitoring.max_drifted_share
    assert Path(request.tags["quorum/drift_report"]).is_file()
    assert feature_drift_sensor.job_name == retrain_models.name

    # The same features and champion are not judged (nor retrained for) twice.
    again, _ = tick(cursor)
    assert isinstance(again, dg.SkipReason) and "already checked" in again.skip_message
