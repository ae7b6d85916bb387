"""The raw_prices asset through Dagster: incremental appends, bad input, blocking checks."""

import hashlib

import dagster as dg
import duckdb
import pandas as pd
import pytest

from tests.conftest import price_slice, write_prices

SYMBOLS = ["AAPL", "JPM", "XOM", "SP500"]


def materialization(result: dg.ExecuteInProcessResult, key: str) -> dict:
    events = result.asset_materializations_for_node("raw_prices")
    (event,) = [e for e in events if e.asset_key == dg.AssetKey(key)]
    return {k: v.value for k, v in event.metadata.items()}


def test_rerun_with_extra_days_appends_only_those_rows(workspace, sp500_prices, tmp_path):
    first = price_slice(sp500_prices, SYMBOLS, "2021-01-01", "2021-06-30")
    longer = price_slice(sp500_prices, SYMBOLS, "2021-01-01", "2021-07-15")
    extra_rows = len(longer) - len(first)
    assert extra_rows > 0

    result = workspace.materialize(
        f"csv:{write_prices(first, tmp_path / 'a.csv')}",
        selection="group:ingestion",
        benchmark="SP500",
    )
    assert materialization(result, "raw_prices")["rows_appended"] == len(first)
    history = workspace.query("select * from raw.prices order by symbol, date")

    result = workspace.materialize(
        f"csv:{write_prices(longer, tmp_path / 'b.csv')}",
        selection="group:ingestion",
        benchmark="SP500",
    )
    metadata = materialization(result, "raw_prices")
    assert metadata["rows_offered"] == len(longer)
    assert metadata["rows_appended"] == extra_rows
    assert metadata["dagster/row_count"] == len(longer)
    stored = workspace.query("select * from raw.prices order by symbol, date")
    # History is untouched: same rows, same values, same batch that wrote them.
    old = stored[stored["batch_id"].isin(history["batch_id"].unique())].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, history)

    result = workspace.materialize(f"csv:{tmp_path / 'b.csv'}", selection="group:ingestion")
    assert materialization(result, "raw_prices")["rows_appended"] == 0
    statuses = workspace.query("select status from raw.ingestion_batches order by started_at")
    assert statuses["status"].tolist() == ["appended", "appended", "unchanged"]
    roles = workspace.query("select * from raw.symbols order by symbol")
    assert roles.set_index("symbol")["role"].to_dict()["SP500"] == "benchmark"


def _fingerprint(workspace) -> dict[str, str]:
    """A hash of each table and export a bad run must leave alone."""
    tables = {
        name: workspace.query(f"select * from {name} order by all").to_csv()
        for name in ("raw.prices", "marts.fct_daily_features", "marts.fct_forward_returns")
    }
    exports = {p.name: p.read_bytes() for p in sorted(workspace.exports.glob("*.parquet"))}
    return {
        name: hashlib.sha256(
            content if isinstance(content, bytes) else content.encode()
        ).hexdigest()
        for name, content in {**tables, **exports}.items()
    }


@pytest.fixture
def built(workspace, sp500_prices, tmp_path):
    """A workspace where the whole graph has run once on a good file."""
    good = price_slice(sp500_prices, SYMBOLS, "2020-01-01", "2021-12-31")
    path = write_prices(good, tmp_path / "good.csv")
    workspace.materialize(f"csv:{path}", benchmark="SP500")
    return workspace, good


