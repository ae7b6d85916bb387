"""Stress tests: the proposed weights held through the real crises in the data."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Peak-to-trough windows of the S&P 500 in each crisis (dates from the index's own history).
CRISES = {
    "1998 LTCM and Russia": ("1998-07-17", "1998-10-08"),
    "2000-02 dot-com bust": ("2000-03-24", "2002-10-09"),
    "2008 financial crisis": ("2007-10-09", "2009-03-09"),
    "2020 COVID crash": ("2020-02-19", "2020-03-23"),
    "2022 inflation bear market": ("2022-01-03", "2022-10-12"),
}

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # a crisis bound of whole days, as in CRISES


@dataclass(frozen=True)
class StressResult:
    scenario: str
    start: str
    end: str
    portfolio_return: float  # buy-and-hold over the window
    index_return: float
    coverage: float  # share of the portfolio's weight with real prices in the window


@dataclass(frozen=True)
class CrisisMoves:
    """What each symbol did over one crisis window; a symbol without prices there moves
    with the index (or not at all without one) and is marked as not covered."""

    scenario: str
    start: str
    end: str
    index_return: float
    moves: np.ndarray
    covered: np.ndarray

    def result(self, weights: np.ndarray) -> StressResult:
        weights = np.asarray(weights, dtype=float)
        gross = float(np.abs(weights).sum()) or 1.0
        return StressResult(
            self.scenario,
            self.start,
            self.end,
            float(self.moves @ weights),
            self.index_return,
            float(np.abs(weights[self.covered]).sum()) / gross,
        )


def crisis_moves(
    prices: pd.DataFrame,
    index: pd.Series | None = None,
    crises: dict[str, tuple[str, str]] | None = None,
) -> list[CrisisMoves]:
    """Per crisis window present in ``prices`` (wide, by date): every column's move."""
    # Positions and arrays, not label slices of frames: every session's risk model replays
    # the crises on the whole history, and pandas' per-window slicing was most of its cost.
    values = prices.to_numpy(dtype=float, na_value=np.nan)
    index_values = index.to_numpy(dtype=float, na_value=np.nan) if index is not None else None
    out = []
    for name, (start, end) in (crises or CRISES).items():
        window = values[_window_rows(prices.index, start, end)]
        if len(window) < 2:
            continue
        index_window = (
            index_values[_window_rows(index.index, start, end)]
            if index_values is not None
            else np.empty(0)
        )
        index_return = (
            float(index_window[-1] / index_window[0] - 1) if len(index_window) >= 2 else 0.0
        )
        present = ~np.isnan(window)
        first, last = window[0], last_present_values(window, present)
        # Covered: a price on the window's first day and at least one more after it.
        covered = ~np.isnan(first) & (present.sum(axis=0) >= 2)
        moves = np.where(covered, last / first - 1, index_return)
        out.append(CrisisMoves(name, start, end, index_return, moves, covered))
    return out


def _window_rows(dates: pd.Index, start: str, end: str) -> slice:
    """The rows of ``dates`` that ``.loc[start:end]`` selects: whole days from ``start``
    through ``end``, by binary search on a sorted, naive DatetimeIndex (pandas parses the
    strings on every slice), else by pandas itself."""
    if isinstance(dates, pd.DatetimeIndex) and dates.tz is None and dates.is_monotonic_increasing:
        first = dates.searchsorted(pd.Timestamp(start), side="left")
        after = dates.searchsorted(pd.Timestamp(end) + pd.Timedelta(days=1), side="left")
        return slice(first, after)
    return dates.slice_indexer(start, end)


def last_present_values(window: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Each column's last price in the window (``ffill().iloc[-1]``): NaN without any.
    ``present``: where the window is not NaN."""
    from_end = np.argmax(present[::-1], axis=0)  # rows back from the end to the last price
    last = window[len(window) - 1 - from_end, np.arange(window.shape[1])]
    return np.where(present.any(axis=0), last, np.nan)


def replay_crises(
    prices: pd.DataFrame,
    weights: pd.Series,
    index: pd.Series | None = None,
    crises: dict[str, tuple[str, str]] | None = None,
) -> list[StressResult]:
    """Hold ``weights`` (by symbol) through each crisis window present in ``prices`` (wide,
    by date). A symbol without prices in a window is proxied by the index (or counted as
    flat without one), and ``coverage`` says how much of the weight had real prices."""
    windows = crisis_moves(prices.reindex(columns=weights.index), index, crises)
    return [w.result(weights.to_numpy()) for w in windows]
