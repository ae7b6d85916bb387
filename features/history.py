"""What the online store would have served at a past moment, read from the dbt exports.

A backtest replays decades: publishing every close into Feast's online store first would
cost more than the decisions. This reader answers the desk's ``read(symbols, as_of)`` the
way ``OnlineFeatureReader`` does (the newest close stamped at or before ``as_of``, nothing
older than the views' TTL, NaN otherwise) straight from the exported feature rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features.names import ANALYST_INPUTS, DAILY_TTL
from features.online_features import OnlineFeatures


class HistoricalFeatureReader:
    features = ANALYST_INPUTS

    def __init__(self, rows: pd.DataFrame, ttl: timedelta = DAILY_TTL) -> None:
        """``rows``: symbol, event_timestamp (UTC) and the ANALYST_INPUTS columns."""
        stamps = pd.to_datetime(rows["event_timestamp"], utc=True).dt.tz_localize(None)
        frame = rows.assign(event_timestamp=stamps).sort_values("event_timestamp", kind="stable")
        # One sorted array and each stamp's row range: a day's frame is cut when it is read
        # (a backtest reads a few hundred of the ~8,000 closes; building them all took
        # longer than the decisions).
        self._stamps, self._starts = np.unique(
            frame["event_timestamp"].to_numpy(), return_index=True
        )
        self._ends = np.append(self._starts[1:], len(frame))
        self._symbols = frame["symbol"].to_numpy()
        self._values = frame[ANALYST_INPUTS].to_numpy(dtype=float)
        self.ttl = ttl

    def _day(self, position: int) -> pd.DataFrame:
        rows = slice(self._starts[position], self._ends[position])
        return pd.DataFrame(
            self._values[rows], index=self._symbols[rows], columns=list(ANALYST_INPUTS)
        )

    def read(self, symbols: Sequence[str], as_of: datetime | None = None) -> OnlineFeatures:
        """Each symbol's newest row stamped at or before ``as_of`` and within the TTL."""
        symbols = list(symbols)
        values = np.full((len(symbols), len(self.features)), np.nan)
        moment = np.datetime64(as_of) if as_of is not None else self._stamps[-1]
        position = int(np.searchsorted(self._stamps, moment, side="right"))
        filled = np.zeros(len(symbols), dtype=bool)
        newest = None
        oldest_allowed = moment - np.timedelta64(self.ttl)
        while position > 0 and not filled.all():
            position -= 1
            stamp = self._stamps[position]
            if stamp < oldest_allowed:
                break
            day = self._day(position).reindex(symbols)
            found = day.notna().any(axis=1).to_numpy() & ~filled
            if found.any():
                values[found] = day.to_numpy(dtype=float)[found]
                filled |= found
                newest = newest or pd.Timestamp(stamp).to_pydatetime()
        return OnlineFeatures(values, symbols, list(self.features), newest)
