"""Great Expectations suite over raw prices.

Each named check is a group of GE expectations; ``validate_prices`` runs them on an incoming
batch (with the last stored close of each symbol, so the first new return is checked too)
and returns one ``CheckOutcome`` per check with GE's own counts and the first failing rows.
ERROR checks block: the caller keeps a failing batch out of the price table. WARN checks
are reported and let the batch through. No Dagster import: assets call this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import great_expectations.expectations as gxe

Severity = Literal["ERROR", "WARN"]
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class QualityThresholds:
    max_abs_log_return: float = 0.5  # |log return| above this in one day is reported
    max_stale_trading_days: int = 5  # a symbol this far behind the newest date is stale


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    severity: Severity
    passed: bool
    description: str
    failing_rows: int
    checked_rows: int
    first_failures: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Check:
    name: str
    severity: Severity
    description: str
    frame: Literal["rows", "symbols"]
    expectations: tuple[gxe.Expectation, ...]


def _checks(today: date, thresholds: QualityThresholds) -> tuple[_Check, ...]:
    # Great Expectations loads when a batch is validated, not with the code location.
    import great_expectations.expectations as gxe

    def a_at_least_b(a: str, b: str) -> gxe.Expectation:
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing"
        )

    bound = thresholds.max_abs_log_return
    return (
        _Check(
            "required_fields_not_null",
            "ERROR",
            "date, symbol and close are never null",
            "rows",
            tuple(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in ("date", "symbol", "close")),
        ),
        _Check(
            "prices_positive",
            "ERROR",
            "every open, high, low and close is > 0",
            "rows",
            tuple(
                gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, strict_min=True)
                for c in ("open", "high", "low", "close")
            ),
        ),
        _Check(
            "ohlc_consistent",
            "ERROR",
            "high >= max(open, close), low <= min(open, close)",
            "rows",
            (
                a_at_least_b("high", "open"),
                a_at_least_b("high", "close"),
                a_at_least_b("open", "low"),
                a_at_least_b("close", "low"),
            ),
        ),
        _Check(
            "unique_symbol_date",
            "ERROR",
            "one row per (symbol, date)",
            "rows",
            (gxe.ExpectCompoundColumnsToBeUnique(column_list=["symbol", "date"]),),
        ),
        _Check(
            "no_future_dates",
            "ERROR",
            f"no date after {today.isoformat()}",
            "rows",
            (gxe.ExpectColumnValuesToBeBetween(column="days_after_today", max_value=0),),
        ),
        _Check(
            "daily_return_outliers",
            "WARN",
            f"|daily log return| <= {bound}",
            "rows",
            (
                gxe.ExpectColumnValuesToBeBetween(
                    column="log_return", min_value=-bound, max_value=bound
                ),
            ),
        ),
        _Check(
            "symbols_fresh",
            "WARN",
            f"each symbol's newest date within {thresholds.max_stale_trading_days} trading "
            "days of the universe's newest date",
            "symbols",
            (
                gxe.ExpectColumnValuesToBeBetween(
                    column="trading_days_behind",
                    min_value=0,
                    max_value=thresholds.max_stale_trading_days,
                ),
            ),
        ),
    )


def _rows_frame(batch: pd.DataFrame, last_close: pd.Series, today: date) -> pd.DataFrame:
    """The batch plus the columns the row checks need (return vs. the previous close)."""
    rows = batch.sort_values(["symbol", "date"]).reset_index(drop=True)
    previous = rows.groupby("symbol")["close"].shift(1)
    previous = previous.fillna(rows["symbol"].map(last_close))
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["log_return"] = np.log(rows["close"] / previous)
    rows["days_after_today"] = (rows["date"] - pd.Timestamp(today)).dt.days
    return rows


def _symbols_frame(newest_dates: pd.Series, trading_days: pd.Series) -> pd.DataFrame:
    """Per symbol, how many of the table's trading days passed since its newest date."""
    calendar = np.sort(pd.to_datetime(trading_days).unique())
    behind = len(calendar) - 1 - np.searchsorted(calendar, newest_dates.to_numpy())
    return pd.DataFrame(
        {
            "symbol": newest_dates.index,
            "date": newest_dates.to_numpy(),
            "trading_days_behind": behind,
        }
    )


