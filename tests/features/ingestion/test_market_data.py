"""Market data sources: the shipped real data, and strict parsing of a user's file."""

from pathlib import Path

import pandas as pd
import pytest

from features.ingestion.market_data import MarketDataError, load_market_data, read_price_file
from features.parquet_store import put_file

GOOD_CSV = """date,symbol,close,volume
2024-01-02,AAA,10.0,100
2024-01-03,AAA,10.5,120
2024-01-02,BBB,20.0,
2024-01-03,BBB,19.5,80
"""


def test_sp500_source_is_skfolios_real_prices_with_the_index_as_benchmark(sp500_prices):
    data = load_market_data("sp500")
    assert data.benchmark_symbol == "SP500"
    symbols = set(data.prices["symbol"])
    assert len(symbols) == 21 and {"AAPL", "MSFT", "XOM", "SP500"} <= symbols
    assert data.prices["date"].min() == pd.Timestamp("1990-01-02")
    assert data.prices["date"].dt.year.max() == 2022
    assert (data.prices["close"] > 0).all()
    assert not data.prices.duplicated(["symbol", "date"]).any()


def test_arch_source_has_daily_ohlcv_of_two_indices():
    data = load_market_data("arch")
    assert set(data.prices["symbol"]) == {"SP500", "NASDAQ"}
    assert data.prices[["open", "high", "low", "close", "volume"]].notna().all().all()
    assert (data.prices["high"] >= data.prices[["open", "close"]].max(axis=1)).all()


def test_user_csv_in_long_format_loads_with_optional_columns_missing(tmp_path: Path):
    path = tmp_path / "prices.csv"
    path.write_text(GOOD_CSV)
    data = load_market_data(f"csv:{path}", benchmark_symbol="BBB")
    assert data.benchmark_symbol == "BBB"
    assert len(data.prices) == 4
    assert data.prices["open"].isna().all()
    assert data.prices.loc[data.prices["symbol"] == "BBB", "volume"].isna().sum() == 1


def test_user_parquet_loads_like_csv(tmp_path: Path):
    csv = tmp_path / "prices.csv"
    csv.write_text(GOOD_CSV)
    parquet = tmp_path / "prices.parquet"
    pd.read_csv(csv).to_parquet(parquet)
    from_csv = read_price_file(csv, "csv")
    from_parquet = read_price_file(parquet, "parquet")
    pd.testing.assert_frame_equal(from_csv, from_parquet)


@pytest.mark.parametrize(
    ("content", "row", "column", "says"),
    [
        ("date,symbol\n2024-01-02,AAA\n", None, "close", "missing required column"),
        (GOOD_CSV.replace("10.5,120", "ten,120"), 3, "close", "not a number"),
        (GOOD_CSV.replace("19.5,80", "-19.5,80"), 5, "close", "greater than 0"),
        (GOOD_CSV.replace("20.0,", ",", 1), 4, "close", "missing price"),
        (GOOD_CSV + "2024-01-03,AAA,10.6,90\n", 6, "date", "duplicate (symbol, date)"),
        (GOOD_CSV.replace("2024-01-03,BBB", "2024-13-45,BBB"), 5, "date", "unparsable date"),
        (GOOD_CSV.replace("10.0,100", "10.0,-5"), 2, "volume", "must not be negative"),
    ],
    ids=["missing-column", "non-numeric", "negative", "blank", "duplicate", "bad-date", "volume"],
)
def test_bad_user_file_names_the_file_row_and_column(tmp_path, content, row, column, says):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(MarketDataError) as raised:
        load_market_data(f"csv:{path}")
    error = raised.value
    message = str(error)
    assert str(path) in message and says in message
    assert error.row == row and error.column == column
    if row is not None:
        assert f"row {row}" in message
    assert f"column '{column}'" in message


def test_bad_parquet_rows_are_counted_from_one(tmp_path: Path):
    path = tmp_path / "bad.parquet"
    pd.DataFrame(
        {"date": ["2024-01-02", "2024-01-03"], "symbol": ["A", "A"], "close": [1.0, 0.0]}
    ).to_parquet(path)
    with pytest.raises(MarketDataError, match=r"row 2, column 'close'"):
        load_market_data(f"parquet:{path}")


def test_unknown_source_and_missing_file_are_clear_errors(tmp_path: Path):
    with pytest.raises(MarketDataError, match="unknown market data source"):
        load_market_data("yahoo")
    with pytest.raises(MarketDataError, match="file not found"):
        load_market_data(f"csv:{tmp_path / 'nope.csv'}")


def test_a_user_file_on_the_s3_store_loads_as_the_same_file_on_disk(tmp_path, private_s3):
    # What lets ingestion run on any worker or machine: the file is read from the store.
    csv = tmp_path / "prices.csv"
    csv.write_text(GOOD_CSV)
    uri = put_file(str(csv), "s3://quorum-tests/inputs/prices.csv", private_s3.url)
    on_s3 = load_market_data(f"csv:{uri}", benchmark_symbol="BBB", endpoint_url=private_s3.url)
    on_disk = load_market_data(f"csv:{csv}", benchmark_symbol="BBB")
    pd.testing.assert_frame_equal(on_s3.prices, on_disk.prices)
    assert on_s3.benchmark_symbol == "BBB" and on_s3.source == f"csv:{uri}"
    with pytest.raises(MarketDataError, match=r"s3://quorum-tests/inputs/absent\.csv: file not"):
        load_market_data("csv:s3://quorum-tests/inputs/absent.csv", endpoint_url=private_s3.url)
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD_CSV.replace("10.5,120", "ten,120"))
    bad_uri = put_file(str(bad), "s3://quorum-tests/inputs/bad.csv", private_s3.url)
    with pytest.raises(MarketDataError, match=r"bad\.csv, row 3, column 'close'"):
        load_market_data(f"csv:{bad_uri}", endpoint_url=private_s3.url)


def test_a_folder_given_as_the_price_file_is_named_as_a_folder(tmp_path):
    with pytest.raises(MarketDataError, match="is a folder"):
        load_market_data(f"csv:{tmp_path}")
