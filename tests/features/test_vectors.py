"""What a replayed session publishes at its open: the rows of the last close before it, the
same rows (windows included) as the whole history's, computed from the recent rows only."""

import pandas as pd
import pytest

from features.vectors import analyst_feature_rows, analyst_rows_before


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
