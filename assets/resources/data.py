"""Dagster resources for the data: where prices come from, the DuckDB warehouse with dbt's
models (and the staged market the later steps read), and the Feast feature store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

# The domain code and its libraries (DuckDB, MLflow, Feast, the agents) load when a step
# uses a resource, not when Dagster loads the code location (see docs/speed.md).
if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    from feast import FeatureStore

    from features.ingestion.market_data import MarketData
    from features.ingestion.staged import StagedMarket
    from features.parquet_store import ParquetStore


class MarketDataSource(dg.ConfigurableResource):
    """Where prices come from: ``sp500``, ``arch``, ``csv:PATH`` or ``parquet:PATH``."""

    spec: str = "sp500"
    benchmark_symbol: str | None = None
    s3_endpoint_url: str | None = None  # where a ``csv:s3://...`` file's store answers

    def load(self) -> MarketData:
        from features.ingestion.market_data import load_market_data

        return load_market_data(self.spec, self.benchmark_symbol, self.s3_endpoint_url)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file that holds raw prices and the dbt models; and where the steps after
    the batch's DuckDB steps read the staged market: the file, or (``staged_root``, the
    distributed profile) the Parquet copies the dbt step keeps on the S3 store."""

    path: str
    staged_root: str | None = None
    s3_endpoint_url: str | None = None
    # Distributed: where the file is kept between the steps that write it (ingestion, dbt).
    object_uri: str | None = None

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        from features.ingestion import price_store

        return price_store.connect(self.path, read_only=read_only)

    def fetch(self) -> bool:
        """Before a step writes the file: the kept copy, when there is one, replaces this
        step's (``features.ingestion.kept_warehouse``). False: nothing kept, or no store."""
        from features.ingestion.kept_warehouse import fetch_warehouse

        if self.object_uri is None:
            return False
        return fetch_warehouse(Path(self.path), self.object_uri, self.s3_endpoint_url)

    def keep(self) -> str | None:
        """After a step wrote the file and succeeded: kept whole for the next one; its URI."""
        from features.ingestion.kept_warehouse import keep_warehouse

        if self.object_uri is None:
            return None
        return keep_warehouse(Path(self.path), self.object_uri, self.s3_endpoint_url)

    @property
    def staged_store(self) -> ParquetStore | None:
        from features.parquet_store import ParquetStore

        return ParquetStore(self.staged_root, self.s3_endpoint_url) if self.staged_root else None

    def staged_market(self) -> StagedMarket:
        """dbt's staged prices and symbols, from the store when one is set, else the file."""
        from features.ingestion.staged import load_staged_market, read_staged_market

        store = self.staged_store
        if store is not None:
            return load_staged_market(store)
        with self.connect(read_only=True) as con:
            return read_staged_market(con)


class FeastStore(dg.ConfigurableResource):
    """Quorum's Feast feature store: SQLite online store (embedded) or Redis (production);
    and the training sets joined from it, under ``training_root``: a folder, or (distributed)
    an ``s3://`` prefix on the store at ``s3_endpoint_url``."""

    profile: str = "embedded"
    exports_dir: str  # the folder dbt writes the exports to, on the dbt step's disk
    exports_root: str | None = None  # where steps read them; None: ``exports_dir``
    training_root: str
    s3_endpoint_url: str | None = None
    # Distributed: the PostgreSQL schema (and its database) Feast's offline store reads.
    offline_schema: str | None = None
    offline_conninfo: str | None = None

    def open(self) -> FeatureStore:
        from features.store import open_store

        return open_store(self.profile)

    @property
    def training_sets(self) -> ParquetStore:
        from features.parquet_store import ParquetStore

        return ParquetStore(self.training_root, self.s3_endpoint_url)

    def training_set(self, feature_service: str) -> pd.DataFrame:
        """The feature service's training set, as the daily batch's ``training_set`` asset
        last wrote it."""
        sets = self.training_sets
        if not sets.exists(feature_service):
            raise FileNotFoundError(
                f"no training set at {sets.uri(feature_service)}: the daily batch's "
                "training_set asset writes it (run daily_pipeline, or materialize training_set)"
            )
        return sets.read(feature_service)

    @property
    def exports(self) -> ParquetStore:
        """The dbt exports, where every step reads them: the folder dbt writes, or
        (distributed) the S3 prefix the dbt step puts them under."""
        from features.parquet_store import ParquetStore

        return ParquetStore(self.exports_root or self.exports_dir, self.s3_endpoint_url)
