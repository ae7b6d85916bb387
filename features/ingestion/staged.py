"""Reading the staged market data (dbt's ``staging.stg_prices`` and ``stg_symbols``): the one
place that SQL is written, for the desk, its models' training and the backtest."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd


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
