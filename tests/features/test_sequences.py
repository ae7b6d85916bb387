"""The sequence models' windows: each lag is the symbol's own earlier value, never a later
one, and training and serving build them with the same function."""

import numpy as np
import pandas as pd
import pytest

from features.names import SEQUENCE_COLUMNS, SEQUENCE_DAYS, SEQUENCE_FEATURES
from features.sequences import as_windows, with_sequence_windows


def panel(days: int = 40, symbols=("AAA", "BBB", "CCC"), seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stamps = pd.bdate_range("2021-01-04", periods=days, tz="UTC") + pd.Timedelta(hours=21)
    rows = pd.DataFrame(
        [(s, t) for t in stamps for s in symbols], columns=["symbol", "event_timestamp"]
    )
    for name in SEQUENCE_FEATURES:
        rows[name] = rng.normal(size=len(rows))
    return rows.sample(frac=1.0, random_state=seed)  # any row order


def test_lag_k_is_the_symbols_own_value_k_rows_earlier_and_order_is_kept():
    rows = panel()
    windowed = with_sequence_windows(rows)
    assert list(windowed.index) == list(rows.index)
    for _, own in windowed.groupby("symbol"):
        own = own.sort_values("event_timestamp")
        for lag in (0, 1, 7, SEQUENCE_DAYS - 1):
            for name in (SEQUENCE_FEATURES[0], SEQUENCE_FEATURES[-1]):
                expected = own[name].shift(lag).to_numpy()
                np.testing.assert_array_equal(own[f"{name}_lag{lag}"].to_numpy(), expected)
    first = windowed.sort_values("event_timestamp").groupby("symbol").head(1)
    assert first[f"{SEQUENCE_FEATURES[0]}_lag1"].isna().all()  # nothing before the first row


def test_no_window_on_day_t_changes_when_every_later_row_is_altered_or_removed():
    rows = panel()
    cut = rows["event_timestamp"].sort_values().iloc[len(rows) // 2]
    altered = rows.copy()
    later = altered["event_timestamp"] > cut
    altered.loc[later, SEQUENCE_FEATURES] *= -3.0
    truncated = rows[~later]
    base = with_sequence_windows(rows)
    for other in (with_sequence_windows(altered), with_sequence_windows(truncated)):
        kept = other.index[other["event_timestamp"] <= cut]
        pd.testing.assert_frame_equal(
            base.loc[kept, SEQUENCE_COLUMNS], other.loc[kept, SEQUENCE_COLUMNS]
        )
    # the alteration reaches the later windows, so the comparison can fail
    changed = with_sequence_windows(altered)
    assert not np.allclose(
        base.loc[later, SEQUENCE_COLUMNS].to_numpy(),
        changed.loc[later, SEQUENCE_COLUMNS].to_numpy(),
        equal_nan=True,
    )


def test_windows_reshape_oldest_day_first():
    rows = with_sequence_windows(panel())
    cube = as_windows(rows)
    assert cube.shape == (len(rows), SEQUENCE_DAYS, len(SEQUENCE_FEATURES))
    np.testing.assert_allclose(
        cube[:, -1, 0], rows[f"{SEQUENCE_FEATURES[0]}_lag0"].to_numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(
        cube[:, 0, 1],
        rows[f"{SEQUENCE_FEATURES[1]}_lag{SEQUENCE_DAYS - 1}"].to_numpy(),
        rtol=1e-6,
    )


def test_rows_without_a_window_feature_are_refused_with_its_name():
    rows = panel().drop(columns=[SEQUENCE_FEATURES[2]])
    with pytest.raises(ValueError, match=SEQUENCE_FEATURES[2]):
        with_sequence_windows(rows)
