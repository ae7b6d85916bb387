"""Dagster resources: the only place where Quorum's configuration meets Dagster."""

from pathlib import Path

import dagster as dg
import duckdb
from feast import FeatureStore

from agents import model_registry
from assets.ingestion import price_store
from assets.ingestion.market_data import MarketData, load_market_data
from features.store import open_store
from orchestration.postgres import ensure_database


class MarketDataSource(dg.ConfigurableResource):
    """Where prices come from: ``sp500``, ``arch``, ``csv:PATH`` or ``parquet:PATH``."""

    spec: str = "sp500"
    benchmark_symbol: str | None = None

    def load(self) -> MarketData:
        return load_market_data(self.spec, self.benchmark_symbol)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file that holds raw prices and the dbt models."""

    path: str

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return price_store.connect(self.path, read_only=read_only)


class FeastStore(dg.ConfigurableResource):
    """Quorum's Feast feature store: SQLite online store (embedded) or Redis (production)."""

    profile: str = "embedded"
    exports_dir: str
    training_dir: str

    def open(self) -> FeatureStore:
        return open_store(self.profile)

    @property
    def exports(self) -> Path:
        return Path(self.exports_dir)


class MlflowTracking(dg.ConfigurableResource):
    """MLflow tracking and registry: SQLite under QUORUM_HOME, or PostgreSQL in production."""

    tracking_uri: str
    artifact_location: str
    experiment: str = "quorum"

    def configure(self) -> None:
        if self.tracking_uri.startswith("postgresql"):
            ensure_database(self.tracking_uri)
        model_registry.configure(self.tracking_uri, self.experiment, self.artifact_location)
