"""Market data sources: real prices that ship inside packages, or a user's own file.

Plain Python with no Dagster import; the ``raw_prices`` asset calls it. Every source
returns the same long frame: one row per symbol per day with the columns in
``PRICE_FRAME_COLUMNS`` (``open``, ``high``, ``low`` and ``volume`` may be NaN where a
source has none). A user's file is parsed strictly: the first bad cell ends the load with
a ``MarketDataError`` that names the file, the row and the column, before anything is
written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PRICE_FIELDS = ("open", "high", "low", "close")
OPTIONAL_FIELDS = ("open", "high", "low", "volume")
REQUIRED_FIELDS = ("date", "symbol", "close")
PRICE_FRAME_COLUMNS = ["date", "symbol", "open", "high", "low", "close", "volume"]
BUILTIN_SOURCES = ("sp500", "arch")


class MarketDataError(ValueError):
    """A user's market data file cannot be loaded; says where and why."""

    def __init__(
        self, source: str, message: str, row: int | None = None, column: str | None = None
    ) -> None:
        self.source = source
        self.row = row
        self.column = column
        where = [source]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass(frozen=True)
class MarketData:
    prices: pd.DataFrame
    benchmark_symbol: str | None
    source: str


def load_market_data(
    spec: str, benchmark_symbol: str | None = None, endpoint_url: str | None = None
) -> MarketData:
    """Load prices named by ``spec``: ``sp500``, ``arch``, ``csv:PATH`` or ``parquet:PATH``,
    where PATH may be ``s3://bucket/key`` on the store at ``endpoint_url`` (None: AWS), so
    that ingestion reads a user's file on whichever worker or machine it runs."""
    kind, _, path = spec.partition(":")
    if kind == "sp500" and not path:
        return _load_sp500()
    if kind == "arch" and not path:
        return _load_arch()
    if kind in ("csv", "parquet") and path:
        prices = read_price_file(path, kind, endpoint_url)
        benchmark = benchmark_symbol if benchmark_symbol in set(prices["symbol"]) else None
        return MarketData(prices, benchmark, spec)
    raise MarketDataError(
        spec, "unknown market data source; use sp500, arch, csv:PATH or parquet:PATH"
    )


def _load_sp500() -> MarketData:
    """skfolio's adjusted daily closes of 20 S&P 500 stocks and the S&P 500 index, 1990-2022."""
    from skfolio.datasets import load_sp500_dataset, load_sp500_index

    wide = load_sp500_dataset().join(load_sp500_index(), how="outer")
    long = wide.rename_axis(index="date", columns="symbol").stack().rename("close")
    prices = long.reset_index()
    return MarketData(_to_frame(prices), "SP500", "sp500")


def _load_arch() -> MarketData:
    """arch's daily OHLCV of the S&P 500 and NASDAQ composite indices, 1999-2018."""
    from arch.data import nasdaq, sp500

    frames = []
    for symbol, module in (("SP500", sp500), ("NASDAQ", nasdaq)):
        raw = module.load().rename(columns=str.lower).rename_axis("date").reset_index()
        frames.append(raw.assign(symbol=symbol))
    return MarketData(_to_frame(pd.concat(frames)), "SP500", "arch")


def _to_frame(prices: pd.DataFrame) -> pd.DataFrame:
    frame = prices.reindex(columns=PRICE_FRAME_COLUMNS).dropna(subset=["close"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.normalize()
    frame["symbol"] = frame["symbol"].astype(str)
    for column in (*PRICE_FIELDS, "volume"):
        frame[column] = frame[column].astype("float64")
    return frame.sort_values(["symbol", "date"], ignore_index=True)


def read_price_file(path: Path | str, kind: str, endpoint_url: str | None = None) -> pd.DataFrame:
    """Parse a user's long-format price file (a local path or an ``s3://`` URI on the store
    at ``endpoint_url``) strictly; raise on the first bad cell. A store that cannot be
    reached raises its own error, not "file not found"."""
    from pyarrow import fs

    from features.parquet_store import resolve

    source = str(path)
    filesystem, located = resolve(source, endpoint_url)
    found = filesystem.get_file_info(located).type
    if found == fs.FileType.Directory:
        raise MarketDataError(source, "is a folder; name the price file in it")
    if found != fs.FileType.File:
        raise MarketDataError(source, "file not found")
    try:
        with filesystem.open_input_file(located) as handle:
            if kind == "csv":
                raw = pd.read_csv(handle, dtype=str, keep_default_na=False)
            else:
                raw = pd.read_parquet(handle)
    except Exception as exc:  # the parser's own message, with our file name in front
        raise MarketDataError(source, f"cannot be read as {kind}: {exc}") from exc
    raw.columns = [str(column).strip().lower() for column in raw.columns]
    # Rows are numbered as a person finds them: in a CSV, the line in the file (header = 1).
    first_row = 2 if kind == "csv" else 1

    missing = [column for column in REQUIRED_FIELDS if column not in raw.columns]
    if missing:
        raise MarketDataError(
            source,
            f"missing required column(s) {', '.join(missing)}; "
            f"found {', '.join(raw.columns) or 'none'}",
            column=missing[0],
        )

    def fail(mask: pd.Series, column: str, message: str) -> None:
        bad = np.flatnonzero(mask.to_numpy())
        if len(bad):
            row = int(bad[0])
            value = raw[column].iloc[row]
            more = f" ({len(bad) - 1} more rows like it)" if len(bad) > 1 else ""
            raise MarketDataError(
                source, f"{message}: {value!r}{more}", row=row + first_row, column=column
            )

    def is_blank(column: str) -> pd.Series:
        values = raw[column]
        return values.isna() | values.astype(str).str.strip().eq("")

    frame = pd.DataFrame(index=raw.index)
    fail(is_blank("symbol"), "symbol", "missing symbol")
    frame["symbol"] = raw["symbol"].astype(str).str.strip()

    fail(is_blank("date"), "date", "missing date")
    dates = pd.to_datetime(raw["date"].astype(str).str.strip(), errors="coerce", format="ISO8601")
    fail(dates.isna(), "date", "unparsable date (expected ISO 8601, e.g. 2024-03-28)")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    frame["date"] = dates.dt.normalize()

    for column in ("close", *OPTIONAL_FIELDS):
        if column not in raw.columns:
            frame[column] = np.nan
            continue
        blank = is_blank(column)
        if column == "close":
            fail(blank, column, "missing price")
        numbers = pd.to_numeric(raw[column].where(~blank), errors="coerce")
        fail(numbers.isna() & ~blank, column, "not a number")
        fail(~np.isfinite(numbers) & ~blank, column, "not a finite number")
        if column in PRICE_FIELDS:
            fail(numbers <= 0, column, "price must be greater than 0")
        else:
            fail(numbers < 0, column, "volume must not be negative")
        frame[column] = numbers.astype("float64")

    duplicated = frame.duplicated(["symbol", "date"], keep="first")
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        key = frame.loc[row, ["symbol", "date"]]
        first = frame.index[(frame["symbol"] == key["symbol"]) & (frame["date"] == key["date"])][0]
        raise MarketDataError(
            source,
            f"duplicate (symbol, date) = ({key['symbol']}, {key['date'].date()}), "
            f"first seen at row {int(first) + first_row}",
            row=row + first_row,
            column="date",
        )
    return _to_frame(frame)
