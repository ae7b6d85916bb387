"""The Great Expectations suite over raw prices, on real index OHLCV from arch."""

from datetime import date

import pandas as pd
import pytest

from features.ingestion.market_data import load_market_data
from monitoring.data_quality import CheckOutcome, QualityThresholds, validate_prices

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def arch_slice() -> pd.DataFrame:
    prices = load_market_data("arch").prices
    return prices[prices["date"].between("2008-09-01", "2008-12-31")].reset_index(drop=True)


def run_suite(batch: pd.DataFrame, **kwargs) -> dict[str, CheckOutcome]:
    outcomes = validate_prices(
        batch,
        last_close=pd.Series(dtype=float),
        newest_dates=batch.groupby("symbol")["date"].max(),
        trading_days=batch["date"],
        today=TODAY,
        **kwargs,
    )
    return {outcome.name: outcome for outcome in outcomes}


def test_real_crisis_prices_pass_every_check(arch_slice):
    outcomes = run_suite(arch_slice)
    assert all(o.passed for o in outcomes.values()), {
        n: o.first_failures for n, o in outcomes.items() if not o.passed
    }
    assert outcomes["prices_positive"].checked_rows == len(arch_slice)


def test_high_below_close_fails_the_blocking_ohlc_check_naming_the_row(arch_slice):
    bad = arch_slice.copy()
    row = bad.index[10]
    bad.loc[row, "high"] = bad.loc[row, "close"] * 0.99
    outcome = run_suite(bad)["ohlc_consistent"]
    assert not outcome.passed and outcome.severity == "ERROR"
    assert outcome.failing_rows == 1
    failure = outcome.first_failures[0]
    assert failure["symbol"] == bad.loc[row, "symbol"]
    assert failure["date"] == str(bad.loc[row, "date"].date())


def test_a_date_in_the_future_fails_the_blocking_check(arch_slice):
    bad = arch_slice.copy()
    bad.loc[0, "date"] = pd.Timestamp("2030-01-02")
    outcome = run_suite(bad)["no_future_dates"]
    assert not outcome.passed and outcome.severity == "ERROR"
    assert outcome.first_failures[0]["date"] == "2030-01-02"


def test_a_return_beyond_the_bound_is_reported_as_a_warning(arch_slice):
    # October 2008: the S&P 500 fell more than 9% in a day; a 5% bound must flag those days.
    outcome = run_suite(arch_slice, thresholds=QualityThresholds(max_abs_log_return=0.05))[
        "daily_return_outliers"
    ]
    assert not outcome.passed and outcome.severity == "WARN"
    assert outcome.failing_rows >= 2
    assert all(abs(f["log_return"]) > 0.05 for f in outcome.first_failures)


def test_a_symbol_that_stopped_trading_is_reported_stale(arch_slice):
    cut = arch_slice[~((arch_slice["symbol"] == "NASDAQ") & (arch_slice["date"] > "2008-12-15"))]
    outcome = run_suite(cut)["symbols_fresh"]
    assert not outcome.passed and outcome.severity == "WARN"
    assert [f["symbol"] for f in outcome.first_failures] == ["NASDAQ"]


def test_duplicated_keys_fail_the_uniqueness_check(arch_slice):
    bad = pd.concat([arch_slice, arch_slice.iloc[[5]]], ignore_index=True)
    outcome = run_suite(bad)["unique_symbol_date"]
    assert not outcome.passed and outcome.failing_rows == 2
