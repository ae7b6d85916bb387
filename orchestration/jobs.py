"""Jobs: what a person launches from the UI and what the schedules run."""

import math
from dataclasses import asdict
from typing import Literal

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.resources import Alerting, ModelMonitoring, TradingDesk
from assets.training.sector_models import ANALYST_SECTORS

# Every job that trades or changes the desk's state carries this tag; the instance allows one
# such run at a time (see DAGSTER_INSTANCE_YAML in orchestration/instance.py).
DESK_TAGS = {"quorum/desk": "trading"}

# A decision run is never retried by the daemon (the next tick resumes its cycle from the
# ledger, at that tick's prices); one whose worker died is failed by run monitoring after
# this many seconds, which frees the desk's single run slot for the next tick.
DECISION_RUN_TAGS = {**DESK_TAGS, "dagster/max_retries": "0", "dagster/max_runtime": "600"}

# Every job that rebuilds the warehouse, the training sets or the registry's challengers
# carries this tag; the instance runs one at a time. Two at once (the after-close schedule and
# a drift-launched retraining) would race on the same tables and the gate's inputs.
BATCH_TAGS = {"quorum/batch": "models"}
# The model batches run their steps in the run's one process by default (a run may still
# choose multiprocess): on a worker, a drift-launched retraining took 170 s with a process per
# step, each step 18-45 s (a fresh interpreter importing MLflow, skfolio, Evidently...), where
# the same steps take 0.8-14 s inside the daily batch's one process (`make run` runs it so).
ONE_PROCESS = {"execution": {"config": {"in_process": {}}}}

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    description="After the close: ingest prices, check them, rebuild the dbt marts, "
    "register and materialize the Feast features, build the training set, train and register "
    "the challengers, report their drift and run the promotion gate.",
    selection=dg.AssetSelection.groups(
        "ingestion", "transform", "features", "training", "monitoring"
    ),
    tags=BATCH_TAGS,
    config=ONE_PROCESS,
)

decision_cycle = dg.define_asset_job(
    name="decision_cycle",
    description="One decision cycle of the paper desk: snapshot -> agents -> consensus -> "
    "orders and fills in the ledger. Without config, the replay clock's next half-hour bar.",
    selection=dg.AssetSelection.groups("decision"),
    executor_def=dg.in_process_executor,
    tags=DECISION_RUN_TAGS,
)


class ClearHaltConfig(dg.Config):
    reason: str = Field(description="Why trading may resume; recorded in the ledger.")


@dg.op
def clear_halt_op(
    context: dg.OpExecutionContext, config: ClearHaltConfig, trading_desk: TradingDesk
) -> dict:
    """Lifts a circuit-breaker halt; the ledger records who asked (the run's
    ``dagster/user`` tag, or ``quorum/requested_by``) and why."""
    from agents.desk.controls import clear_halt as clear_desk_halt

    tags = context.run.tags
    requested_by = tags.get("dagster/user") or tags.get("quorum/requested_by") or "unknown"
    event = clear_desk_halt(
        trading_desk.held_desk().log,
        requested_by=requested_by,
        reason=config.reason,
        reference=context.run_id,
    )
    context.log.info(f"halt cleared by {requested_by}: {config.reason}")
    return event.payload


@dg.job(tags=DESK_TAGS, description="Lift a circuit-breaker halt, with a reason.")
def clear_halt():
    clear_halt_op()


@dg.op
def paper_day_op(context: dg.OpExecutionContext, trading_desk: TradingDesk) -> dg.Output:
    """Runs every remaining cycle of the replay's next session (13 on a full day) through
    the same Desk code as the decision_cycle job."""
    results = trading_desk.held_desk().run_session()
    table = pd.DataFrame(
        [(r.cycle_id, r.orders, r.filled, round(r.nav, 2), r.halted, r.refused) for r in results],
        columns=["cycle_id", "orders", "filled_shares", "nav", "halted", "refused"],
    )
    context.log.info(f"paper day: {len(results)} cycles\n{table.to_string(index=False)}")
    return dg.Output(
        None,
        metadata={
            "cycles": len(results),
            "orders": int(table["orders"].sum()),
            "halted_cycles": int(table["halted"].sum()),
            "cycles_table": dg.MetadataValue.md(table.to_markdown(index=False)),
        },
    )


