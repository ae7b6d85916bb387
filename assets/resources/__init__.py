"""Dagster resources: the only place where Quorum's configuration meets Dagster. Each module
holds one part of the deployment; they are all importable from here."""

from assets.resources.data import FeastStore, MarketDataSource, Warehouse
from assets.resources.desk import Ledger, TradingDesk
from assets.resources.reporting import Alerting, Backtesting, ModelMonitoring
from assets.resources.tracking import AnalystTraining, MlflowTracking

__all__ = [
    "Alerting",
    "AnalystTraining",
    "Backtesting",
    "FeastStore",
    "Ledger",
    "MarketDataSource",
    "MlflowTracking",
    "ModelMonitoring",
    "TradingDesk",
    "Warehouse",
]
