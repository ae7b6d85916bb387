"""The ``raw_prices`` asset: market data appended to the warehouse behind GE checks."""

from collections.abc import Iterator

import dagster as dg
from pydantic import Field

from assets.resources import MarketDataSource, Warehouse
from features.ingestion.batches import ingest_batch
from features.ingestion.market_data import MarketDataError
from monitoring.data_quality import CheckOutcome, QualityThresholds

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
    thresholds = QualityThresholds(config.max_abs_log_return, config.max_stale_trading_days)
    fetched = warehouse.fetch()  # distributed: the kept warehouse, into this worker's folder
    refused: MarketDataError | None = None
    with warehouse.connect() as con:
        try:
            outcome = ingest_batch(con, market_data.load, market_data.spec, thresholds)
        except MarketDataError as error:
            refused = error
    # Kept whether the batch was appended, quarantined or refused: its log records each.
    kept = warehouse.keep()
    if refused is not None:
        raise dg.Failure(
            description=str(refused),
            metadata={"file": refused.source, "row": refused.row, "column": refused.column},
        ) from refused
    if outcome.blocking_failures:
        context.log.error(f"batch {outcome.batch_id} quarantined: {outcome.blocking_failures}")
    handed_over = {"warehouse_uri": kept, "warehouse_fetched": fetched} if kept else {}
    yield dg.MaterializeResult(
        asset_key="raw_prices",
        metadata={
            "source": outcome.source,
            "batch_id": outcome.batch_id,
            "status": outcome.status,
            "rows_offered": outcome.rows_offered,
            "rows_new": outcome.rows_new,
            "rows_appended": outcome.rows_appended,
            "rows_quarantined": outcome.rows_quarantined,
            "dagster/row_count": outcome.stored_rows,
            "symbols": outcome.stored_symbols,
            "benchmark_symbol": outcome.benchmark_symbol or "none",
            "first_date": str(outcome.first_date),
            "newest_date": str(outcome.newest_date or "none"),
            **handed_over,
        },
        check_results=[_check_result(o) for o in outcome.checks],
    )
    yield dg.MaterializeResult(
        asset_key="raw_symbols",
        metadata={
            "dagster/row_count": outcome.symbol_rows,
            "benchmark_symbol": outcome.stored_benchmark or "none",
        },
    )
