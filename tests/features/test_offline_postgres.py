"""Feast's PostgreSQL offline store over the dbt exports gives the training sets the DuckDB
store gives: what lets a profile keep Feast's offline data off every step's disk."""

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
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


def test_joining_the_rows_in_time_slices_gives_the_frame_of_one_join(offline_store):
    """What lets the PostgreSQL store join 30 years in slices (``rows_per_join``): slices
    that split a day's names and cross the views' TTL give the same frame, row for row."""
    _, _, store, _ = offline_store
    rows = label_rows(offline_store[0].export_store)
    whole = build_training_set(store, "market_analyst_v2", rows, rows_per_join=len(rows))
    sliced = build_training_set(store, "market_analyst_v2", rows, rows_per_join=97)
    assert len(rows) > 97 * 3
    pd.testing.assert_frame_equal(sliced, whole, check_exact=True)


def test_a_column_type_without_a_mapping_names_the_file_and_the_column(tmp_path):
    with pytest.raises(ValueError, match=r"prices\.parquet: column 'blob'"):
        postgres_type(pa.field("blob", pa.binary()), str(tmp_path / "prices.parquet"))


def test_a_load_reads_back_every_value_exactly(start_postgres, tmp_path, monkeypatch):
    """The CSV that COPY reads keeps floats to the last bit (NaN, infinities, -0 and the
    smallest subnormal included), nulls apart from NaN and from empty strings, quotes,
    commas, backslashes and newlines in text, both kinds of timestamp, and arrays whose
    elements are NaN or null; in batches of two rows, so that list columns are slices."""
    import psycopg

    from features import offline_postgres

    monkeypatch.setattr(offline_postgres, "COPY_BATCH_ROWS", 2)

    from features.parquet_store import ParquetStore

    floats = [0.1 + 0.2, float("nan"), None, float("inf"), -float("inf"), -0.0, 5e-324]
    texts = ['a,"b"', "", None, "back\\slash", "two\nlines", "x", "NULL"]
    table = pa.table(
        {
            "value": pa.array(floats, pa.float64()),
            "count": pa.array([1, None, -3, 2**62, 0, 5, 6], pa.int64()),
            "flag": pa.array([True, False, None, True, False, True, None]),
            "text": pa.array(texts),
            "day": pa.array([date(2020, 2, 29)] * 6 + [None], pa.date32()),
            "at": pa.array([1_600_000_000_123_456] * 7, pa.timestamp("us", tz="UTC")),
            "local": pa.array([1_600_000_000_000_001] * 7, pa.timestamp("us")),
            "values": pa.array(
                [[1.5, float("nan"), None], [], None, [5e-324], [0.1 + 0.2], [-0.0], [1e308]],
                pa.list_(pa.float64()),
            ),
            "labels": pa.array([['q"', "a,b", None], [], None, ["\\"], ["{x}"], [""], ["NULL"]]),
        }
    )
    pq.write_table(table, tmp_path / "everything.parquet")
    with start_postgres() as server:
        conninfo = f"{server.url}/postgres"
        load_exports(ParquetStore(str(tmp_path)), ["everything"], conninfo, SCHEMA)
        with psycopg.connect(conninfo) as connection:
            quoted = ", ".join(f'"{name}"' for name in table.column_names)
            read = connection.execute(f"select {quoted} from {SCHEMA}.everything").fetchall()
    want = table.to_pylist()
    assert len(read) == len(want)
    for row, expected in zip(read, want, strict=True):
        for got, (column, value) in zip(row, expected.items(), strict=True):
            assert _same(got, value), (column, got, value)


def _same(got, want) -> bool:
    """Equal to the bit for floats (NaN to NaN, -0 apart from 0), element by element."""
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(map(_same, got, want))
    if isinstance(want, float) and isinstance(got, float):
        return np.float64(got).tobytes() == np.float64(want).tobytes() or (
            np.isnan(got) and np.isnan(want)
        )
    if hasattr(want, "tzinfo") and want.tzinfo is not None and hasattr(got, "astimezone"):
        return got == want
    return type(got) is type(want) and got == want
