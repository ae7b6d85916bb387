"""The bootstrap gate of the Risk Manager's, Portfolio Optimizer's and Execution Agent's first
versions, as an asset of the daily batch (``monitoring.agent_bootstrap``)."""

import dagster as dg
import pandas as pd

from assets.resources import ModelMonitoring
from assets.training.desk_models import (
    execution_model,
    portfolio_optimizer_model,
    risk_manager_model,
)


def _gate(context, model_monitoring: ModelMonitoring, workflow, agent: str) -> dict:
    """One agent: with no champion, its challenger faces the gate; else nothing to do."""
    from agents.model_names import DATA_QUALITY_TAG, model_name
    from monitoring.agent_bootstrap import evaluate_agent_bootstrap

    champion, challenger = workflow.champion(agent), workflow.challenger(agent)
    if champion is not None or challenger is None:
        why = "its challengers face the live gate" if champion else "no version registered"
        return {"agent": agent, "version": challenger, "champion_after": champion,
                "decision": f"none ({why})", "reasons": []}  # fmt: skip
    client = workflow.client
    run_id = client.get_model_version(model_name(agent), challenger).run_id
    metrics = client.get_run(run_id).data.metrics
    quality = workflow.version_tags(agent, challenger).get(DATA_QUALITY_TAG, "not checked")
    decision = evaluate_agent_bootstrap(agent, challenger, metrics, quality)
    act, outcome = workflow.apply_bootstrap(
        agent, challenger, decision.promote, decision.reason(), decision.record(),
        enforce=model_monitoring.bootstrap_gate,
    )  # fmt: skip
    context.log.info(f"{agent} bootstrap gate: {act.act}: {act.reason}")
    return {"agent": agent, "version": challenger, "champion_after": act.champion_after,
            "decision": outcome, "reasons": decision.reasons}  # fmt: skip


@dg.asset(
    group_name="monitoring",
    kinds={"mlflow"},
    deps=[risk_manager_model, portfolio_optimizer_model, execution_model],
)
def desk_models_bootstrap_gate(
    context: dg.AssetExecutionContext, model_monitoring: ModelMonitoring
) -> dg.MaterializeResult:
    """With no champion yet, each of the three agents' first version becomes champion only if
    its own out-of-sample evaluation passes (the risk model's forecast VaR out of the Basel
    red zone, the optimizer's and the impact models' volatility forecasts within the live
    gate's band) and its training data passed the checks; else the desk trades nothing and
    says why. Once an agent has a champion, its challengers face the live gate instead.
    One step for the three, so the embedded ledger has one writer."""
    from monitoring.agent_bootstrap import AGENTS

    with model_monitoring.workflow() as workflow:
        rows = [_gate(context, model_monitoring, workflow, agent) for agent in AGENTS]
    table = pd.DataFrame(rows).assign(reasons=lambda d: d["reasons"].map("; ".join))
    return dg.MaterializeResult(
        metadata={
            "decisions": dg.MetadataValue.md(table.to_markdown(index=False)),
            **{f"{r['agent']}_decision": r["decision"] for r in rows},
            **{f"{r['agent']}_champion": r["champion_after"] for r in rows},
        }
    )
