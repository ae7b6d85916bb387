"""Point-in-time training sets: labels from fct_forward_returns joined to a feature service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from feast import FeatureStore

from features.names import MARKET_KEY

if TYPE_CHECKING:
    from features.parquet_store import ParquetStore

LABEL_COLUMNS = [
    "forward_return_1d",
    "forward_excess_return_1d",
    "forward_return_5d",
    "forward_excess_return_5d",
    "forward_return_21d",
    "forward_excess_return_21d",
]


def label_rows(exports: ParquetStore) -> pd.DataFrame:
    """Entity rows with their labels: one per (symbol, day) whose 21-day label has matured."""
    labels = exports.read("fct_forward_returns")
    labels = labels.dropna(subset=["forward_return_21d"])
    labels["market_id"] = MARKET_KEY
    return labels[["symbol", "market_id", "event_timestamp", *LABEL_COLUMNS]].reset_index(drop=True)


def build_training_set(
    store: FeatureStore, service_name: str, entity_rows: pd.DataFrame
) -> pd.DataFrame:
    """Feast's point-in-time join: each row gets the newest feature values stamped at or
    before its own event_timestamp (and within the view's TTL), never later ones."""
    service = store.get_feature_service(service_name)
    job = store.get_historical_features(entity_df=entity_rows, features=service)
    frame = job.to_df()
    if frame["event_timestamp"].dt.tz is None:
        # PostgreSQL's offline store returns the entity rows' UTC instants without their zone.
        frame["event_timestamp"] = frame["event_timestamp"].dt.tz_localize("UTC")
    return frame.sort_values(["event_timestamp", "symbol"], ignore_index=True)
