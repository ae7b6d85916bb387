"""Quorum's single code location: every asset, check, job and resource, wired once.

Dagster loads ``defs`` lazily (``@dg.definitions``): importing this module reads no setting
and writes nothing; loading the code location reads and validates the settings, prepares
the home (folders, instance file, exported paths) and builds the definitions.
"""

import dagster as dg

from assets.backtest.report import backtest_report
from assets.decision.cycle import (
    analyst_signals,
    consensus_decision,
    desk_alerts,
    execution_plan,
    market_snapshot,
    optimizer_proposal,
    orders,
    risk_assessment,
)
from assets.features.feature_store import feast_registry, online_features, training_set
from assets.ingestion.raw_prices import raw_prices
from assets.monitoring.agent_bootstrap import desk_models_bootstrap_gate
from assets.monitoring.promotion import market_analyst_drift, market_analyst_promotion
from assets.resources import (
    Alerting,
    AnalystTraining,
    Backtesting,
    FeastStore,
    Ledger,
    MarketDataSource,
    MlflowTracking,
    ModelMonitoring,
    TradingDesk,
    Warehouse,
)
from assets.training.desk_models import (
    execution_model,
    portfolio_optimizer_model,
    risk_manager_model,
)
from assets.training.execution_rl import execution_rl_scheduler
from assets.training.market_analyst import market_analyst_model
from assets.training.market_analyst_search import market_analyst_search
from assets.training.sector_models import analyst_sectors, sector_analyst_model
from features.settings import QuorumSettings, load_settings
from orchestration import instance
from orchestration.agent_gates import AGENT_LIVE_GATES
from orchestration.jobs import (
    MARKET_ANALYST_LIVE_GATE,
    analyst_search,
    clear_halt,
    daily_pipeline,
    decision_cycle,
    execution_rl_training_job,
    paper_day,
    promote_model,
    retrain_models,
    sector_analyst_training,
)
from orchestration.schedules import daily_batch_schedule, intraday_rebalance_schedule
from orchestration.sensors import feature_drift_sensor, run_failure_alert


def resources_for(settings: QuorumSettings, dbt: dg.ConfigurableResource) -> dict[str, object]:
    warehouse = Warehouse(
        path=str(settings.warehouse_path),
        staged_root=settings.staged_market_root,
        object_uri=settings.warehouse_object_uri,
        s3_endpoint_url=settings.data_s3_endpoint_url,
    )
    feast = FeastStore(
        profile=settings.profile,
        exports_dir=str(settings.exports_dir),
        exports_root=settings.exports_root,
        training_root=settings.training_root,
        s3_endpoint_url=settings.data_s3_endpoint_url,
        offline_schema=settings.feast_offline_schema,
        offline_conninfo=settings.feast_offline_conninfo,
    )
    mlflow_tracking = MlflowTracking(
        tracking_uri=settings.mlflow_tracking_uri,
        artifact_location=settings.mlflow_artifact_location,
    )
    ledger = Ledger(
        url=settings.ledger_url,
        bus_url=settings.redis_url if settings.on_services else None,
        bus_prefix=settings.bus_prefix,
    )
    return distributed_resources(settings) | {
        "market_data": MarketDataSource(
            spec=settings.market_data,
            benchmark_symbol=settings.benchmark_symbol,
            s3_endpoint_url=settings.data_s3_endpoint_url,
        ),
        "warehouse": warehouse,
        "dbt": dbt,
        "feast": feast,
        "mlflow_tracking": mlflow_tracking,
        "analyst_training": AnalystTraining(
            members=list(settings.analyst_members), ray_address=settings.ray_address
        ),
        "trading_desk": TradingDesk(
            warehouse=warehouse,
            feast=feast,
            mlflow_tracking=mlflow_tracking,
            ledger=ledger,
            replay_start=str(settings.replay_start) if settings.replay_start else None,
            replay_sessions=settings.replay_sessions,
            initial_cash=settings.initial_cash,
            halt_policy=settings.halt_policy,
            max_short=settings.max_short,
            canary_share=settings.canary_share,
            hedge=settings.hedge,
            hedge_instrument=settings.hedge_instrument,
            sessions_root=settings.sessions_root,
            sessions_s3_endpoint_url=settings.data_s3_endpoint_url,
            venues_file=settings.venues_file,
        ),
        "ledger": ledger,
        "model_monitoring": ModelMonitoring(
            mlflow_tracking=mlflow_tracking,
            ledger=ledger,
            reports_dir=settings.reports_root,
            reports_s3_endpoint_url=settings.data_s3_endpoint_url,
            bootstrap_gate=settings.bootstrap_gate,
        ),
        "alerting": Alerting(webhook_url=settings.alert_webhook),
        "backtesting": Backtesting(
            reports_dir=settings.reports_root,
            reports_s3_endpoint_url=settings.data_s3_endpoint_url,
            mlflow_tracking=mlflow_tracking,
        ),
    }


def distributed_resources(settings: QuorumSettings) -> dict[str, object]:
    """Distributed profile: the steps' outputs go to the S3 store, not to the local disk of
    whichever worker ran the step (Dagster's default IO manager), so the next step may run on
    another machine. boto3 reads the store's credentials from its own variables."""
    if not settings.distributed:
        return {}
    from dagster_aws.s3 import S3PickleIOManager, S3Resource

    store = S3Resource(endpoint_url=settings.s3_endpoint_url)
    return {
        "io_manager": S3PickleIOManager(
            s3_resource=store, s3_bucket=settings.s3_bucket, s3_prefix=f"{settings.s3_prefix}/io"
        )
    }


def build_definitions(settings: QuorumSettings) -> dg.Definitions:
    """The code location for prepared settings (``orchestration.instance.prepare``)."""
    # dagster-dbt (and dbt) load when the location is loaded, not when this module is imported.
    from dagster_dbt import DbtCliResource

    from assets.transform.dbt_models import build_dbt_assets, prepared_dbt_project

    project = prepared_dbt_project()
    return dg.Definitions(
        assets=[
            raw_prices,
            build_dbt_assets(project),
            feast_registry,
            online_features,
            training_set,
            market_analyst_model,
            market_analyst_search,
            analyst_sectors,
            sector_analyst_model,
            risk_manager_model,
            portfolio_optimizer_model,
            execution_model,
            execution_rl_scheduler,
            market_snapshot,
            analyst_signals,
            optimizer_proposal,
            risk_assessment,
            execution_plan,
            consensus_decision,
            orders,
            market_analyst_drift,
            market_analyst_promotion,
            desk_models_bootstrap_gate,
            MARKET_ANALYST_LIVE_GATE,
            *AGENT_LIVE_GATES,
            backtest_report,
        ],
        asset_checks=[desk_alerts],
        jobs=[
            daily_pipeline,
            decision_cycle,
            paper_day,
            clear_halt,
            promote_model,
            retrain_models,
            analyst_search,
            sector_analyst_training,
            execution_rl_training_job(settings.rl_timesteps),
        ],
        schedules=[
            intraday_rebalance_schedule(settings.intraday_minutes, settings.trading_calendar),
            daily_batch_schedule(settings.trading_calendar),
        ],
        sensors=[feature_drift_sensor, run_failure_alert],
        resources=resources_for(settings, DbtCliResource(project_dir=project)),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(instance.prepare(load_settings()))
