"""The live gates' acts on the registry. The Market Analyst: its challenger promoted from
shadow evidence, its champion rolled back below its validation band (``live_evidence``).
The other three agents: their challengers promoted or refused on their own shadow
evidence, their champions rolled back outside their validation bands
(``agent_evidence``). Each act is recorded in MLflow and the ledger by
``PromotionWorkflow``, a rollback also alerted. No Dagster import."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from agents.desk.canary import EVENT as CANARY_EVENT
from agents.desk.ledger import EventLog
from agents.desk.shadow import EVENT
from agents.desk.shadow_agents import AGENTS
from agents.desk.shadow_agents import EVENT as AGENTS_EVENT
from agents.model_names import DATA_QUALITY_TAG, OFFLINE_GATE_TAG, model_name
from monitoring.agent_evidence import BAND_TAG as SCORE_BAND_TAG
from monitoring.agent_evidence import (
    AgentLivePolicy,
    agent_evidence,
    agent_rollback_check,
    agent_scores,
    evaluate_agent_gate,
)
from monitoring.alerts import Alert, AlertSink
from monitoring.canary_evidence import canary_evidence, cycle_returns
from monitoring.drift_records import DRIFT_SHARE_TAG
from monitoring.live_evidence import (
    BAND_TAG,
    LivePolicy,
    book_evidence,
    book_scores,
    cycle_scores,
    evaluate_live_gate,
    live_evidence,
    rollback_check,
)
from monitoring.registry_workflow import PromotionWorkflow, RegistryAct

AGENT = "market_analyst"


def judge_live(workflow: PromotionWorkflow, log: EventLog, sink: AlertSink | None = None,
               policy: LivePolicy | None = None) -> dict[str, Any]:  # fmt: skip
    """The challenger's live gate (when one differs from the champion), then the champion's
    rollback check; what was decided and on which evidence."""
    policy = policy or LivePolicy()
    shadow = log.read(event_types=[EVENT])
    scores = cycle_scores(shadow)
    out: dict[str, Any] = {"scored_cycles": len(scores), "scores": scores}
    champion, challenger = workflow.champion(AGENT), workflow.challenger(AGENT)
    if challenger is not None and challenger != champion:
        # Reported beside the gate, not gated on (``monitoring.canary_evidence``).
        returns = cycle_returns(log.read(event_types=[CANARY_EVENT]))
        canary = canary_evidence(returns, challenger)
        out["canary"] = asdict(canary) if canary is not None else None
        out["canary_returns"] = returns[returns["version"] == challenger]
        out["shadow_books"] = book_evidence(book_scores(shadow), challenger)
        tags = workflow.version_tags(AGENT, challenger)
        # A challenger whose serving window was never measured counts as drifted.
        drifted = float(tags.get(DRIFT_SHARE_TAG, "nan"))
        decision = evaluate_live_gate(
            live_evidence(scores, challenger), drifted if math.isfinite(drifted) else 1.0,
            tags.get(DATA_QUALITY_TAG, "not_evaluated"), policy,
            offline_gate=tags.get(OFFLINE_GATE_TAG, "not_evaluated"),
        )  # fmt: skip
        reason = "; ".join(decision.reasons) or "live gate passed: " + (
            f"rank IC {decision.evidence.challenger_ic:.4f} vs {decision.evidence.champion_ic:.4f}"
            f" over {decision.evidence.cycles} shadow cycles, p = {decision.evidence.p_value:.3f}"
        )
        band = f"{decision.band_lower:.6f}" if decision.promote else None
        act = _apply(workflow, AGENT, challenger, decision.promote, reason, decision.record(),
                     BAND_TAG, band)  # fmt: skip
        if decision.promote:
            champion = challenger
        out["gate"] = {"act": act.act, "version": challenger, "reason": reason,
                       **decision.record()}  # fmt: skip
        final = (decision.promote or decision.evidence.cycles >= policy.min_cycles
                 or tags.get(OFFLINE_GATE_TAG) == "refused")  # fmt: skip
        out["gate"]["queue"] = _settle(workflow, AGENT, challenger, decision.promote, final)
    if champion is not None:
        band = workflow.version_tags(AGENT, champion).get(BAND_TAG)
        check = rollback_check(scores, champion, float(band) if band else None, policy)
        out["rollback"] = {"due": check.due, "reason": check.reason, "recent_ic": check.recent_ic,
                           "cycles": check.cycles, "champion": champion}  # fmt: skip
        if check.due:
            act = _roll_back(workflow, AGENT, champion, check.reason, check.recent_ic, band, sink)
            out["rollback"] |= {"act": act.act, "champion_after": act.champion_after}
    return out


def _apply(workflow: PromotionWorkflow, agent: str, version: str, promote: bool, reason: str,
           record: dict[str, Any], band_tag: str, band: str | None) -> RegistryAct:  # fmt: skip
    """A live gate's verdict in the registry and the ledger; a promoted version also carries
    its validation band under ``band_tag``, which its rollback check reads."""
    act = workflow.apply_verdict(agent, version, promote, reason, record)
    if promote:
        workflow.client.set_model_version_tag(model_name(agent), version, band_tag, band)
    return act


def _settle(workflow: PromotionWorkflow, agent: str, version: str, promoted: bool,
            final: bool) -> str | None:  # fmt: skip
    """A verdict on enough evidence is final: recorded, and the version queued behind the
    challenger enters shadow. Before that (too few cycles) the challenger keeps its place.
    Returns what the queue did."""
    if not final:
        return None
    act = workflow.settle_live(agent, version, "promoted" if promoted else "refused")
    return act.reason if act is not None else None


def _roll_back(workflow: PromotionWorkflow, agent: str, champion: str, reason: str,
               score: float, band: str, sink: AlertSink | None) -> RegistryAct:  # fmt: skip
    """The champion rolled back by the live gate, recorded, and alerted when a sink is
    given (one alert per agent and version)."""
    act = workflow.rollback(agent, "live_gate", reason)
    if sink is not None:
        alert = Alert("model_rollback", score, float(band), f"quorum-{agent} v{champion} rolled "
                      f"back to v{act.champion_after}: {reason}")  # fmt: skip
        sink.send([alert], f"quorum-{agent} rolled back", f"rollback-{agent}-{champion}")
    return act


def judge_agents_live(
    workflow: PromotionWorkflow,
    log: EventLog,
    sink: AlertSink | None = None,
    policy: AgentLivePolicy | None = None,
) -> dict[str, dict[str, Any]]:
    """The risk manager's, optimizer's and execution agent's live gates
    (``monitoring.agent_evidence``), each on its challenger when one differs from its
    champion, then each champion's rollback check against its validation band; by agent,
    what was decided and on which evidence (``act`` None: no challenger)."""
    events = log.read(event_types=[AGENTS_EVENT])
    return {agent: _judge_agent(workflow, agent, agent_scores(events, agent), sink, policy)
            for agent in AGENTS}  # fmt: skip


def _judge_agent(workflow: PromotionWorkflow, agent: str, scores: Any, sink: AlertSink | None,
                 policy: AgentLivePolicy | None) -> dict[str, Any]:  # fmt: skip
    champion, challenger = workflow.champion(agent), workflow.challenger(agent)
    out: dict[str, Any] = {"act": None, "champion": champion, "scores": scores}
    if challenger is not None and challenger != champion:
        evidence = agent_evidence(scores, agent, challenger, policy)
        data_quality = workflow.version_tags(agent, challenger).get(
            DATA_QUALITY_TAG, "not_evaluated"
        )
        decision = evaluate_agent_gate(evidence, data_quality, policy)
        reason = "; ".join(decision.reasons) or (
            f"live gate passed: {evidence.score} {evidence.challenger_score:.6g} vs "
            f"{evidence.champion_score:.6g} over {evidence.observations} observations, "
            f"p = {evidence.p_value:.3f}; {evidence.check}"
        )
        band = f"{decision.band:.9g}" if decision.promote else None
        act = _apply(workflow, agent, challenger, decision.promote, reason, decision.record(),
                     SCORE_BAND_TAG, band)  # fmt: skip
        if decision.promote:
            champion = out["champion"] = challenger
        out |= {"act": act.act, "version": challenger, "reason": reason, **decision.record()}
        need = decision.policy.min_observations[agent]
        final = decision.promote or evidence.observations >= need
        out["queue"] = _settle(workflow, agent, challenger, decision.promote, final)
    if champion is not None:
        band = workflow.version_tags(agent, champion).get(SCORE_BAND_TAG)
        check = agent_rollback_check(scores, agent, champion, float(band) if band else None,
                                     policy)  # fmt: skip
        out["rollback"] = {"due": check.due, "reason": check.reason, "champion": champion,
                           "recent_score": check.recent_score,
                           "observations": check.observations}  # fmt: skip
        if check.due:
            act = _roll_back(workflow, agent, champion, check.reason, check.recent_score, band,
                             sink)  # fmt: skip
            out["rollback"] |= {"act": act.act, "champion_after": act.champion_after}
    return out
