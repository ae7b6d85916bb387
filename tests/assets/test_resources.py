"""The resources' own behaviour, apart from the assets that take them."""

import pandas as pd
import pytest

from assets.resources import FeastStore, Warehouse


def test_the_training_set_reads_what_the_store_keeps_and_a_missing_one_names_its_writer(
    tmp_path,
):
    feast = FeastStore(exports_dir=str(tmp_path), training_root=str(tmp_path / "training"))
    with pytest.raises(FileNotFoundError) as missing:
        feast.training_set("market_analyst_v2")
    assert str(tmp_path / "training" / "market_analyst_v2.parquet") in str(missing.value)
    assert "training_set asset writes it" in str(missing.value)

    rows = pd.DataFrame({"symbol": ["AAA", "BBB"], "label": [0.01, -0.02]})
    feast.training_sets.write("market_analyst_v2", rows)
    pd.testing.assert_frame_equal(feast.training_set("market_analyst_v2"), rows)


def test_the_warehouse_reads_the_staged_market_from_its_store_when_it_has_one(
    daily_graph, tmp_path
):
    from features.ingestion.staged import keep_staged_market

    space, _, _ = daily_graph
    from_file = Warehouse(path=str(space.warehouse)).staged_market()
    on_store = Warehouse(path=str(tmp_path / "absent.duckdb"), staged_root=str(tmp_path / "s"))
    with pytest.raises(FileNotFoundError):  # nothing kept yet, and no file to fall back on
        on_store.staged_market()
    keep_staged_market(from_file, on_store.staged_store)
    kept = on_store.staged_market()
    pd.testing.assert_frame_equal(kept.prices, from_file.prices, check_exact=True)
    pd.testing.assert_frame_equal(kept.symbols, from_file.symbols, check_exact=True)
