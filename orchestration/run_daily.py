"""`make run`: the daily pipeline end to end on the embedded default, then one decision
cycle of the paper desk, then a summary with the desk's positions.

Runs through the Dagster instance under QUORUM_HOME, so the run, its materializations and
checks are there to inspect with `make ui` afterwards.
"""

from __future__ import annotations

import sys

import dagster as dg
from mlflow import MlflowClient

from agents.desk.cycle import CycleResult
from agents.desk.ledger import open_event_log
from agents.desk.state import current
from features.ingestion import price_store
from features.names import ANALYST_SERVICE
from features.parquet_store import ParquetStore
from features.settings import QuorumSettings, SettingsError, load_settings
from orchestration import instance as quorum_instance
from orchestration.definitions import build_definitions
from orchestration.jobs import DESK_TAGS


def _summary(settings: QuorumSettings) -> list[str]:
    with price_store.connect(str(settings.warehouse_path)) as con:

        def count(table: str) -> int:
            return con.execute(f"select count(*) from {table}").fetchall()[0][0]

        first, last, symbols = con.execute(
            "select min(date), max(date), count(distinct symbol) from raw.prices"
        ).fetchall()[0]
        return [
            f"market data        {settings.market_data}: {symbols} symbols, {first} to {last}",
            f"raw_prices         {count('raw.prices'):>10,} rows",
            f"rejected prices    {count('raw.rejected_prices'):>10,} rows (quarantined batches)",
            f"fct_daily_features {count('marts.fct_daily_features'):>10,} rows",
            f"fct_forward_returns{count('marts.fct_forward_returns'):>10,} rows",
            f"fct_market_features{count('marts.fct_market_features'):>10,} rows",
            f"training set       {_training_rows(settings):>10,} rows "
            f"({ANALYST_SERVICE}, point in time)",
        ]


def _models(settings: QuorumSettings) -> list[str]:
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    out = []
    for model in client.search_registered_models():
        aliases = {a: v for a, v in model.aliases.items()} if model.aliases else {}
        out.append(f"{model.name} " + " ".join(f"@{a}=v{v}" for a, v in sorted(aliases.items())))
    return out or ["none"]


def _monitoring(instance: dg.DagsterInstance) -> list[str]:
    """The analyst's out-of-sample scores, the drift report and the gate's decision, from
    their latest materializations."""
    lines = []
    event = instance.get_latest_materialization_event(dg.AssetKey("market_analyst_model"))
    metadata = event.asset_materialization.metadata if event else {}
    if "member_oos_mean_rank_ic" in metadata:
        members = metadata["member_oos_mean_rank_ic"].value
        weights = metadata["ensemble_weights"].value
        lines.append(
            f"analyst ensemble   out-of-sample rank IC {metadata['oos_mean_rank_ic'].value:.4f}"
            f" (mean of its walk-forward folds); members: "
            + ", ".join(f"{m} {v:.4f} (weight {weights.get(m, 0):.2f})" for m, v in members.items())
        )
    for key in ("market_analyst_drift", "market_analyst_promotion"):
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        metadata = event.asset_materialization.metadata if event else {}
        if key.endswith("drift") and "report_path" in metadata:
            lines.append(
                f"drift report       {metadata['report_path'].value} (v{metadata['version'].value}"
                f", drifted feature share {metadata['drifted_feature_share'].value:.1%})"
            )
        elif "decision" in metadata:
            queued = metadata["queued_behind"].value if "queued_behind" in metadata else "none"
            behind = f" (queued behind v{queued})" if queued != "none" else ""
            lines.append(f"promotion gate     {metadata['decision'].value}{behind}")
    event = instance.get_latest_materialization_event(dg.AssetKey("desk_models_bootstrap_gate"))
    metadata = event.asset_materialization.metadata if event else {}
    for agent in ("risk_manager", "portfolio_optimizer", "execution"):
        if f"{agent}_decision" in metadata:
            lines.append(f"{agent:<18} {metadata[f'{agent}_decision'].value}")
    return lines


def _training_rows(settings: QuorumSettings) -> int:
    return _training_sets(settings).rows(ANALYST_SERVICE)


def _training_sets(settings: QuorumSettings) -> ParquetStore:
    return ParquetStore(settings.training_root, settings.data_s3_endpoint_url)


def _positions(settings: QuorumSettings, cycle: CycleResult) -> list[str]:
    """The book after the cycle, from the ledger's projection (not from the run's memory)."""
    log = open_event_log(settings.ledger_url)
    try:
        state = current(log)
        events = len(log.read(cycle_id=cycle.cycle_id))
    finally:
        log.close()
    lines = [
        f"decision cycle     {cycle.cycle_id} at {cycle.at.isoformat()} (replayed session, "
        f"synthesized bar): {cycle.orders} orders, {cycle.filled:,} shares filled, "
        f"{events} events in the ledger",
        f"halted             {state.halted} {'; '.join(state.halt_reasons)}",
        f"NAV at bar close   {cycle.nav:>14,.2f}   cash {state.cash_cents / 100:,.2f}",
        f"positions          {len(state.positions)} names",
    ]
    for symbol, shares in sorted(state.positions.items()):
        lines.append(f"  {symbol:<8} {shares:>10,} shares")
    return lines


def _run(
    defs: dg.Definitions, job: str, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult | None:
    result = defs.get_job_def(job).execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        tags=DESK_TAGS if job == "decision_cycle" else None,
    )
    print(f"\nQuorum {job}: {'SUCCESS' if result.success else 'FAILED'} (run {result.run_id})")
    if result.success:
        return result
    for event in result.all_events:
        if event.is_failure:
            print(f"  {event.step_key}: {event.message}")
    return None


def main() -> int:
    try:
        settings = quorum_instance.prepare(load_settings())
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    if _run(defs, "daily_pipeline", instance) is None:
        return 1
    print("\n".join(_summary(settings)))
    print("\n".join(_monitoring(instance)))
    if _run(defs, "execution_rl_training", instance) is None:
        return 1
    decision = _run(defs, "decision_cycle", instance)
    if decision is None:
        return 1
    print("\n".join(_positions(settings, decision.output_for_node("orders"))))
    print(f"\nresults under {settings.home}:")
    print(f"  warehouse          {settings.warehouse_path}")
    print(f"  feature exports    {settings.exports_dir}")
    registry = settings.feast_dir if settings.profile == "embedded" else settings.feast_registry_url
    print(f"  feast registry     {registry}  (`make feast ARGS='feature-views list'`)")
    print(f"  training set       {_training_sets(settings).uri(ANALYST_SERVICE)}")
    print(f"  dagster instance   {settings.dagster_home}  (browse with `make ui`)")
    print(f"  ledger             {settings.ledger_url}")
    print(f"  mlflow             {settings.mlflow_tracking_uri}")
    models = ", ".join(_models(settings))
    print(f"                     (browse with `make mlflow`: models {models})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
