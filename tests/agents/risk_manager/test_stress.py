"""The crisis moves, read by position from arrays, are pandas' label-sliced definition."""

import numpy as np
import pandas as pd
import pytest

from agents.risk_manager.stress import CRISES, crisis_moves


def moves_by_labels(prices: pd.DataFrame, index: pd.Series | None) -> dict:
    """The definition, written with pandas' own label slices (the code before it read
    positions): per window, the index's return and each column's move and coverage."""
    out = {}
    for name, (start, end) in CRISES.items():
        window = prices.loc[start:end]
        if len(window) < 2:
            continue
        index_window = index.loc[start:end] if index is not None else pd.Series(dtype=float)
        index_return = (
            float(index_window.iloc[-1] / index_window.iloc[0] - 1)
            if len(index_window) >= 2
            else 0.0
        )
        first, last = window.iloc[0], window.ffill().iloc[-1]
        covered = (first.notna() & (window.notna().sum() >= 2)).to_numpy()
        out[name] = (index_return, np.where(covered, (last / first - 1).to_numpy(), index_return),
                     covered)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def closes(sp500_prices) -> pd.DataFrame:
    wide = sp500_prices.pivot(index="date", columns="symbol", values="close")
    wide.index = pd.to_datetime(wide.index)
    return wide


def assert_same(moves: list, expected: dict) -> None:
    assert [m.scenario for m in moves] == list(expected)
    for m in moves:
        index_return, by_labels, covered = expected[m.scenario]
        assert m.index_return == index_return
        np.testing.assert_array_equal(m.moves, by_labels)
        np.testing.assert_array_equal(m.covered, covered)


def test_crisis_moves_are_the_label_definition_on_real_prices_with_gaps(closes):
    """Names listed after a crisis began, prices missing inside a window and at its end,
    and histories that stop inside a window or before it: the same numbers, bit for bit."""
    index = closes["SP500"]
    gappy = closes.drop(columns="SP500")
    gappy.loc["2008-03-01":"2008-06-30", gappy.columns[0]] = np.nan
    gappy.loc["2009-03-02":"2009-03-09", gappy.columns[1]] = np.nan  # no close at the end
    gappy.loc[:"2007-10-09", gappy.columns[2]] = np.nan  # listed the day after it began
    gappy.loc["1998-07-20":"1998-10-08", gappy.columns[3]] = np.nan  # a first price only
    for history in (gappy, gappy[:"2008-06-30"], gappy[:"2000-01-31"], gappy[:"1998-06-30"]):
        history_index = index.loc[: history.index[-1]] if index is not None else None
        assert_same(crisis_moves(history, history_index), moves_by_labels(history, history_index))
        assert_same(crisis_moves(history), moves_by_labels(history, None))


def test_crisis_windows_keep_whole_days_on_any_kind_of_date_index(closes):
    """Bars inside a window's last day count (as a label slice's whole day); an index of
    dates, a timezone or an unsorted index are sliced by pandas itself."""
    names = closes.drop(columns="SP500").iloc[:, :3]["2007-09-01":"2009-06-30"]
    intraday = names.copy()
    intraday.index = intraday.index + pd.Timedelta(hours=16)
    dates = names.copy()
    dates.index = dates.index.date.astype(object)
    zoned = names.tz_localize("America/New_York")
    for history in (names, intraday, zoned):
        assert_same(crisis_moves(history), moves_by_labels(history, None))
    by_position = {m.scenario: m.moves for m in crisis_moves(names)}
    for m in crisis_moves(intraday):
        np.testing.assert_array_equal(m.moves, by_position[m.scenario])
    # As pandas: date objects do not compare with strings, and an unsorted index cannot be
    # sliced between dates it lacks.
    for history, error in ((dates, TypeError), (names.iloc[::-1], KeyError)):
        with pytest.raises(error):
            moves_by_labels(history, None)
        with pytest.raises(error):
            crisis_moves(history)