# The live gate's record in the asset catalog: each paper day reports one materialization,
# so the UI plots its numbers (shadow ICs, p-value, the champion's recent IC) day by day.
MARKET_ANALYST_LIVE_GATE = dg.AssetSpec(
    "market_analyst_live_gate",
    group_name="live_evidence",
    kinds={"mlflow"},
    description="The Market Analyst's live gate and rollback check, reported by each paper "
    "day: its shadow evidence, the act and the registry's history.",
)


def _finite(values: dict) -> dict[str, float]:
    """The numbers Dagster plots; a missing or NaN figure (no challenger yet) is left out."""
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def _canary_by_day(returns: pd.DataFrame | None) -> str:
    """The challenger's canary against the main book, compounded per day."""
    if returns is None or returns.empty:
        return "no canary has traded for the challenger (QUORUM_CANARY_SHARE is 0, or none)"
    day = pd.to_datetime(returns["market_time"]).dt.date.rename("day")
    daily = returns.groupby(day).agg(
        cycles=("cycle_id", "size"),
        canary_return=("canary_return", lambda r: (1 + r).prod() - 1),
        main_return=("main_return", lambda r: (1 + r).prod() - 1),
        canary_pnl_usd=("canary_pnl_usd", "last"), main_pnl_usd=("main_pnl_usd", "last"),
    )  # fmt: skip
    return daily.tail(30).round(6).reset_index().to_markdown(index=False)


@dg.op(ins={"after": dg.In(dg.Nothing)})
def live_gate_op(
    context: dg.OpExecutionContext, model_monitoring: ModelMonitoring, alerting: Alerting
) -> dg.Output:
    """The Market Analyst's live gate and rollback check on the shadow record the day left
    (``monitoring.live_acts``): its challenger promoted or refused, its champion rolled back
    below its validation band; then the other three agents' live gates
    (``orchestration.agent_gates``); every act in MLflow and the ledger."""
    from monitoring.live_acts import AGENT, judge_agents_live, judge_live
    from monitoring.registry_history import acts_markdown, registry_acts
    from orchestration.agent_gates import AGENTS, report_agent_gates

    with model_monitoring.workflow() as workflow:
        decided = judge_live(workflow, workflow.log, alerting.sink(workflow.log))
        history = acts_markdown(registry_acts(workflow.log, AGENT, limit=20))
        others = judge_agents_live(workflow, workflow.log, alerting.sink(workflow.log))
        histories = {a: acts_markdown(registry_acts(workflow.log, a, limit=20)) for a in AGENTS}
    agent_acts = report_agent_gates(context, others, histories)
    scores = decided.pop("scores")
    canary_returns = decided.pop("canary_returns", None)
    canary = decided.get("canary") or {}
    gate, rollback = decided.get("gate", {}), decided.get("rollback", {})
    evidence = gate.get("evidence", {})
    context.log.info(f"live gate: {gate.get('act', 'no challenger')}: {gate.get('reason', '')}")
    daily = pd.DataFrame(columns=["day", "cycles", "champion_ic", "challenger_ic"])
    if len(scores):
        scores["day"] = pd.to_datetime(scores["market_time"]).dt.date
        daily = scores.groupby("day").agg(
            cycles=("cycle_id", "size"), champion_ic=("champion_ic", "mean"),
            challenger_ic=("challenger_ic", "mean"),
        ).reset_index()  # fmt: skip
    metadata = {
        "scored_cycles": decided["scored_cycles"],
        "gate_act": gate.get("act", "no challenger in shadow"),
        "gate_reason": gate.get("reason", ""),
        "evidence": dg.MetadataValue.json(evidence),
        "rollback": dg.MetadataValue.json(rollback),
        "canary": dg.MetadataValue.json(canary),
        "shadow_books": dg.MetadataValue.json(_finite(decided.get("shadow_books") or {})),
        "canary_vs_main_by_day": dg.MetadataValue.md(_canary_by_day(canary_returns)),
        "shadow_rank_ic_by_day": dg.MetadataValue.md(
            daily.tail(30).round(4).to_markdown(index=False)
        ),
        "registry_history": dg.MetadataValue.md(history),
    }
    plotted = _finite({
        "challenger_shadow_cycles": evidence.get("cycles"),
        "challenger_rank_ic_mean": evidence.get("challenger_ic"),
        "champion_rank_ic_mean": evidence.get("champion_ic"),
        "paired_t_p_value": evidence.get("p_value"),
        "champion_recent_rank_ic": rollback.get("recent_ic"),
        "validation_band_lower": gate.get("band_lower"),
        "canary_pnl_usd": canary.get("canary_pnl_usd"),
        "canary_main_book_pnl_usd": canary.get("main_pnl_usd"),
    })  # fmt: skip
    context.log_event(
        dg.AssetMaterialization(
            MARKET_ANALYST_LIVE_GATE.key,
            description=f"{metadata['gate_act']}: {metadata['gate_reason']}"[:2000],
            metadata={**metadata, **plotted},
        )
    )
    return dg.Output(None, metadata={**metadata, **{f"{a}_gate_act": act
                                                    for a, act in agent_acts.items()}})  # fmt: skip


