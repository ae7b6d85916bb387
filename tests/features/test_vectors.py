"""What a replayed session publishes at its open, and the serving window the drift checks
read: the same rows (windows included) as the whole history's, computed from the recent
rows only."""

import pandas as pd
import pytest

from features.parquet_store import ParquetStore
from features.vectors import analyst_feature_rows, analyst_rows_before, analyst_serving_rows
from features.windows import serving_window


@pytest.mark.parametrize("day", ["2020-09-01", "2021-07-06", "2023-01-03"])
def test_the_rows_before_a_session_equal_the_full_historys_rows_of_that_close(daily_graph, day):
    space, _, _ = daily_graph
    full = analyst_feature_rows(space.export_store)
    cutoff = pd.Timestamp(day, tz="UTC")
    last = full.loc[full["event_timestamp"] < cutoff, "event_timestamp"].max()
    expected = full[full["event_timestamp"] == last].sort_values("symbol").reset_index(drop=True)
    got = (
        analyst_rows_before(space.export_store, cutoff).sort_values("symbol").reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(got[expected.columns], expected)


def test_no_rows_before_the_first_close(daily_graph):
    space, _, _ = daily_graph
    assert analyst_rows_before(space.export_store, pd.Timestamp("2000-01-03", tz="UTC")).empty


@pytest.fixture(scope="module")
def ragged_exports(daily_graph, tmp_path_factory) -> ParquetStore:
    """The daily graph's exports with one name delisted 30 sessions before the end, one
    listed 8 sessions before it (its windows reach before its first row) and one missing a
    day inside the window, rows shuffled: the serving window must not assume a full panel."""
    space, _, _ = daily_graph
    daily = space.export_store.read("fct_daily_features")
    days = sorted(daily["event_timestamp"].unique())
    cut = (
        ((daily["symbol"] == "AAPL") & (daily["event_timestamp"] > days[-30]))
        | ((daily["symbol"] == "JNJ") & (daily["event_timestamp"] < days[-8]))
        | ((daily["symbol"] == "CVX") & (daily["event_timestamp"] == days[-5]))
    )
    store = ParquetStore(str(tmp_path_factory.mktemp("ragged")))
    store.write("fct_daily_features", daily[~cut].sample(frac=1.0, random_state=0))
    store.write("fct_market_features", space.export_store.read("fct_market_features"))
    return store


@pytest.mark.parametrize("sessions", [1, 5, 40, 63, 100_000])
def test_the_serving_rows_equal_the_whole_historys_serving_window(ragged_exports, sessions):
    expected = serving_window(analyst_feature_rows(ragged_exports), sessions)
    got = analyst_serving_rows(ragged_exports, sessions)
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, expected)