def test_bad_file_stops_the_run_naming_file_row_and_column_and_changes_nothing(built, tmp_path):
    workspace, good = built
    before = _fingerprint(workspace)
    next_day = good[good["date"] == good["date"].max()].assign(
        date=good["date"].max() + pd.Timedelta(days=3)
    )
    path = write_prices(pd.concat([good, next_day], ignore_index=True), tmp_path / "bad.csv")
    lines = path.read_text().splitlines()
    bad_line = len(lines)  # the last row: spoil its close
    lines[-1] = lines[-1].rsplit(",", 1)[0] + ",n/a"
    path.write_text("\n".join(lines) + "\n")

    result = workspace.materialize(f"csv:{path}", benchmark="SP500", raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.user_failure_data.description
    assert str(path) in message and f"row {bad_line}" in message and "column 'close'" in message
    assert _fingerprint(workspace) == before
    audit = workspace.query("select status, reason from raw.ingestion_batches order by started_at")
    assert audit["status"].tolist() == ["appended", "invalid_file"]
    assert str(path) in audit["reason"].iloc[-1]


def test_batch_failing_a_blocking_check_is_quarantined_and_nothing_downstream_runs(built, tmp_path):
    workspace, good = built
    before = _fingerprint(workspace)
    newest = good["date"].max()
    next_day = good[good["date"] == newest].assign(date=newest + pd.Timedelta(days=3))
    next_day.loc[next_day["symbol"] == "AAPL", "date"] = pd.Timestamp("2031-01-02")
    path = write_prices(pd.concat([good, next_day], ignore_index=True), tmp_path / "future.csv")

    result = workspace.materialize(f"csv:{path}", benchmark="SP500", raise_on_error=False)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["no_future_dates"].passed
    assert checks["no_future_dates"].metadata["failing_rows"].value == 1
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "raw_prices" in materialized
    assert "marts/fct_daily_features" not in materialized
    assert _fingerprint(workspace) == before
    rejected = workspace.query("select * from raw.rejected_prices")
    assert len(rejected) == len(next_day)
    audit = workspace.query("select status, reason from raw.ingestion_batches order by started_at")
    assert audit["status"].tolist() == ["appended", "rejected"]
    assert "no_future_dates" in audit["reason"].iloc[-1]


def test_steps_on_workers_without_a_shared_disk_hand_the_warehouse_over_and_lose_nothing(
    sp500_prices, tmp_path
):
    """The distributed profile's hand-over, with a folder standing in for the S3 store:
    each run ingests in a worker folder of its own, which starts empty."""
    from assets.ingestion.raw_prices import raw_prices
    from assets.resources import MarketDataSource, Warehouse

    kept = tmp_path / "store" / "warehouse" / "warehouse.duckdb"

    def ingest(spec: str, worker: str) -> dg.ExecuteInProcessResult:
        (tmp_path / worker).mkdir()
        warehouse = Warehouse(path=str(tmp_path / worker / "w.duckdb"), object_uri=str(kept))
        market = MarketDataSource(spec=spec, benchmark_symbol="SP500")
        return dg.materialize(
            [raw_prices],
            resources={"warehouse": warehouse, "market_data": market},
            raise_on_error=False,
        )

    first = price_slice(sp500_prices, SYMBOLS, "2021-01-01", "2021-06-30")
    longer = price_slice(sp500_prices, SYMBOLS, "2021-01-01", "2021-07-15")
    result = ingest(f"csv:{write_prices(first, tmp_path / 'a.csv')}", "worker_a")
    metadata = materialization(result, "raw_prices")
    assert (metadata["warehouse_uri"], metadata["warehouse_fetched"]) == (str(kept), False)
    # A refused file stops its run, and the batch log that records it is kept all the same.
    bad = first.assign(close=first["close"].astype(object))
    bad.loc[3, "close"] = "ten"
    assert not ingest(f"csv:{write_prices(bad, tmp_path / 'bad.csv')}", "worker_b").success
    result = ingest(f"csv:{write_prices(longer, tmp_path / 'b.csv')}", "worker_c")
    metadata = materialization(result, "raw_prices")
    assert metadata["warehouse_fetched"] is True
    assert metadata["rows_appended"] == len(longer) - len(first)  # the kept rows were there
    with duckdb.connect(str(kept), read_only=True) as con:
        statuses = con.execute("select status from raw.ingestion_batches order by started_at")
        assert [s for (s,) in statuses.fetchall()] == ["appended", "invalid_file", "appended"]
        assert con.execute("select count(*) from raw.prices").fetchone()[0] == len(longer)