def validate_prices(
    batch: pd.DataFrame,
    *,
    last_close: pd.Series,
    newest_dates: pd.Series,
    trading_days: pd.Series,
    today: date,
    thresholds: QualityThresholds | None = None,
) -> list[CheckOutcome]:
    """Run the suite on a batch of new price rows.

    Parameters
    ----------
    batch : DataFrame, one row per (symbol, date) to be appended.
    last_close : Series indexed by symbol, the newest stored close before this batch.
    newest_dates : Series indexed by symbol, the newest date after this batch would land.
    trading_days : Series of every distinct date in the table after this batch would land;
        staleness is counted in these days, so a holiday is not a missing day.
    """
    thresholds = thresholds or QualityThresholds()
    rows = _rows_frame(batch, last_close, today)
    symbols = _symbols_frame(newest_dates, trading_days)
    frames = {"rows": rows, "symbols": symbols}

    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("quorum")
    outcomes = []
    for check in _checks(today, thresholds):
        frame = frames[check.frame]
        suite = gx.ExpectationSuite(name=check.name, expectations=list(check.expectations))
        batch_definition = source.add_dataframe_asset(
            f"{check.name}_frame"
        ).add_batch_definition_whole_dataframe("whole")
        result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            suite,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": ["symbol", "date"],
                "partial_unexpected_count": SAMPLE_ROWS,
            },
        )
        outcomes.append(_outcome(check, result, frame))
    return outcomes


def _outcome(check: _Check, result: Any, frame: pd.DataFrame) -> CheckOutcome:
    failing_index: set[int] = set()
    for expectation_result in result.results:
        if expectation_result.success:
            continue
        detail = expectation_result.result or {}
        indices = detail.get("unexpected_index_list") or []
        if indices and isinstance(indices[0], dict):
            keys = {(item["symbol"], pd.Timestamp(item["date"])) for item in indices}
            mask = [
                (s, pd.Timestamp(d)) in keys
                for s, d in zip(frame["symbol"], frame["date"], strict=True)
            ]
            failing_index.update(np.flatnonzero(mask).tolist())
        elif expectation_result.exception_info and any(
            info.get("raised_exception") for info in _exception_infos(expectation_result)
        ):
            raise RuntimeError(f"GE check {check.name} raised: {expectation_result.exception_info}")
        else:
            failing_index.update(range(len(frame)))
    ordered = sorted(failing_index)
    sample = frame.iloc[ordered[:SAMPLE_ROWS]].copy()
    sample["date"] = sample["date"].dt.date.astype(str)
    return CheckOutcome(
        name=check.name,
        severity=check.severity,
        passed=bool(result.success),
        description=check.description,
        failing_rows=len(ordered),
        checked_rows=len(frame),
        first_failures=[
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in sample.to_dict("records")
        ],
    )


def _exception_infos(expectation_result: Any) -> list[dict[str, Any]]:
    info = expectation_result.exception_info or {}
    if "raised_exception" in info:
        return [info]
    return [value for value in info.values() if isinstance(value, dict)]


@dataclass(frozen=True)
class RecordedCheck:
    """The latest recorded outcome of one check (a GE suite's or a dbt test)."""

    name: str
    passed: bool
    severity: Severity


def training_data_verdict(checks: list[RecordedCheck]) -> tuple[str, list[str]]:
    """What the promotion gate reads about a model's training data: ``passed`` when checks
    ran and no ERROR check failed, ``failed`` when one did (named), ``not_evaluated`` when
    none ran at all. Failed WARN checks are listed but do not fail it."""
    if not checks:
        return "not_evaluated", []
    errors = sorted(c.name for c in checks if not c.passed and c.severity == "ERROR")
    warnings = sorted(c.name for c in checks if not c.passed and c.severity == "WARN")
    notes = [f"ERROR failed: {n}" for n in errors] + [f"WARN failed: {n}" for n in warnings]
    return ("failed" if errors else "passed"), notes
