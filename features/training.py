"""Point-in-time training sets: labels from fct_forward_returns joined to a feature service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from feast import FeatureStore

from features.names import MARKET_KEY

if TYPE_CHECKING:
    from features.parquet_store import ParquetStore

# Entity rows per point-in-time join on Feast's PostgreSQL offline store (``build_training_set``).
POSTGRES_ROWS_PER_JOIN = 10_000

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
    store: FeatureStore,
    service_name: str,
    entity_rows: pd.DataFrame,
    rows_per_join: int | None = None,
) -> pd.DataFrame:
    """Feast's point-in-time join: each row gets the newest feature values stamped at or
    before its own event_timestamp (and within the view's TTL), never later ones.

    A row's join reads only its own key and time, so the rows may be joined in slices of
    ``rows_per_join`` (in time order) and give the same frame. The PostgreSQL offline store
    needs them: its query joins each view to the rows on the key alone and filters the
    window after, every day of a name against every other; the analyst's 166k rows took
    336 and 348 s in one join (two daily batches) and 36.6 and 38.7 s in slices of 10,000,
    an identical frame (the distributed profile, docs/operations.md). Default: those slices
    on PostgreSQL, one join elsewhere."""
    if rows_per_join is None:
        postgres = store.config.offline_store.type == "postgres"
        rows_per_join = POSTGRES_ROWS_PER_JOIN if postgres else max(len(entity_rows), 1)
    service = store.get_feature_service(service_name)
    ordered = entity_rows.sort_values("event_timestamp", kind="stable", ignore_index=True)
    parts = [
        store.get_historical_features(
            entity_df=ordered.iloc[start : start + rows_per_join], features=service
        ).to_df()
        for start in range(0, max(len(ordered), 1), rows_per_join)
    ]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if frame["event_timestamp"].dt.tz is None:
        # PostgreSQL's offline store returns the entity rows' UTC instants without their zone.
        frame["event_timestamp"] = frame["event_timestamp"].dt.tz_localize("UTC")
    return frame.sort_values(["event_timestamp", "symbol"], ignore_index=True)
