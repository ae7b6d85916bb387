"""Packing a service's features into one vector per (symbol, time) for the fast online read."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.names import ANALYST_INPUTS, MARKET_FEATURES, SEQUENCE_DAYS
from features.sequences import with_sequence_windows
from features.windows import serving_window, session_dates

if TYPE_CHECKING:
    from features.parquet_store import ParquetStore


def analyst_feature_rows(exports: ParquetStore) -> pd.DataFrame:
    """symbol, event_timestamp (UTC) and every ANALYST_INPUTS column, one row per symbol
    and close: the values the analyst is served, as the dbt exports hold them."""
    daily = exports.read("fct_daily_features")
    market = exports.read("fct_market_features")
    rows = _joined(daily, market)
    rows["event_timestamp"] = pd.to_datetime(rows["event_timestamp"], utc=True)
    return rows


def analyst_rows_before(exports: ParquetStore, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The rows ``analyst_feature_rows`` holds for the last close before ``cutoff`` (UTC),
    computed from the last SEQUENCE_DAYS rows of each symbol only (all its windows reach):
    what a replayed session publishes at its open, without building every day's windows."""
    daily = exports.read("fct_daily_features")
    stamps = pd.to_datetime(daily["event_timestamp"], utc=True)
    # Chosen on the keys, then taken once: filtering and sorting the whole frame (every
    # feature column) first cost a decision run about half a second.
    recent = _last_rows(daily, stamps, (stamps < cutoff).to_numpy(), SEQUENCE_DAYS)
    rows = _joined(daily.iloc[recent], exports.read("fct_market_features"))
    rows["event_timestamp"] = pd.to_datetime(rows["event_timestamp"], utc=True)
    last = rows["event_timestamp"] == rows["event_timestamp"].max()  # every symbol's last row
    return rows[last].reset_index(drop=True)


def analyst_serving_rows(exports: ParquetStore, sessions: int) -> pd.DataFrame:
    """``serving_window(analyst_feature_rows(exports), sessions)``: the same rows, windows
    and order, computed from the window's rows and each symbol's last SEQUENCE_DAYS - 1
    rows before it only (the furthest lag a window reaches). The drift checks read the
    serving window alone; building every day's windows for them cost seconds a call, the
    sensor's on every tick."""
    daily = exports.read("fct_daily_features")
    stamps = pd.to_datetime(daily["event_timestamp"], utc=True)
    days = session_dates(stamps)
    window_days = np.sort(days.unique())[-sessions:]
    inside = days >= window_days[0] if len(window_days) else days.notna()
    keep = inside.to_numpy().copy()
    keep[_last_rows(daily, stamps, ~keep, SEQUENCE_DAYS - 1)] = True
    kept = daily[keep]  # the exports' row order kept
    rows = _joined(kept, exports.read("fct_market_features"))
    rows["event_timestamp"] = pd.to_datetime(rows["event_timestamp"], utc=True)
    return serving_window(rows, sessions)


def _last_rows(daily: pd.DataFrame, stamps: pd.Series, among: np.ndarray, count: int) -> np.ndarray:
    """Positions in ``daily`` of each symbol's last ``count`` rows among those ``among``
    marks, in (symbol, time) order, chosen on the keys alone (no feature column copied)."""
    keys = pd.DataFrame(
        {"symbol": daily["symbol"], "stamp": stamps, "position": np.arange(len(daily))}
    )[among]
    ordered = keys.sort_values(["symbol", "stamp"], kind="stable")
    return ordered.groupby("symbol").tail(count)["position"].to_numpy()


def _joined(daily: pd.DataFrame, market: pd.DataFrame) -> pd.DataFrame:
    joined = daily.merge(
        market[["event_timestamp", *MARKET_FEATURES]], on="event_timestamp", how="left"
    )
    return with_sequence_windows(joined)


def pack_analyst_vectors(daily: pd.DataFrame, market: pd.DataFrame) -> pd.DataFrame:
    """(symbol, event_timestamp, values) with values in ANALYST_INPUTS order, NaN = missing.

    Market features are the same for every symbol on a day; they are joined by time so one
    read per symbol returns the whole service.
    """
    joined = _joined(daily, market)
    matrix = joined[ANALYST_INPUTS].to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(
        {
            "symbol": joined["symbol"].to_numpy(),
            "event_timestamp": joined["event_timestamp"].to_numpy(),
            "values": list(matrix),
        }
    )


def write_analyst_vectors(exports: ParquetStore) -> str:
    """Packs the exported daily and market features into ``analyst_vectors`` beside them
    (the source of the packed feature views) and returns its URI."""
    vectors = pack_analyst_vectors(
        exports.read("fct_daily_features"), exports.read("fct_market_features")
    )
    return exports.write("analyst_vectors", vectors)
