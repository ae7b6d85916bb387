"""Jobs: what a person launches from the UI and what the schedules run."""

import dagster as dg
import pandas as pd
from pydantic import Field

from agents.desk.controls import clear_halt as clear_desk_halt
from orchestration.resources import TradingDesk

# Every job that trades or changes the desk's state carries this tag; the instance allows one
# such run at a time (see DAGSTER_INSTANCE_YAML in orchestration/settings.py).
DESK_TAGS = {"quorum/desk": "trading"}

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    description="After the close: ingest prices, check them, rebuild the dbt marts, "
    "register and materialize the Feast features, build the training set, train and register "
    "the challengers.",
    selection=dg.AssetSelection.groups("ingestion", "transform", "features", "training"),
)

decision_cycle = dg.define_asset_job(
    name="decision_cycle",
    description="One decision cycle of the paper desk: snapshot -> agents -> consensus -> "
    "orders and fills in the ledger. Without config, the replay clock's next half-hour bar.",
    selection=dg.AssetSelection.groups("decision"),
    executor_def=dg.in_process_executor,
    tags=DESK_TAGS,
)


class ClearHaltConfig(dg.Config):
    reason: str = Field(description="Why trading may resume; recorded in the ledger.")


@dg.op
def clear_halt_op(
    context: dg.OpExecutionContext, config: ClearHaltConfig, trading_desk: TradingDesk
) -> dict:
    """Lifts a circuit-breaker halt; the ledger records who asked (the run's
    ``dagster/user`` tag, or ``quorum/requested_by``) and why."""
    tags = context.run.tags
    requested_by = tags.get("dagster/user") or tags.get("quorum/requested_by") or "unknown"
    event = clear_desk_halt(
        trading_desk.desk().log,
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
    results = trading_desk.desk().run_session()
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


@dg.job(tags=DESK_TAGS, description="A paper day: the replay's next session, cycle by cycle.")
def paper_day():
    paper_day_op()
