"""The ``raw_prices`` asset: market data appended to the warehouse behind GE checks."""

from collections.abc import Iterator
from datetime import date

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.ingestion import price_store
from assets.ingestion.market_data import MarketDataError
from monitoring.data_quality import CheckOutcome, QualityThresholds, validate_prices
from orchestration.resources import MarketDataSource, Warehouse

QUALITY_CHECKS = {
    "required_fields_not_null": True,
    "prices_positive": True,
    "ohlc_consistent": True,
    "unique_symbol_date": True,
    "no_future_dates": True,
    "daily_return_outliers": False,
    "symbols_fresh": False,
}  # check name -> blocking (ERROR severity)


class RawPricesConfig(dg.Config):
    max_abs_log_return: float = Field(
        default=QualityThresholds.max_abs_log_return,
        description="A daily |log return| above this is reported as an outlier (WARN).",
    )
    max_stale_trading_days: int = Field(
        default=QualityThresholds.max_stale_trading_days,
        description="A symbol this many trading days behind the newest date is stale (WARN).",
    )


def _check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity[outcome.severity],
        description=outcome.description,
        metadata={
            "failing_rows": outcome.failing_rows,
            "checked_rows": outcome.checked_rows,
            "first_failing_rows": dg.MetadataValue.json(outcome.first_failures),
        },
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "raw_prices",
            group_name="ingestion",
            kinds={"duckdb"},
            description="Daily prices, one row per symbol per day, appended only for (symbol, "
            "date) keys not yet stored. The Great Expectations suite runs on each new batch "
            "before it is committed; a batch failing an ERROR check is quarantined in "
            "raw.rejected_prices and nothing downstream runs.",
        ),
        dg.AssetSpec(
            "raw_symbols",
            group_name="ingestion",
            kinds={"duckdb"},
            description="One row per symbol with its role: asset or benchmark.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(name, asset="raw_prices", blocking=blocking)
        for name, blocking in QUALITY_CHECKS.items()
    ],
)
def raw_prices(
    context: dg.AssetExecutionContext,
    config: RawPricesConfig,
    market_data: MarketDataSource,
    warehouse: Warehouse,
) -> Iterator[dg.MaterializeResult]:
    """Ingest one batch of market data into raw.prices and raw.symbols."""
    batch_id = price_store.new_batch_id()
    with warehouse.connect() as con:
        try:
            loaded = market_data.load()
        except MarketDataError as error:
            price_store.record_batch(
                con,
                batch_id=batch_id,
                source=market_data.spec,
                status="invalid_file",
                reason=str(error),
            )
            raise dg.Failure(
                description=str(error),
                metadata={"file": error.source, "row": error.row, "column": error.column},
            ) from error

        before = price_store.stored_state(con)
        batch = price_store.unseen_rows(con, loaded.prices)
        newest = pd.concat([before.newest_dates, batch.groupby("symbol")["date"].max()])
        trading_days = pd.concat(
            [con.execute("select distinct date from raw.prices").df()["date"], batch["date"]]
        )
        outcomes = validate_prices(
            batch,
            last_close=before.last_close,
            newest_dates=newest.groupby(level=0).max(),
            trading_days=trading_days,
            today=date.today(),
            thresholds=QualityThresholds(config.max_abs_log_return, config.max_stale_trading_days),
        )
        blocking_failures = [o.name for o in outcomes if not o.passed and o.severity == "ERROR"]
        common = dict(
            batch_id=batch_id,
            source=loaded.source,
            rows_offered=len(loaded.prices),
            rows_new=len(batch),
        )
        if blocking_failures:
            price_store.quarantine_batch(con, batch, batch_id)
            price_store.record_batch(
                con, status="rejected", reason=", ".join(blocking_failures), **common
            )
            context.log.error(f"batch {batch_id} quarantined: {blocking_failures}")
        elif len(batch):
            price_store.append_batch(
                con, batch, batch_id=batch_id, benchmark_symbol=loaded.benchmark_symbol
            )
            price_store.record_batch(con, status="appended", rows_appended=len(batch), **common)
        else:
            price_store.record_batch(con, status="unchanged", **common)
        after = price_store.stored_state(con)
        symbol_count, benchmark = con.execute(
            "select count(*), max(case when role = 'benchmark' then symbol end) from raw.symbols"
        ).fetchall()[0]

    appended = 0 if blocking_failures else len(batch)
    yield dg.MaterializeResult(
        asset_key="raw_prices",
        metadata={
            "source": loaded.source,
            "batch_id": batch_id,
            "rows_offered": len(loaded.prices),
            "rows_new": len(batch),
            "rows_appended": appended,
            "rows_quarantined": len(batch) - appended,
            "dagster/row_count": after.row_count,
            "symbols": len(after.newest_dates),
            "benchmark_symbol": loaded.benchmark_symbol or "none",
            "first_date": str(loaded.prices["date"].min().date()),
            "newest_date": str(after.newest_dates.max().date()) if after.row_count else "none",
        },
        check_results=[_check_result(o) for o in outcomes],
    )
    yield dg.MaterializeResult(
        asset_key="raw_symbols",
        metadata={"dagster/row_count": symbol_count, "benchmark_symbol": benchmark or "none"},
    )
