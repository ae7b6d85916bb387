"""Quorum's single code location: every asset, check, job and resource, wired once."""

import dagster as dg
from dagster_dbt import DbtCliResource

from assets.features.feature_store import feast_registry, online_features, training_set
from assets.ingestion.raw_prices import raw_prices
from assets.training.desk_models import (
    execution_model,
    portfolio_optimizer_model,
    risk_manager_model,
)
from assets.training.market_analyst import market_analyst_model
from assets.transform.dbt_models import dbt_models, dbt_project
from orchestration.jobs import daily_pipeline
from orchestration.resources import FeastStore, MarketDataSource, MlflowTracking, Warehouse
from orchestration.settings import load_settings

settings = load_settings()

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
    ],
    jobs=[daily_pipeline],
    resources={
        "market_data": MarketDataSource(
            spec=settings.market_data, benchmark_symbol=settings.benchmark_symbol
        ),
        "warehouse": Warehouse(path=str(settings.warehouse_path)),
        "dbt": DbtCliResource(project_dir=dbt_project),
        "feast": FeastStore(
            profile=settings.profile,
            exports_dir=str(settings.exports_dir),
            training_dir=str(settings.training_dir),
        ),
        "mlflow_tracking": MlflowTracking(
            tracking_uri=settings.mlflow_tracking_uri,
            artifact_location=str(settings.mlflow_dir / "artifacts"),
        ),
    },
)
