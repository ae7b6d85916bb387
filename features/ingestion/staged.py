"""Reading the staged market data (dbt's ``staging.stg_prices`` and ``stg_symbols``): the one
place that SQL is written, for the desk, its models' training and the backtest; and keeping
them as Parquet on a store (``ParquetStore``), where a profile whose steps share no disk
reads them instead of the warehouse's file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

if TYPE_CHECKING:
    from features.parquet_store import ParquetStore

# The names the staged tables are kept under on a store, as dbt names them.
STAGED_PRICES, STAGED_SYMBOLS = "stg_prices", "stg_symbols"


@dataclass(frozen=True)
class StagedMarket:
    prices: pd.DataFrame  # long: every staged column, ordered by date then symbol
    symbols: pd.DataFrame  # symbol, sector, role ('asset' or 'benchmark')

    @property
    def benchmark_symbol(self) -> str | None:
        """The market index, if the data have one (a user's file may not)."""
        index = self.symbols.loc[self.symbols["role"] == "benchmark", "symbol"].tolist()
        return index[0] if index else None

    @property
    def sectors(self) -> dict[str, str]:
        return dict(zip(self.symbols["symbol"], self.symbols["sector"], strict=True))

    def asset_prices(self) -> pd.DataFrame:
        """The tradable names' rows only (no index), dates as timestamps."""
        assets = set(self.symbols.loc[self.symbols["role"] == "asset", "symbol"])
        rows = self.prices.loc[self.prices["symbol"].isin(assets)].reset_index(drop=True)
        return rows.assign(date=pd.to_datetime(rows["date"]))


def read_staged_market(con: duckdb.DuckDBPyConnection) -> StagedMarket:
    prices = con.execute("select * from staging.stg_prices order by date, symbol").df()
    # Ordered: unordered, DuckDB returned the names in a different order from run to run, and
    # the benchmarks' optimizers (minimum variance) moved in the fifth digit with it.
    symbols = con.execute(
        "select symbol, sector, role from staging.stg_symbols order by symbol"
    ).df()
    return StagedMarket(prices, symbols)


def keep_staged_market(market: StagedMarket, store: ParquetStore) -> list[str]:
    """Writes both staged tables, as ``read_staged_market`` returned them (ordered, with
    their types), to ``store``; returns their URIs. Parquet gives the same frames back."""
    return [
        store.write(STAGED_PRICES, market.prices),
        store.write(STAGED_SYMBOLS, market.symbols),
    ]


def load_staged_market(store: ParquetStore) -> StagedMarket:
    """The staged market ``keep_staged_market`` kept in ``store``; FileNotFoundError naming
    the missing object when the batch has not kept one there yet."""
    return StagedMarket(store.read(STAGED_PRICES), store.read(STAGED_SYMBOLS))
