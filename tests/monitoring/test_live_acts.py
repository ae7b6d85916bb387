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


def checked(version: str, drifted_share: float = 0.05, offline_gate: str = "passed") -> None:
    """The tags the daily batch writes on a version: its data checks, measured drift and
    the offline gate's verdict."""
    client = MlflowClient()
    client.set_model_version_tag(f"quorum-{AGENT}", version, "data_quality", "passed")
    client.set_model_version_tag(f"quorum-{AGENT}", version, "offline_gate", offline_gate)
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


def test_the_live_gate_refuses_what_the_offline_gate_refused_and_judges_the_incomparable(registry):  # noqa: F811
    workflow, log = registry
    v1, v2 = register(0.1), register(0.2)
    checked(v2, offline_gate="refused")
    log.append(shadow_events(60, 1.0, 0.0, version=v2, champion_version=v1))
    decided = judge_live(workflow, log)
    assert decided["gate"]["act"] == "gate_refused"
    assert decided["gate"]["reason"].startswith("offline gate: refused")
    assert workflow.champion(AGENT) == v1
    # One the offline gate could not compare (too short a common window) is judged live.
    checked(v2, offline_gate="not_comparable")
    assert judge_live(workflow, log)["gate"]["act"] == "gate_promoted"


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


def register_risk(decay: float, data_quality: str | None = "passed") -> str:
    """A real Risk Manager model (its limits, with this covariance decay), as the daily batch
    registers it, with its training data's checks on the version."""
    from dataclasses import replace

    import pandas as pd

    from agents import model_registry
    from agents.risk_manager.agent import RiskLimits
    from agents.risk_manager.serving import SERVING_PACKAGES, RiskModel

    limits = RiskLimits()
    model = RiskModel(replace(limits, budget=replace(limits.budget, ewma_decay=decay)))
    example = pd.DataFrame({"portfolio_return": [0.01, -0.02, 0.005]})
    return model_registry.log_and_register(
        "risk_manager", model, params={"ewma_decay": decay}, metrics={}, tags={},
        version_tags={"data_quality": data_quality} if data_quality else None,
        input_example=example, output_example=model.predict(None, example),
        pip_requirements=model_registry.installed_requirements(SERVING_PACKAGES),
    ).version  # fmt: skip


def test_the_risk_managers_challenger_is_refused_then_promoted_on_its_shadow_days(registry):  # noqa: F811
    from agents.desk.models import load_agent_challengers
    from monitoring.live_acts import judge_agents_live
    from tests.monitoring.test_agent_evidence import DAILY_VOL, Z99, risk_events

    workflow, log = registry
    v1, v2 = register_risk(0.94), register_risk(0.97)
    # The desk loads the challenger's own parameters for its shadow runs.
    (challenger,) = load_agent_challengers(workflow.client, {"risk_manager": v1, "execution": "",
                                           "portfolio_optimizer": ""}).values()  # fmt: skip
    assert challenger.version == v2 and challenger.risk_limits.budget.ewma_decay == 0.97
    events = risk_events(250, 0.5 * Z99 * DAILY_VOL, Z99 * DAILY_VOL, version=v2)
    log.append(events[:30])
    early = judge_agents_live(workflow, log)["risk_manager"]
    assert early["act"] == "gate_refused" and "need 60" in early["reason"]
    assert workflow.champion("risk_manager") == v1
    log.append(events[30:])
    later = judge_agents_live(workflow, log)
    assert later["risk_manager"]["act"] == "gate_promoted", later["risk_manager"]["reason"]
    assert workflow.champion("risk_manager") == v2
    assert later["execution"]["act"] is None  # no challenger: nothing to judge
    (act,) = log.read(event_types=["model_gate_promoted"])
    assert act.payload["agent"] == "risk_manager" and "Kupiec" in act.payload["reason"]


def test_a_challenger_whose_training_data_were_never_checked_is_refused(registry):  # noqa: F811
    from monitoring.live_acts import judge_agents_live
    from tests.monitoring.test_agent_evidence import DAILY_VOL, Z99, risk_events

    workflow, log = registry
    v1, v2 = register_risk(0.94), register_risk(0.97, data_quality=None)
    log.append(risk_events(80, 0.5 * Z99 * DAILY_VOL, Z99 * DAILY_VOL, version=v2))
    decided = judge_agents_live(workflow, log)["risk_manager"]
    assert decided["act"] == "gate_refused" and "data quality" in decided["reason"]
    assert workflow.champion("risk_manager") == v1


