"""Feast's PostgreSQL offline store over the dbt exports gives the training sets the DuckDB
store gives: what lets a profile keep Feast's offline data off every step's disk."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from feast import FeatureStore, RepoConfig

from features.definitions import SOURCE_TABLES, build_definitions
from features.offline_postgres import load_exports, postgres_type
from features.training import build_training_set, label_rows

pytestmark = pytest.mark.services

SCHEMA = "feast_offline"


@pytest.fixture(scope="module")
def offline_store(daily_graph, start_postgres, tmp_path_factory):
    space, _, embedded = daily_graph
    with start_postgres() as server:
        loaded = load_exports(space.export_store, SOURCE_TABLES, f"{server.url}/postgres", SCHEMA)
        repo = tmp_path_factory.mktemp("feast_postgres")
        config = RepoConfig(
            project="offline_postgres",
            registry=str(repo / "registry.db"),
            provider="local",
            offline_store={
                "type": "postgres",
                "host": "127.0.0.1",
                "port": server.port,
                "database": "postgres",
                "db_schema": SCHEMA,
                "user": "postgres",
                "password": "",
                "sslmode": "disable",
            },
            online_store={"type": "sqlite", "path": str(repo / "online.db")},
            entity_key_serialization_version=3,
            repo_path=str(repo),
        )
        store = FeatureStore(config=config)
        store.apply(build_definitions(space.exports, offline_schema=SCHEMA).objects())
        yield space, embedded, store, loaded


def test_every_exported_table_is_loaded_whole(offline_store):
    space, _, _, loaded = offline_store
    for name in SOURCE_TABLES:
        assert loaded[name] == len(pd.read_parquet(space.exports / f"{name}.parquet")) > 0


@pytest.mark.parametrize(
    "service",
    ["market_analyst_v2", "risk_manager_v1", "portfolio_optimizer_v1", "execution_v1"],
)
def test_each_service_joins_the_same_training_set_as_the_duckdb_store(offline_store, service):
    space, embedded, store, _ = offline_store
    rows = label_rows(space.export_store)
    expected = build_training_set(embedded, service, rows)
    got = build_training_set(store, service, rows)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) > 0
    for column in expected.columns:
        want, have = expected[column], got[column]
        if want.dtype == object and want.map(lambda v: isinstance(v, list | np.ndarray)).any():
            assert all(
                np.array_equal(np.asarray(a, float), np.asarray(b, float), equal_nan=True)
                for a, b in zip(want, have, strict=True)
            ), column
        else:
            pd.testing.assert_series_equal(have, want, check_dtype=False, obj=column)


def test_a_column_type_without_a_mapping_names_the_file_and_the_column(tmp_path):
    with pytest.raises(ValueError, match=r"prices\.parquet: column 'blob'"):
        postgres_type(pa.field("blob", pa.binary()), str(tmp_path / "prices.parquet"))
