"""Quorum's single code location: every asset, check, job and resource, wired once."""

import dagster as dg
from dagster_dbt import DbtCliResource

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
from assets.monitoring.promotion import market_analyst_drift, market_analyst_promotion
from assets.training.desk_models import (
    execution_model,
    portfolio_optimizer_model,
    risk_manager_model,
)
from assets.training.market_analyst import market_analyst_model
from assets.transform.dbt_models import dbt_models, dbt_project
from orchestration.jobs import (
    clear_halt,
    daily_pipeline,
    decision_cycle,
    paper_day,
    promote_model,
    retrain_models,
)
from orchestration.resources import (
    Alerting,
    Backtesting,
    FeastStore,
    Ledger,
    MarketDataSource,
    MlflowTracking,
    ModelMonitoring,
    TradingDesk,
    Warehouse,
)
from orchestration.schedules import daily_batch, intraday_rebalance
from orchestration.sensors import feature_drift_sensor, run_failure_alert
from orchestration.settings import load_settings

settings = load_settings()
warehouse = Warehouse(path=str(settings.warehouse_path))
feast = FeastStore(
    profile=settings.profile,
    exports_dir=str(settings.exports_dir),
    training_dir=str(settings.training_dir),
)
mlflow_tracking = MlflowTracking(
    tracking_uri=settings.mlflow_tracking_uri,
    artifact_location=str(settings.mlflow_dir / "artifacts"),
)
ledger = Ledger(url=settings.ledger_url)

defs = dg.Definitions(
    assets=[
        raw_prices,
        dbt_models,
        feast_registry,
        online_features,
        training_set,
        market_analyst_model,
        risk_manager_model,
        portfolio_optimizer_model,
        execution_model,
        market_snapshot,
        analyst_signals,
        optimizer_proposal,
        risk_assessment,
        execution_plan,
        consensus_decision,
        orders,
        market_analyst_drift,
        market_analyst_promotion,
        backtest_report,
    ],
    asset_checks=[desk_alerts],
    jobs=[daily_pipeline, decision_cycle, paper_day, clear_halt, promote_model, retrain_models],
    schedules=[intraday_rebalance, daily_batch],
    sensors=[feature_drift_sensor, run_failure_alert],
    resources={
        "market_data": MarketDataSource(
            spec=settings.market_data, benchmark_symbol=settings.benchmark_symbol
        ),
        "warehouse": warehouse,
        "dbt": DbtCliResource(project_dir=dbt_project),
        "feast": feast,
        "mlflow_tracking": mlflow_tracking,
        "trading_desk": TradingDesk(
            warehouse=warehouse,
            feast=feast,
            mlflow_tracking=mlflow_tracking,
            ledger=ledger,
            replay_start=settings.replay_start,
            replay_sessions=settings.replay_sessions,
            initial_cash=settings.initial_cash,
            halt_policy=settings.halt_policy,
        ),
        "ledger": ledger,
        "model_monitoring": ModelMonitoring(
            mlflow_tracking=mlflow_tracking, ledger=ledger, reports_dir=str(settings.reports_dir)
        ),
        "alerting": Alerting(webhook_url=settings.alert_webhook),
        "backtesting": Backtesting(
            reports_dir=str(settings.reports_dir), mlflow_tracking=mlflow_tracking
        ),
    },
)
