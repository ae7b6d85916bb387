"""The Risk Manager's, Portfolio Optimizer's and Execution Agent's live gates in the asset
catalog: each paper day reports one materialization per agent (``<agent>_live_gate``), so
the UI plots its shadow evidence day by day beside the act and the registry's history."""

import math

import dagster as dg
import pandas as pd

AGENTS = ("risk_manager", "portfolio_optimizer", "execution")

AGENT_LIVE_GATES = [
    dg.AssetSpec(
        f"{agent}_live_gate",
        group_name="live_evidence",
        kinds={"mlflow"},
        description=f"quorum-{agent}'s live gate, reported by each paper day: its challenger's "
        "shadow evidence against the champion, the act and the registry's history.",
    )
    for agent in AGENTS
]


def _finite(values: dict) -> dict[str, float]:
    """The numbers Dagster plots; a missing or NaN figure (no challenger yet) is left out."""
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def _by_day(scores: pd.DataFrame) -> str:
    if not len(scores):
        return "no shadow observations yet"
    days = scores.assign(day=pd.to_datetime(scores["market_time"]).dt.date)
    table = (
        days.groupby("day")
        .agg(
            observations=("champion", "size"),
            champion=("champion", "mean"),
            challenger=("challenger", "mean"),
        )
        .reset_index()
    )
    return table.tail(30).to_markdown(index=False, floatfmt=".6g")


def report_agent_gates(context: dg.OpExecutionContext, decided: dict, history: dict) -> dict:
    """One materialization per agent from ``judge_agents_live``'s outcome; ``history``: the
    registry's acts per agent as markdown. Returns each agent's act for the op's output."""
    acts = {}
    for spec, agent in zip(AGENT_LIVE_GATES, AGENTS, strict=True):
        outcome = decided[agent]
        evidence = outcome.get("evidence", {})
        act = outcome["act"] or "no challenger in shadow"
        reason = outcome.get("reason", "")
        context.log.info(f"{agent} live gate: {act}: {reason}")
        acts[agent] = act
        metadata = {
            "gate_act": act,
            "gate_reason": reason,
            "champion": str(outcome["champion"]),
            "evidence": dg.MetadataValue.json(evidence),
            "shadow_score_by_day": dg.MetadataValue.md(_by_day(outcome["scores"])),
            "registry_history": dg.MetadataValue.md(history[agent]),
        }
        plotted = _finite({
            "challenger_observations": evidence.get("observations"),
            "challenger_score_mean": evidence.get("challenger_score"),
            "champion_score_mean": evidence.get("champion_score"),
            "paired_t_p_value": evidence.get("p_value"),
        })  # fmt: skip
        context.log_event(dg.AssetMaterialization(
            spec.key, description=f"{act}: {reason}"[:2000], metadata={**metadata, **plotted},
        ))  # fmt: skip
    return acts
