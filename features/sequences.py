"""The sequence models' windows: for each (symbol, close), the symbol's last SEQUENCE_DAYS
values of SEQUENCE_FEATURES, oldest first.

Point in time by construction: lag k is the value k of the symbol's own rows earlier (rows
in event_timestamp order), never a later one. Training builds the windows from Feast's
point-in-time training set and serving from the dbt exports, with this one function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.names import SEQUENCE_COLUMNS, SEQUENCE_DAYS, SEQUENCE_FEATURES


def with_sequence_windows(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (symbol, event_timestamp and SEQUENCE_FEATURES) with SEQUENCE_COLUMNS added;
    a window reaching before the symbol's first row is NaN there. Row order is kept."""
    missing = [c for c in ("symbol", "event_timestamp", *SEQUENCE_FEATURES) if c not in rows]
    if missing:
        raise ValueError(f"sequence windows: rows lack columns {missing}")
    order = np.lexsort((pd.to_datetime(rows["event_timestamp"]).to_numpy(), rows["symbol"]))
    ordered = rows.iloc[order]
    values = ordered[SEQUENCE_FEATURES].to_numpy(dtype=np.float64, na_value=np.nan)
    symbols = ordered["symbol"].to_numpy()
    # position of each row within its symbol's run of rows
    starts = np.r_[True, symbols[1:] != symbols[:-1]]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(len(symbols)), 0))
    position = np.arange(len(symbols)) - run_start
    windows = np.full((len(ordered), SEQUENCE_DAYS, len(SEQUENCE_FEATURES)), np.nan)
    for lag in range(SEQUENCE_DAYS):
        column = SEQUENCE_DAYS - 1 - lag  # oldest first
        valid = position >= lag
        source = np.arange(len(ordered)) - lag
        windows[valid, column] = values[source[valid]]
    # Explicit width: no rows (a session before the first close) still has every column.
    flat = np.empty((len(ordered), len(SEQUENCE_COLUMNS)))
    flat[order] = windows.reshape(len(ordered), len(SEQUENCE_COLUMNS))
    added = pd.DataFrame(flat, index=rows.index, columns=SEQUENCE_COLUMNS)
    return pd.concat([rows.drop(columns=SEQUENCE_COLUMNS, errors="ignore"), added], axis=1)


def as_windows(rows: pd.DataFrame) -> np.ndarray:
    """(rows, SEQUENCE_DAYS, len(SEQUENCE_FEATURES)) float32 from the SEQUENCE_COLUMNS."""
    flat = rows[SEQUENCE_COLUMNS].to_numpy(dtype=np.float32, na_value=np.nan)
    return flat.reshape(len(rows), SEQUENCE_DAYS, len(SEQUENCE_FEATURES))