def test_a_risk_champion_outside_its_validation_band_is_rolled_back_with_an_alert(registry):  # noqa: F811
    from monitoring.agent_evidence import BAND_TAG as SCORE_BAND_TAG
    from monitoring.alerts import AlertSink
    from monitoring.live_acts import judge_agents_live
    from tests.monitoring.test_agent_evidence import DAILY_VOL, Z99, risk_events

    workflow, log = registry
    v1, v2 = register_risk(0.94), register_risk(0.97)
    log.append(risk_events(250, 0.5 * Z99 * DAILY_VOL, Z99 * DAILY_VOL, version=v2))
    promoted = judge_agents_live(workflow, log)["risk_manager"]
    assert promoted["act"] == "gate_promoted" and workflow.champion("risk_manager") == v2
    band = float(workflow.version_tags("risk_manager", v2)[SCORE_BAND_TAG])
    assert (
        band == pytest.approx(promoted["band"]) and band > promoted["evidence"]["challenger_score"]
    )
    # As champion, with no challenger beside it, its VaR is breached far too often.
    workflow.client.delete_registered_model_alias("quorum-risk_manager", "challenger")
    log.append(risk_events(80, 0.3 * Z99 * DAILY_VOL, None, seed=3, version=None,
                           champion_version=v2, first_day=400))  # fmt: skip
    decided = judge_agents_live(workflow, log, AlertSink(log))["risk_manager"]
    assert decided["rollback"]["due"] and decided["rollback"]["champion_after"] == v1
    assert workflow.champion("risk_manager") == v1
    (act,) = log.read(event_types=["model_rolled_back"])
    assert act.payload["actor"] == "live_gate" and "validation band" in act.payload["reason"]
    (alert,) = log.read(event_types=["alert"])
    assert alert.payload["name"] == "model_rollback" and "quorum-risk_manager" in alert.payload[
        "message"]  # fmt: skip
    # The bootstrap champion has no band: never rolled back automatically.
    again = judge_agents_live(workflow, log)["risk_manager"]
    assert not again["rollback"]["due"] and "no validation band" in again["rollback"]["reason"]


def test_the_gate_reports_the_challengers_canary_beside_its_shadow_evidence(registry):  # noqa: F811
    from tests.monitoring.test_canary_evidence import records

    workflow, log = registry
    v1, v2 = register(0.1), register(0.2)
    checked(v2)
    log.append(shadow_events(10, 1.0, 0.0, version=v2, champion_version=v1))
    log.append(records([10_000_000, 10_010_000, 10_030_000], [30_000_000] * 3, version=v2))
    decided = judge_live(workflow, log)
    canary = decided["canary"]
    assert canary["version"] == v2 and canary["cycles"] == 2
    assert canary["canary_return"] == pytest.approx(0.003) and canary["main_return"] == 0.0
    assert canary["canary_pnl_usd"] == 300.0
    # Reported, not gated on: ten shadow cycles are still too few, whatever the canary made.
    assert decided["gate"]["act"] == "gate_refused" and "need 40" in decided["gate"]["reason"]


def test_a_newer_version_waits_behind_the_challenger_in_shadow_until_its_live_verdict(registry):  # noqa: F811
    workflow, log = registry
    client = MlflowClient()
    v1, v2 = register(0.1), register(0.2)
    checked(v2)
    # The next daily batches' versions: queued, the newest replacing the one before; the
    # challenger keeps gathering evidence, and the offline gate judges the newest.
    v3 = register(0.3)
    assert (workflow.challenger(AGENT), workflow.queued(AGENT)) == (v2, v3)
    assert client.get_model_version(f"quorum-{AGENT}", v3).tags["queued_behind"] == v2
    v4 = register(0.4)
    assert (workflow.challenger(AGENT), workflow.candidate(AGENT)) == (v2, v4)
    # Too few cycles is no verdict: nothing moves.
    log.append(shadow_events(10, 0.0, 1.0, version=v2, champion_version=v1))
    early = judge_live(workflow, log)
    assert early["gate"]["act"] == "gate_refused" and early["gate"]["queue"] is None
    assert (workflow.challenger(AGENT), workflow.queued(AGENT)) == (v2, v4)
    # Refused on enough evidence: final, and the queued version enters shadow.
    log.append(shadow_events(60, 0.0, 1.0, seed=1, version=v2, champion_version=v1)[11:])
    judged = judge_live(workflow, log)
    assert judged["gate"]["act"] == "gate_refused" and "over 60 cycles" in judged["gate"]["reason"]
    assert judged["gate"]["queue"] == f"v{v4} leaves the queue for shadow: v{v2} was judged"
    assert (workflow.challenger(AGENT), workflow.queued(AGENT)) == (v4, None)
    assert workflow.version_tags(AGENT, v2)["live_verdict"] == "refused"
    assert workflow.champion(AGENT) == v1
    (entered,) = log.read(event_types=["model_entered_shadow"])
    assert entered.payload["version"] == v4


def test_a_queued_version_refused_offline_or_rejected_never_enters_shadow(registry):  # noqa: F811
    from monitoring.promotion import evaluate_gate
    from tests.monitoring.test_promotion import evidence

    workflow, log = registry
    v1, v2 = register(0.1), register(0.2)
    checked(v2)
    v3 = register(0.3)
    workflow.apply_gate(AGENT, v3, evaluate_gate(evidence(drifted_share=0.4)))
    assert (workflow.challenger(AGENT), workflow.queued(AGENT)) == (v2, None)
    # A challenger the offline gate refused holds nothing: the next version replaces it.
    checked(v2, offline_gate="refused")
    v4 = register(0.4)
    assert (workflow.challenger(AGENT), workflow.queued(AGENT)) == (v4, None)
    checked(v4)
    v5 = register(0.5)
    assert workflow.queued(AGENT) == v5
    # A person rejects the queued version: gone; rejecting the challenger frees the queue.
    workflow.reject(AGENT, v5, actor="carol", reason="bad vendor file")
    assert workflow.queued(AGENT) is None
    v6 = register(0.6)
    workflow.reject(AGENT, v4, actor="carol", reason="misbehaves in shadow")
    assert (workflow.challenger(AGENT), workflow.queued(AGENT)) == (v6, None)
    entered = log.read(event_types=["model_entered_shadow"])[-1].payload
    assert entered["reason"] == f"v{v6} leaves the queue for shadow: the challenger was rejected"
    assert workflow.champion(AGENT) == v1
