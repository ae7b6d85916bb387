"""Walk-forward splits over dates with a purge and an embargo (de Prado, AFML ch. 7).

A label on day t looks ``horizon`` trading days ahead, so a training row within ``purge``
days before the test block would overlap it: those rows are dropped. Rows within ``embargo``
days after a test block are dropped from every later training set too, so serial
correlation right after a test period cannot leak back into a model scored on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Fold:
    number: int
    train_index: np.ndarray
    test_index: np.ndarray
    test_start: pd.Timestamp
    test_end: pd.Timestamp


class PurgedWalkForward:
    """Expanding-window walk-forward folds over the unique dates of a panel.

    Parameters
    ----------
    n_splits : number of consecutive test blocks covering the dates after ``min_train_days``.
    min_train_days : trading days in the first training window.
    purge_days : trading days dropped between training and each test block (>= label horizon).
    embargo_days : trading days after each test block kept out of later training sets.
    """

    def __init__(
        self,
        n_splits: int = 5,
        min_train_days: int = 1260,
        purge_days: int = 5,
        embargo_days: int = 5,
    ) -> None:
        self.n_splits = n_splits
        self.min_train_days = min_train_days
        self.purge_days = purge_days
        self.embargo_days = embargo_days

    def split(self, dates: pd.Series) -> Iterator[Fold]:
        days = np.sort(pd.to_datetime(dates).unique())
        if len(days) < self.min_train_days + self.purge_days + self.n_splits:
            raise ValueError(
                f"{len(days)} trading days cannot hold a {self.min_train_days}-day first "
                f"training window, a {self.purge_days}-day purge and {self.n_splits} test blocks"
            )
        day_of_row = np.searchsorted(days, pd.to_datetime(dates).to_numpy())
        blocks = np.array_split(np.arange(self.min_train_days, len(days)), self.n_splits)
        embargoed = np.zeros(len(days), dtype=bool)
        for number, block in enumerate(blocks):
            first, last = block[0], block[-1]
            train_days = np.arange(0, max(first - self.purge_days, 0))
            train_days = train_days[~embargoed[train_days]]
            yield Fold(
                number=number,
                train_index=np.flatnonzero(np.isin(day_of_row, train_days)),
                test_index=np.flatnonzero((day_of_row >= first) & (day_of_row <= last)),
                test_start=pd.Timestamp(days[first]),
                test_end=pd.Timestamp(days[last]),
            )
            embargoed[last + 1 : last + 1 + self.embargo_days] = True
