"""The raw price tables in the DuckDB warehouse: append-only, with an audit of every batch.

``raw.prices`` only ever grows by (symbol, date) keys it has not seen, so re-running on a
file with extra days appends those days and leaves history untouched. A batch that fails a
blocking quality check goes to ``raw.rejected_prices`` instead, and every attempt, good or
bad, is a row of ``raw.ingestion_batches``: nothing offered is lost, nothing bad is served.
No Dagster import.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from features.ingestion.market_data import PRICE_FRAME_COLUMNS

_SCHEMA = """
create schema if not exists raw;
create table if not exists raw.prices (
    symbol varchar not null, date date not null,
    open double, high double, low double, close double not null, volume double,
    batch_id varchar not null,
    primary key (symbol, date)
);
create table if not exists raw.rejected_prices (
    symbol varchar, date date,
    open double, high double, low double, close double, volume double,
    batch_id varchar not null
);
create table if not exists raw.symbols (
    symbol varchar primary key, role varchar not null  -- 'asset' or 'benchmark'
);
create table if not exists raw.ingestion_batches (
    batch_id varchar primary key, source varchar not null, started_at timestamp not null,
    status varchar not null,  -- appended | unchanged | rejected | invalid_file
    rows_offered bigint, rows_new bigint, rows_appended bigint, reason varchar
);
"""


@dataclass(frozen=True)
class StoredState:
    """What the table holds before a batch lands, as the quality checks need it."""

    last_close: pd.Series  # by symbol
    newest_dates: pd.Series  # by symbol
    row_count: int


def connect(path: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path, read_only=read_only)
    if not read_only:
        _run(con, _SCHEMA)
    return con


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> None:
    """Execute a statement that returns no rows; DuckDB 2 wants every result consumed."""
    con.execute(sql, params).fetchall()


def new_batch_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def stored_state(con: duckdb.DuckDBPyConnection) -> StoredState:
    latest = con.execute(
        "select symbol, max(date) as newest, arg_max(close, date) as last_close "
        "from raw.prices group by symbol"
    ).df()
    count = con.execute("select count(*) from raw.prices").fetchall()[0][0]
    latest["newest"] = pd.to_datetime(latest["newest"])
    indexed = latest.set_index("symbol")
    return StoredState(indexed["last_close"], indexed["newest"], int(count))


def unseen_rows(con: duckdb.DuckDBPyConnection, prices: pd.DataFrame) -> pd.DataFrame:
    """Rows whose (symbol, date) the table has not stored yet; history is never rewritten."""
    con.register("offered", prices[PRICE_FRAME_COLUMNS])
    try:
        return con.execute(
            "select o.* from offered o anti join raw.prices p "
            "on p.symbol = o.symbol and p.date = o.date::date order by o.symbol, o.date"
        ).df()
    finally:
        con.unregister("offered")


def record_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_id: str,
    source: str,
    status: str,
    rows_offered: int | None = None,
    rows_new: int | None = None,
    rows_appended: int = 0,
    reason: str | None = None,
) -> None:
    _run(
        con,
        "insert into raw.ingestion_batches values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            source,
            datetime.now(UTC).replace(tzinfo=None),
            status,
            rows_offered,
            rows_new,
            rows_appended,
            reason,
        ],
    )


def append_batch(
    con: duckdb.DuckDBPyConnection,
    batch: pd.DataFrame,
    *,
    batch_id: str,
    benchmark_symbol: str | None,
) -> None:
    """Append new rows and register their symbols, in one transaction."""
    _run(con, "begin transaction")
    try:
        con.register("batch", batch[PRICE_FRAME_COLUMNS])
        _run(
            con,
            "insert into raw.prices select symbol, date::date, open, high, low, close, volume, ? "
            "from batch",
            [batch_id],
        )
        _run(
            con,
            "insert into raw.symbols select distinct symbol, 'asset' from batch "
            "where symbol not in (select symbol from raw.symbols)",
        )
        if benchmark_symbol:
            _run(
                con,
                "update raw.symbols set role = 'benchmark' where symbol = ?",
                [benchmark_symbol],
            )
        _run(con, "commit")
    except Exception:
        _run(con, "rollback")
        raise
    finally:
        con.unregister("batch")


def quarantine_batch(con: duckdb.DuckDBPyConnection, batch: pd.DataFrame, batch_id: str) -> None:
    con.register("batch", batch[PRICE_FRAME_COLUMNS])
    try:
        _run(
            con,
            "insert into raw.rejected_prices select symbol, date::date, open, high, low, close, "
            "volume, ? from batch",
            [batch_id],
        )
    finally:
        con.unregister("batch")
