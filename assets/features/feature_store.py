"""Feast as Dagster assets: the registry, the online store, and the training set."""

from datetime import timedelta

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.resources import FeastStore
from features.names import ANALYST_SERVICE

DBT_MARTS = [
    dg.AssetKey(["marts", name])
    for name in ("fct_daily_features", "fct_market_features", "fct_forward_returns")
]


@dg.asset(group_name="features", kinds={"feast"}, deps=DBT_MARTS)
def feast_registry(feast: FeastStore) -> dg.MaterializeResult:
    from features.store import apply_definitions  # Feast loads with the step

    """`feast apply` from code: entities, sources, feature views and services, registered."""
    store = feast.open()
    definitions = apply_definitions(
        store, feast.exports, feast.offline_schema, feast.offline_conninfo
    )
    return dg.MaterializeResult(
        metadata={
            "profile": feast.profile,
            "project": store.project,
            "feature_views": [v.name for v in definitions.feature_views],
            "feature_services": [s.name for s in definitions.feature_services],
            "registry": str(store.config.registry.path),
            "offline_store": store.config.offline_store.type,
        }
    )


@dg.asset(group_name="features", kinds={"feast"}, deps=[feast_registry])
def online_features(feast: FeastStore) -> dg.MaterializeResult:
    from features.store import exported_time_range, materialize_online

    """Incremental materialization of the newest feature values into the online store."""
    store = feast.open()
    _, newest = exported_time_range(feast.exports)
    windows = materialize_online(store, newest + timedelta(seconds=1))
    return dg.MaterializeResult(
        metadata={
            "online_store": store.config.online_store.type,
            "newest_event_timestamp": str(newest),
            "views_loaded": len(windows),
            "windows": dg.MetadataValue.json(
                {name: [str(a), str(b)] for name, (a, b) in windows.items()}
            ),
        }
    )


class TrainingSetConfig(dg.Config):
    feature_service: str = Field(
        default=ANALYST_SERVICE, description="The Feast feature service to join."
    )


@dg.asset(group_name="features", kinds={"feast", "parquet"}, deps=[feast_registry])
def training_set(config: TrainingSetConfig, feast: FeastStore) -> dg.MaterializeResult:
    """Point-in-time correct join of a feature service to the forward-return labels."""
    from features.training import build_training_set, label_rows

    store = feast.open()
    frame = build_training_set(store, config.feature_service, label_rows(feast.exports))
    # A sector's training run may read it while the batch writes the next (they are not
    # serialised with each other): the store never shows a partial frame.
    uri = feast.training_sets.write(config.feature_service, frame)
    stamps = pd.to_datetime(frame["event_timestamp"])
    return dg.MaterializeResult(
        metadata={
            "feature_service": config.feature_service,
            "path": dg.MetadataValue.path(uri),
            "dagster/row_count": len(frame),
            "symbols": int(frame["symbol"].nunique()),
            "first_event_timestamp": str(stamps.min()),
            "last_event_timestamp": str(stamps.max()),
            "feature_columns": len(frame.columns) - 3,
            "rows_with_missing_features": int(frame.isna().any(axis=1).sum()),
        }
    )
