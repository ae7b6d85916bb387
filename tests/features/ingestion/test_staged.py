"""The staged market kept on a store reads back as the warehouse gives it: what lets the
distributed profile's decision runs and training steps read it without the warehouse's file."""

import duckdb
import pandas as pd
import pytest

from features.ingestion.staged import (
    keep_staged_market,
    load_staged_market,
    read_staged_market,
)
from features.parquet_store import ParquetStore


def test_the_staged_market_kept_on_a_store_reads_back_as_the_warehouse_gives_it(
    daily_graph, tmp_path
):
    space, _, _ = daily_graph
    with duckdb.connect(str(space.warehouse), read_only=True) as con:
        staged = read_staged_market(con)
    store = ParquetStore(str(tmp_path / "staged"))
    keep_staged_market(staged, store)
    kept = load_staged_market(store)
    assert len(kept.prices) > 0 and kept.benchmark_symbol == "SP500"
    pd.testing.assert_frame_equal(kept.prices, staged.prices, check_exact=True)
    pd.testing.assert_frame_equal(kept.symbols, staged.symbols, check_exact=True)


def test_a_store_without_a_staged_market_names_the_missing_object(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"stg_prices\.parquet"):
        load_staged_market(ParquetStore(str(tmp_path)))
