"""The gate's rules and the registry acts, against a real MLflow registry and ledger."""

import json

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from agents import model_registry
from agents.desk.ledger import DuckDBEventLog
from agents.model_names import OFFLINE_GATE_TAG
from monitoring.promotion import GateEvidence, GatePolicy, evaluate_gate, head_to_head
from monitoring.registry_workflow import HISTORY_TAG, PromotionWorkflow


def evidence(**changes) -> GateEvidence:
    base = dict(
        challenger_metric=0.05,
        champion_metric=0.01,
        window_days=120,
        window="2022-01-10..2022-06-30",
        drifted_share=0.05,
        drifted_features=["market_vol_63d"],
        data_quality="passed",
    )
    return GateEvidence(**{**base, **changes})


def test_the_gate_needs_all_three_conditions_and_names_each_failure():
    assert evaluate_gate(evidence()).promote
    worse = evaluate_gate(evidence(challenger_metric=0.0))
    assert not worse.promote and worse.reasons[0].startswith("performance:")
    margin = evaluate_gate(evidence(), GatePolicy(min_improvement=0.05))
    assert not margin.promote and "need > +0.0500" in margin.reasons[0]
    short = evaluate_gate(evidence(window_days=5))
    assert "only 5 out-of-sample days" in short.reasons[0]
    drifted = evaluate_gate(evidence(drifted_share=0.3, drifted_features=["a", "b"]))
    assert [r.split(":")[0] for r in drifted.reasons] == ["drift"]
    assert "30% of features drifted" in drifted.reasons[0] and "a, b" in drifted.reasons[0]
    dirty = evaluate_gate(evidence(data_quality="failed"))
    assert dirty.reasons == ["data quality of the training data: failed"]
    everything = evaluate_gate(
        evidence(challenger_metric=-0.1, drifted_share=0.5, data_quality="not_evaluated")
    )
    assert len(everything.reasons) == 3


def test_only_a_short_common_window_is_not_comparable_anything_worse_is_refused():
    fresh = evaluate_gate(evidence(window_days=3, challenger_metric=None))
    assert not fresh.promote and fresh.offline_verdict == "not_comparable"
    assert evaluate_gate(evidence()).offline_verdict == "passed"
    for worse in (
        evidence(challenger_metric=0.0),  # compared, and not better
        evidence(window_days=3, drifted_share=0.3),  # too short, and drifted
        evidence(window_days=3, data_quality="failed"),
    ):
        assert evaluate_gate(worse).offline_verdict == "refused"


def test_head_to_head_scores_both_forecasts_on_the_same_rows():
    days = pd.to_datetime(["2022-01-03"] * 4 + ["2022-01-04"] * 4)
    realized = [0.01, 0.02, 0.03, 0.04, -0.01, 0.0, 0.01, 0.02]
    frame = pd.DataFrame(
        {
            "date": days,
            "realized": realized,
            "challenger": realized,  # perfect ranking
            "champion": [-r for r in realized],  # backwards
        }
    )
    ours, theirs, n_days, window = head_to_head(frame)
    assert (ours, theirs, n_days, window) == (1.0, -1.0, 2, "2022-01-03..2022-01-04")


class Constant(mlflow.pyfunc.PythonModel):
    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, context, model_input, params=None):
        return pd.DataFrame({"expected_return": [self.value] * len(model_input)})


@pytest.fixture
def registry(tmp_path):
    model_registry.configure(
        f"sqlite:///{tmp_path / 'mlflow.db'}", "promotion-tests", str(tmp_path / "artifacts")
    )
    log = DuckDBEventLog(tmp_path / "ledger.duckdb")
    yield PromotionWorkflow(MlflowClient(), log), log
    log.close()


def register(value: float) -> str:
    example = pd.DataFrame({"x": [1.0, 2.0]})
    return model_registry.log_and_register(
        "market_analyst",
        Constant(value),
        params={"value": value},
        metrics={},
        tags={},
        input_example=example,
        output_example=Constant(value).predict(None, example),
        pip_requirements=model_registry.installed_requirements(["mlflow", "pandas"]),
    ).version


