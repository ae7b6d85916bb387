"""The snapshot's derived views of the market: the previous closes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agents.desk.steps import last_present


def test_last_present_is_each_columns_last_price_as_a_forward_fill_gives_it():
    rng = np.random.default_rng(7)
    values = rng.normal(100.0, 5.0, (40, 6))
    values[-1, 1] = np.nan  # missing on the last session only
    values[-15:, 2] = np.nan  # stopped trading weeks ago
    values[:, 3] = np.nan  # never traded
    values[:10, 4] = np.nan  # listed late
    values[::3, 5] = np.nan  # gaps, present on the last session
    frame = pd.DataFrame(
        values,
        index=pd.bdate_range("2018-01-02", periods=40),
        columns=["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"],
    )

    expected = frame.ffill().iloc[-1]
    got = last_present(frame)

    pd.testing.assert_series_equal(got, expected)
    assert got["BBB"] == values[-2, 1] and got["CCC"] == values[-16, 2]
    assert np.isnan(got["DDD"])


@pytest.mark.parametrize("rows", [1, 2])
def test_last_present_on_a_short_history_with_a_missing_name(rows):
    frame = pd.DataFrame(
        {"AAA": [np.nan] * rows, "BBB": [10.0 + i for i in range(rows)]},
        index=pd.bdate_range("2020-01-02", periods=rows),
    )
    pd.testing.assert_series_equal(last_present(frame), frame.ffill().iloc[-1])
