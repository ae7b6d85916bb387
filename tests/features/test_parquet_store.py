"""Named Parquet frames on a local folder and on a real S3 store (a private SeaweedFS)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from features.parquet_store import COPY_CHUNK_BYTES, ParquetStore, get_file, put_file
from tests.support.services import PrivateSeaweedFS


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "symbol": rng.choice(["AAA", "BBB", "CCC"], rows),
            "event_timestamp": pd.date_range("2001-01-02", periods=rows, freq="D", tz="UTC"),
            "feature": rng.normal(size=rows),
            "label": rng.normal(size=rows),
        },
        index=pd.RangeIndex(10, 10 + rows),  # an index the store must not keep
    )


@pytest.fixture(scope="module")
def s3_store() -> Iterator[PrivateSeaweedFS]:
    server = PrivateSeaweedFS.start_new()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def on_s3(s3_store, monkeypatch) -> ParquetStore:
    for name, value in s3_store.credentials.items():
        monkeypatch.setenv(name, value)
    return ParquetStore("s3://quorum-tests/deployment/training", s3_store.url)


def test_a_frame_written_to_a_folder_reads_back_equal_and_replaces_the_last_one(tmp_path):
    store = ParquetStore(str(tmp_path / "training"))
    assert not store.exists("market_analyst_v2") and store.rows("market_analyst_v2") == 0
    store.write("market_analyst_v2", _frame(50, seed=1))
    newer = _frame(80, seed=2)
    assert store.write("market_analyst_v2", newer) == str(
        tmp_path / "training" / "market_analyst_v2.parquet"
    )
    pd.testing.assert_frame_equal(store.read("market_analyst_v2"), newer.reset_index(drop=True))
    assert store.rows("market_analyst_v2") == 80
    assert sorted(p.name for p in (tmp_path / "training").iterdir()) == [
        "market_analyst_v2.parquet"
    ]  # no partial file left beside it


def test_a_frame_written_to_s3_is_an_object_on_the_store_that_reads_back_equal(s3_store, on_s3):
    frame = _frame(500, seed=3)
    uri = on_s3.write("market_analyst_v2", frame)
    assert uri == "s3://quorum-tests/deployment/training/market_analyst_v2.parquet"
    assert s3_store.keys("quorum-tests", "deployment/") == [
        "deployment/training/market_analyst_v2.parquet"
    ]
    pd.testing.assert_frame_equal(on_s3.read("market_analyst_v2"), frame.reset_index(drop=True))
    assert on_s3.rows("market_analyst_v2") == 500
    pd.testing.assert_frame_equal(
        on_s3.read("market_analyst_v2", columns=["symbol", "label"]),
        frame[["symbol", "label"]].reset_index(drop=True),
    )


def test_a_file_kept_on_s3_in_chunks_comes_back_byte_for_byte(s3_store, on_s3, tmp_path):
    # Larger than one chunk, and not a multiple of it: the copy loops and ends on a part.
    body = np.random.default_rng(4).bytes(COPY_CHUNK_BYTES * 2 + 12_345)
    local = tmp_path / "warehouse.duckdb"
    local.write_bytes(body)
    uri = "s3://quorum-tests/deployment/warehouse/warehouse.duckdb"
    assert put_file(str(local), uri, s3_store.url) == uri
    fetched = tmp_path / "worker" / "warehouse.duckdb"
    assert get_file(uri, str(fetched), s3_store.url)
    assert fetched.read_bytes() == body
    assert sorted(p.name for p in fetched.parent.iterdir()) == ["warehouse.duckdb"]
    assert not get_file(uri.replace("warehouse.duckdb", "absent"), str(fetched), s3_store.url)
    assert fetched.read_bytes() == body  # nothing kept there: the local file is left alone


@pytest.mark.parametrize("where", ["folder", "s3"])
def test_a_missing_frame_is_an_error_naming_where_it_was_looked_for(where, tmp_path, request):
    store = (
        ParquetStore(str(tmp_path / "training"))
        if where == "folder"
        else request.getfixturevalue("on_s3")
    )
    with pytest.raises(FileNotFoundError, match=f"no Parquet frame at {store.uri('absent')}"):
        store.read("absent")
