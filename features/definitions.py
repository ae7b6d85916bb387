"""Quorum's Feast definitions: entities -> sources -> feature views -> feature services.

Sources are the Parquet exports of the dbt marts (dbt computes every feature; Feast serves
them). Each agent reads through a versioned FeatureService, so a model records the exact
service it was trained on. TTL: a daily feature older than 5 days (a long weekend plus a
holiday) is too stale to trade on and is served as missing.
"""

from dataclasses import dataclass
from pathlib import Path

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
from feast.types import Array, Float64, Int64, String

from features.names import (  # noqa: F401 (re-exported for Feast's tooling and callers)
    ANALYST_FEATURES,
    ANALYST_INPUTS,
    ANALYST_SERVICE,
    ANALYST_VECTOR_VIEW,
    DAILY_TTL,
    EXECUTION_SERVICE,
    INDICATOR_FEATURES,
    MARKET_FEATURES,
    OPTIMIZER_SERVICE,
    PACKED_SERVICES,
    PRICE_VOLUME_FEATURES,
    RISK_SERVICE,
    SEQUENCE_COLUMNS,
    SEQUENCE_DAYS,
    SEQUENCE_FEATURES,
    TECHNICAL_FEATURES,
    VOLATILITY_FEATURES,
    ranked,
)
from features.settings import REPO_ROOT, SettingsError, current_settings


@dataclass(frozen=True)
class FeastDefinitions:
    entities: list
    data_sources: list
    feature_views: list
    feature_services: list

    def objects(self) -> list:
        return [*self.entities, *self.data_sources, *self.feature_views, *self.feature_services]


# The tables behind the feature views, as dbt's marts name them (plus the packed vectors).
SOURCE_TABLES = ("fct_daily_features", "fct_market_features", "analyst_vectors")


def build_definitions(exports: Path, offline_schema: str | None = None) -> FeastDefinitions:
    """Every Feast object, reading the dbt exports under ``exports``; with
    ``offline_schema``, reading the same tables from that PostgreSQL schema instead (Feast's
    PostgreSQL offline store, ``features.offline_postgres``), where no step's disk is read."""
    # Entities
    symbol = Entity(
        name="symbol",
        join_keys=["symbol"],
        value_type=ValueType.STRING,
        description="A tradable asset (ticker).",
    )
    market = Entity(
        name="market",
        join_keys=["market_id"],
        value_type=ValueType.STRING,
        description="The market as a whole (one key, 'market'): index-level context.",
    )

    # Sources
    def source(name: str, description: str) -> FileSource | PostgreSQLSource:
        if offline_schema is None:
            path = str(exports / f"{name}.parquet")
            return FileSource(
                name=name, path=path, timestamp_field="event_timestamp", description=description
            )
        return PostgreSQLSource(
            name=name,
            table=f"{offline_schema}.{name}",
            timestamp_field="event_timestamp",
            description=description,
        )

    daily_features_source = source(
        "fct_daily_features", "dbt mart fct_daily_features: one row per symbol per trading day."
    )
    market_features_source = source(
        "fct_market_features", "dbt mart fct_market_features: one row per trading day."
    )
    analyst_vector_source = source(
        "analyst_vectors", "The analyst's inputs packed per symbol (features/vectors.py)."
    )
    # The intraday cycle pushes bar-level values here, straight into the online store.
    technical_push = PushSource(name="technical_push", batch_source=daily_features_source)
    analyst_vector_push = PushSource(name="analyst_vector_push", batch_source=analyst_vector_source)

    # Feature views
    technical_indicators = FeatureView(
        name="technical_indicators",
        entities=[symbol],
        ttl=DAILY_TTL,
        schema=[Field(name=n, dtype=Float64) for n in ranked(TECHNICAL_FEATURES)],
        source=technical_push,
        online=True,
        description="RSI, MACD, Bollinger %B, momentum, trend distance, volume; with daily ranks.",
    )
    volatility_risk = FeatureView(
        name="volatility_risk",
        entities=[symbol],
        ttl=DAILY_TTL,
        schema=[
            *(Field(name=n, dtype=Float64) for n in ranked(VOLATILITY_FEATURES)),
            Field(name="sector", dtype=String),
            Field(name="close", dtype=Float64),
            Field(name="day_index", dtype=Int64),
        ],
        source=daily_features_source,
        online=True,
        description="Realised volatility, sector and the latest close: what risk and sizing need.",
    )
    market_context = FeatureView(
        name="market_context",
        entities=[market],
        ttl=DAILY_TTL,
        schema=[Field(name=n, dtype=Float64) for n in MARKET_FEATURES],
        source=market_features_source,
        online=True,
        description="Market volatility, drawdown, trend and dispersion (regime inputs).",
    )

    analyst_vector = FeatureView(
        name=ANALYST_VECTOR_VIEW,
        entities=[symbol],
        ttl=DAILY_TTL,
        schema=[Field(name="values", dtype=Array(Float64))],
        source=analyst_vector_push,
        online=True,
        description="The analyst's inputs packed in ANALYST_INPUTS order; NaN = missing.",
    )

    # Feature services: one per agent that consumes features, versioned.
    analyst_service = FeatureService(
        name=ANALYST_SERVICE,
        features=[
            technical_indicators,
            volatility_risk[ranked(VOLATILITY_FEATURES)],
            market_context,
        ],
        description="Signal model inputs.",
    )
    risk_manager_v1 = FeatureService(
        name=RISK_SERVICE,
        features=[volatility_risk, market_context],
        description="Risk model inputs.",
    )
    portfolio_optimizer_v1 = FeatureService(
        name=OPTIMIZER_SERVICE,
        features=[
            volatility_risk[["realized_vol_63d", "sector"]],
            technical_indicators[["momentum_12m"]],
        ],
        description="Optimizer inputs beyond the analyst's views.",
    )
    execution_v1 = FeatureService(
        name=EXECUTION_SERVICE,
        features=[
            volatility_risk[["realized_vol_21d", "close"]],
            technical_indicators[["volume_zscore_21d"]],
        ],
        description="Impact model inputs.",
    )

    return FeastDefinitions(
        entities=[symbol, market],
        data_sources=[
            daily_features_source,
            market_features_source,
            analyst_vector_source,
            technical_push,
            analyst_vector_push,
        ],
        feature_views=[technical_indicators, volatility_risk, market_context, analyst_vector],
        feature_services=[analyst_service, risk_manager_v1, portfolio_optimizer_v1, execution_v1],
    )


# Module-level objects for Feast's own tooling (`feast -c features plan/apply` scans them).
def _sources_for_feast_tooling() -> tuple[Path, str | None]:
    """The settings' exports folder and offline schema (distributed: the PostgreSQL tables
    ``feast_registry`` loads, so the CLI registers the sources the profile's steps read);
    with invalid settings, the default folder (the entry points report the invalid setting
    themselves; importing must not fail on it)."""
    try:
        settings = current_settings()
    except SettingsError:
        return REPO_ROOT / ".quorum" / "exports", None
    return settings.exports_dir, settings.feast_offline_schema


_DEFAULT = build_definitions(*_sources_for_feast_tooling())
globals().update({obj.name: obj for obj in _DEFAULT.objects()})
