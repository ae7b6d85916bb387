"""One ingestion batch: load the market data, check it, then append it or quarantine it.

Every attempt is recorded in ``raw.ingestion_batches`` (an unreadable file too), so nothing
offered is lost and nothing that failed a blocking check is served. No Dagster import: the
``raw_prices`` asset calls ``ingest_batch`` and reports the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from features.ingestion import price_store
from features.ingestion.market_data import MarketData, MarketDataError
from monitoring.data_quality import CheckOutcome, QualityThresholds, validate_prices


@dataclass(frozen=True)
class IngestionOutcome:
    batch_id: str
    status: str  # appended | unchanged | rejected
    source: str
    benchmark_symbol: str | None
    rows_offered: int
    rows_new: int
    rows_appended: int
    first_date: date
    checks: list[CheckOutcome]
    blocking_failures: list[str]
    stored_rows: int  # raw.prices after the batch
    stored_symbols: int
    newest_date: date | None
    symbol_rows: int  # raw.symbols after the batch
    stored_benchmark: str | None

    @property
    def rows_quarantined(self) -> int:
        return self.rows_new - self.rows_appended


def ingest_batch(
    con: duckdb.DuckDBPyConnection,
    load: Callable[[], MarketData],
    source_name: str,
    thresholds: QualityThresholds,
    today: date | None = None,
) -> IngestionOutcome:
    """Load, check, then append the unseen rows or quarantine them. A file that cannot be
    read is recorded as ``invalid_file`` and its MarketDataError (naming file, row and
    column) is raised again."""
    batch_id = price_store.new_batch_id()
    try:
        loaded = load()
    except MarketDataError as error:
        price_store.record_batch(
            con, batch_id=batch_id, source=source_name, status="invalid_file", reason=str(error)
        )
        raise
    before = price_store.stored_state(con)
    batch = price_store.unseen_rows(con, loaded.prices)
    newest = _concat([before.newest_dates, batch.groupby("symbol")["date"].max()])
    trading_days = _concat(
        [con.execute("select distinct date from raw.prices").df()["date"], batch["date"]]
    )
    checks = validate_prices(
        batch,
        last_close=before.last_close,
        newest_dates=newest.groupby(level=0).max(),
        trading_days=trading_days,
        today=today or date.today(),
        thresholds=thresholds,
    )
    blocking = [o.name for o in checks if not o.passed and o.severity == "ERROR"]
    common = dict(
        batch_id=batch_id, source=loaded.source, rows_offered=len(loaded.prices),
        rows_new=len(batch),
    )  # fmt: skip
    if blocking:
        price_store.quarantine_batch(con, batch, batch_id)
        price_store.record_batch(con, status="rejected", reason=", ".join(blocking), **common)
        status = "rejected"
    elif len(batch):
        price_store.append_batch(
            con, batch, batch_id=batch_id, benchmark_symbol=loaded.benchmark_symbol
        )
        price_store.record_batch(con, status="appended", rows_appended=len(batch), **common)
        status = "appended"
    else:
        price_store.record_batch(con, status="unchanged", **common)
        status = "unchanged"
    after = price_store.stored_state(con)
    symbol_rows, stored_benchmark = con.execute(
        "select count(*), max(case when role = 'benchmark' then symbol end) from raw.symbols"
    ).fetchall()[0]
    return IngestionOutcome(
        batch_id=batch_id,
        status=status,
        source=loaded.source,
        benchmark_symbol=loaded.benchmark_symbol,
        rows_offered=len(loaded.prices),
        rows_new=len(batch),
        rows_appended=0 if blocking else len(batch),
        first_date=loaded.prices["date"].min().date(),
        checks=checks,
        blocking_failures=blocking,
        stored_rows=after.row_count,
        stored_symbols=len(after.newest_dates),
        newest_date=after.newest_dates.max().date() if after.row_count else None,
        symbol_rows=symbol_rows,
        stored_benchmark=stored_benchmark,
    )


def _concat(parts: list[pd.Series]) -> pd.Series:
    """The parts end to end, leaving out empty ones (the first store's history, a batch of
    only known rows): pandas is changing how an empty part sets the result's type."""
    filled = [part for part in parts if len(part)]
    return pd.concat(filled) if filled else parts[0]