@dg.job(
    tags=DESK_TAGS,
    description="A paper day: the replay's next session, cycle by cycle, then every agent's "
    "live gate on the shadow record.",
)
def paper_day():
    live_gate_op(paper_day_op())


class PromoteModelConfig(dg.Config):
    agent: Literal["market_analyst", "risk_manager", "portfolio_optimizer", "execution"] = Field(
        description="Whose model: quorum-<agent> in the MLflow registry."
    )
    action: Literal["promote", "reject", "rollback"] = Field(
        description="promote: make `version` champion (bypasses the gate, recorded as a "
        "manual act); reject: take `version` off challenger; rollback: restore the champion "
        "before the current one."
    )
    version: str | None = Field(default=None, description="Model version (not for rollback).")
    reason: str = Field(description="Why; recorded on the version's tags and in the ledger.")


@dg.op
def promote_model_op(
    context: dg.OpExecutionContext, config: PromoteModelConfig, model_monitoring: ModelMonitoring
) -> dict:
    """A person's act on the champion/challenger workflow, recorded with who and why."""
    from monitoring.registry_history import acts_markdown, registry_acts

    tags = context.run.tags
    actor = tags.get("dagster/user") or tags.get("quorum/requested_by") or "unknown"
    if config.action != "rollback" and not config.version:
        raise dg.Failure(f"{config.action} needs a version")
    with model_monitoring.workflow() as workflow:
        if config.action == "promote":
            act = workflow.promote(config.agent, config.version, actor, config.reason)
        elif config.action == "reject":
            act = workflow.reject(config.agent, config.version, actor, config.reason)
        else:
            act = workflow.rollback(config.agent, actor, config.reason)
        history = acts_markdown(registry_acts(workflow.log, config.agent, limit=20))
    context.log.info(
        f"{act.act} {config.agent} v{act.version} by {actor}: champion "
        f"v{act.previous_champion} -> v{act.champion_after} ({config.reason})"
    )
    context.add_output_metadata({"registry_history": dg.MetadataValue.md(history)})
    return asdict(act)


@dg.job(description="Promote, reject or roll back a model version, with a reason.")
def promote_model():
    promote_model_op()


analyst_search = dg.define_asset_job(
    name="analyst_search",
    description="Optuna search of the analyst members' hyper-parameters on 1990-2018 "
    "(nested MLflow runs); the daily run then trains with the best recorded parameters.",
    selection=dg.AssetSelection.assets("market_analyst_search"),
    tags=BATCH_TAGS,
)


def execution_rl_training_job(timesteps: int):  # an unresolved asset job (not in dg)
    """The RL scheduler's training, with the deployment's step budget as the default run
    config (``QUORUM_RL_TIMESTEPS``), which the launchpad shows and a run may change."""
    return dg.define_asset_job(
        name="execution_rl_training",
        description="Train the execution agent's RL order scheduler (PPO) and run its gate: "
        "champion only if it beats the best classical schedule on held-out orders.",
        selection=dg.AssetSelection.assets("execution_rl_scheduler"),
        tags=BATCH_TAGS,
        config={"ops": {"execution_rl_scheduler": {"config": {"timesteps": timesteps}}}},
    )


sector_analyst_training = dg.define_asset_job(
    name="sector_analyst_training",
    description="A Market Analyst model per sector (one partition each), scored against the "
    "pooled model on the sector's names and registered; backfill it to train every sector, "
    "a run per sector, spread over the deployment's workers.",
    selection=dg.AssetSelection.assets("sector_analyst_model"),
    partitions_def=ANALYST_SECTORS,
    # Not a model batch: each run reads the training set (renamed into place whole) and
    # registers its own model, so sectors run side by side and beside the daily batch.
)

retrain_models = dg.define_asset_job(
    name="retrain_models",
    description="Retrain the challengers on the current features and run the drift report "
    "and the promotion gate (what the drift sensor launches).",
    selection=dg.AssetSelection.groups("training", "monitoring"),
    tags=BATCH_TAGS,
    config=ONE_PROCESS,
)