def test_a_refused_gate_leaves_the_champion_and_a_manual_rollback_restores_it(registry):
    workflow, log = registry
    v1 = register(0.1)
    assert workflow.champion("market_analyst") == v1  # bootstrap
    v2 = register(0.2)
    refused = workflow.apply_gate("market_analyst", v2, evaluate_gate(evidence(drifted_share=0.4)))
    assert refused.act == "gate_refused" and "drift" in refused.reason
    assert workflow.champion("market_analyst") == v1
    tags = workflow.version_tags("market_analyst", v2)
    assert tags["promotion.last_act"] == "gate_refused"
    assert json.loads(tags["promotion.details"])["evidence"]["drifted_share"] == 0.4

    assert tags[OFFLINE_GATE_TAG] == "refused"

    # Nothing to compare on yet: admitted to shadow, the live gate decides alone.
    fresh = workflow.apply_gate("market_analyst", v2, evaluate_gate(evidence(window_days=2)))
    assert fresh.act == "gate_admitted" and workflow.champion("market_analyst") == v1
    assert workflow.version_tags("market_analyst", v2)[OFFLINE_GATE_TAG] == "not_comparable"

    # Passing the offline gate admits it to shadow; only a live verdict makes it champion.
    admitted = workflow.apply_gate("market_analyst", v2, evaluate_gate(evidence()))
    assert admitted.act == "gate_admitted" and workflow.champion("market_analyst") == v1
    assert workflow.version_tags("market_analyst", v2)[OFFLINE_GATE_TAG] == "passed"
    promoted = workflow.apply_verdict("market_analyst", v2, True, "live gate passed", {})
    assert promoted.act == "gate_promoted" and workflow.champion("market_analyst") == v2
    v3 = register(0.3)
    workflow.promote("market_analyst", v3, actor="alice", reason="desk head override")
    assert workflow.champion("market_analyst") == v3

    back = workflow.rollback("market_analyst", actor="bob", reason="v3 misbehaves live")
    assert (back.previous_champion, back.champion_after) == (v3, v2)
    assert workflow.champion("market_analyst") == v2
    again = workflow.rollback("market_analyst", actor="bob", reason="v2 too")
    assert again.champion_after == v1 and workflow.champion("market_analyst") == v1
    with pytest.raises(ValueError, match="no earlier champion"):
        workflow.rollback("market_analyst", actor="bob", reason="nothing left")
    history = MlflowClient().get_registered_model("quorum-market_analyst").tags[HISTORY_TAG]
    assert json.loads(history) == [v1]

    acts = [
        (e.event_type, e.payload["version"], e.payload["actor"])
        for e in log.read(event_types=None)
        if e.event_type.startswith("model_")
    ]
    assert acts == [
        ("model_gate_refused", v2, "promotion_gate"),
        ("model_gate_admitted", v2, "promotion_gate"),
        ("model_gate_admitted", v2, "promotion_gate"),
        ("model_gate_promoted", v2, "promotion_gate"),
        ("model_promoted", v3, "alice"),
        ("model_rolled_back", v3, "bob"),
        ("model_rolled_back", v2, "bob"),
    ]


def test_reject_takes_the_challenger_alias_off_and_never_touches_the_champion(registry):
    workflow, log = registry
    v1 = register(0.1)
    v2 = register(0.2)
    assert workflow.challenger("market_analyst") == v2
    workflow.reject("market_analyst", v2, actor="carol", reason="trained on a bad vendor file")
    assert workflow.challenger("market_analyst") is None
    assert workflow.champion("market_analyst") == v1
    with pytest.raises(ValueError, match="roll back instead"):
        workflow.reject("market_analyst", v1, actor="carol", reason="no")
    with pytest.raises(ValueError, match="no version '99'"):
        workflow.promote("market_analyst", "99", actor="carol", reason="typo")
    (event,) = log.read(event_types=["model_rejected"])
    assert event.payload["reason"] == "trained on a bad vendor file"
