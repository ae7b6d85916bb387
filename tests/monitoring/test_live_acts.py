"""The live gate's acts on a real MLflow registry and ledger: a challenger promoted from its
shadow record with a validation band, refused without enough of it, and a champion that
falls below its band rolled back to the one before, with an alert."""

from datetime import UTC, datetime

import pytest
from mlflow import MlflowClient

from monitoring.live_acts import judge_live
from monitoring.live_evidence import BAND_TAG
from tests.monitoring.test_live_evidence import shadow_events
from tests.monitoring.test_promotion import register, registry  # noqa: F401 (a fixture)

AGENT = "market_analyst"


def checked(version: str, drifted_share: float = 0.05) -> None:
    """The tags the daily batch writes on a version: its data checks and measured drift."""
    client = MlflowClient()
    client.set_model_version_tag(f"quorum-{AGENT}", version, "data_quality", "passed")
    client.set_model_version_tag(f"quorum-{AGENT}", version, "drift.drifted_feature_share",
                                 str(drifted_share))  # fmt: skip


def test_the_live_gate_refuses_without_enough_shadow_cycles_then_promotes_on_them(registry):  # noqa: F811
    workflow, log = registry
    v1, v2 = register(0.1), register(0.2)
    checked(v2)
    log.append(shadow_events(10, 1.0, 0.0, version=v2, champion_version=v1))
    early = judge_live(workflow, log)
    assert early["gate"]["act"] == "gate_refused" and "need 40" in early["gate"]["reason"]
    assert workflow.champion(AGENT) == v1

    log.append(shadow_events(60, 1.0, 0.0, seed=1, version=v2, champion_version=v1)[11:])
    # (from the twelfth event on: the first eleven times are those appended above)
    later = judge_live(workflow, log)
    assert later["gate"]["act"] == "gate_promoted", later["gate"]["reason"]
    assert workflow.champion(AGENT) == v2
    band = float(workflow.version_tags(AGENT, v2)[BAND_TAG])
    assert band == pytest.approx(later["gate"]["band_lower"], abs=1e-6) and band > 0
    (act,) = log.read(event_types=["model_gate_promoted"])
    assert act.payload["version"] == v2 and "shadow cycles" in act.payload["reason"]


def test_a_drifted_challenger_is_refused_however_well_it_did_in_shadow(registry):  # noqa: F811
    workflow, log = registry
    v1, v2 = register(0.1), register(0.2)
    checked(v2, drifted_share=0.3)
    log.append(shadow_events(60, 1.0, 0.0, version=v2, champion_version=v1))
    decided = judge_live(workflow, log)
    assert decided["gate"]["act"] == "gate_refused" and "drift" in decided["gate"]["reason"]
    assert workflow.champion(AGENT) == v1


def test_a_champion_below_its_band_is_rolled_back_with_an_alert(registry):  # noqa: F811
    from monitoring.alerts import AlertSink

    workflow, log = registry
    v1, v2 = register(0.1), register(0.2)
    checked(v2)
    shadow = shadow_events(60, 1.0, 0.0, version=v2, champion_version=v1)
    log.append(shadow)
    assert judge_live(workflow, log)["gate"]["act"] == "gate_promoted"
    # As champion, with no challenger left in shadow, its forecasts lose their skill.
    log.append(shadow_events(50, 0.0, 0.0, seed=9, version=None, champion_version=v2,
                             start=datetime(2023, 1, 3, 14, 30, tzinfo=UTC)))  # fmt: skip
    workflow.client.delete_registered_model_alias(f"quorum-{AGENT}", "challenger")
    decided = judge_live(workflow, log, AlertSink(log))
    assert decided["rollback"]["due"] and decided["rollback"]["champion_after"] == v1
    assert workflow.champion(AGENT) == v1
    (act,) = log.read(event_types=["model_rolled_back"])
    assert act.payload["actor"] == "live_gate" and "validation band" in act.payload["reason"]
    (alert,) = log.read(event_types=["alert"])
    assert alert.payload["name"] == "model_rollback"
    # The bootstrap champion has no band: never rolled back automatically.
    again = judge_live(workflow, log)
    assert not again["rollback"]["due"] and "no validation band" in again["rollback"]["reason"]
