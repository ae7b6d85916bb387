"""Seconds of the dbt feature build, printed as JSON.

Two universes: the shipped one (skfolio's 20 S&P 500 stocks + the index, 1990-2022) and one
scaled to 500 symbols x 30 years. The scaled one is RESAMPLED from real data: a stationary
block bootstrap of trading dates (mean block 21 days) draws 25 paths through 1990-2022, and
each of the 20 real stocks' daily returns along each path makes one synthetic symbol
(20 x 25 = 500), so volatility, fat tails and cross-correlation stay those of real prices.

    python -m benchmarks.features [--repeats N]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from features.ingestion import price_store
from features.ingestion.market_data import load_market_data
from features.settings import DBT_PROJECT_DIR

SCALED_SYMBOLS, SCALED_DAYS, MEAN_BLOCK_DAYS = 500, 7560, 21


def resampled_universe(seed: int = 0, days: int = SCALED_DAYS) -> pd.DataFrame:
    prices = load_market_data("sp500").prices
    wide = prices.pivot(index="date", columns="symbol", values="close")
    log_returns = np.log(wide).diff().iloc[1:]
    stocks = [c for c in log_returns.columns if c != "SP500"]
    rng = np.random.default_rng(seed)
    paths = SCALED_SYMBOLS // len(stocks)
    dates = pd.bdate_range(end="2022-12-30", periods=days)
    frames = []
    for path in range(paths):
        rows = _block_bootstrap(len(log_returns), days, rng)
        sampled = log_returns.iloc[rows].fillna(0.0).to_numpy()
        closes = 100 * np.exp(np.cumsum(sampled, axis=0))
        names = [f"{s}_R{path:02d}" if s != "SP500" else "SP500" for s in log_returns.columns]
        frame = pd.DataFrame(closes, index=dates, columns=names)
        if path:
            frame = frame.drop(columns="SP500")  # one benchmark, from the first path
        frames.append(frame)
    wide_out = pd.concat(frames, axis=1)
    long = wide_out.rename_axis(index="date", columns="symbol").stack().rename("close")
    out = long.reset_index()
    for column in ("open", "high", "low", "volume"):
        out[column] = np.nan
    return out


def _block_bootstrap(n_rows: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Politis-Romano stationary bootstrap: geometric block lengths, random block starts."""
    rows = np.empty(length, dtype=np.int64)
    position = rng.integers(n_rows)
    for i in range(length):
        if rng.random() < 1 / MEAN_BLOCK_DAYS:
            position = rng.integers(n_rows)
        rows[i] = position
        position = (position + 1) % n_rows
    return rows


def time_build(prices: pd.DataFrame, benchmark: str, repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as home:
        warehouse = Path(home) / "warehouse.duckdb"
        exports = Path(home) / "exports"
        exports.mkdir()
        with price_store.connect(str(warehouse)) as con:
            price_store.append_batch(con, prices, batch_id="bench", benchmark_symbol=benchmark)
        env = {
            **os.environ,
            "QUORUM_HOME": home,
            "QUORUM_WAREHOUSE": str(warehouse),
            "QUORUM_EXPORTS": str(exports),
        }
        dbt = str(Path(sys.executable).parent / "dbt")
        target = Path(home) / "target"

        def dbt_command(*args: str) -> list[str]:
            return [
                dbt,
                "--quiet",
                *args,
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(target),
            ]

        base = dbt_command("run", "--full-refresh")
        subprocess.run(dbt_command("seed"), env=env, check=True)
        walls, model_seconds = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(base, env=env, check=True)
            walls.append(time.perf_counter() - start)
            results = json.loads((target / "run_results.json").read_text())["results"]
            model_seconds.append(
                {r["unique_id"].split(".")[-1]: round(r["execution_time"], 3) for r in results}
            )
        with price_store.connect(str(warehouse), read_only=True) as con:
            rows = con.execute("select count(*) from marts.fct_daily_features").fetchall()[0][0]
    return {
        "symbols": int(prices["symbol"].nunique()),
        "days": int(prices["date"].nunique()),
        "price_rows": len(prices),
        "feature_rows": int(rows),
        "dbt_run_seconds_median": round(float(np.median(walls)), 2),
        "dbt_run_seconds_all": [round(w, 2) for w in walls],
        "model_seconds_last_run": model_seconds[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shipped = load_market_data("sp500")
    scaled = resampled_universe()
    report = {
        "what": "wall seconds of `dbt run --full-refresh` (all staging, intermediate and mart "
        "models, Parquet exports included), median of repeats, on this machine",
        "cpu_count": os.cpu_count(),
        "shipped": time_build(shipped.prices, "SP500", args.repeats),
        "scaled_500x30y": {
            "resampled": f"stationary block bootstrap of real dates (mean block "
            f"{MEAN_BLOCK_DAYS} days), real returns of the 20 skfolio stocks",
            **time_build(scaled, "SP500", args.repeats),
        },
        "target_seconds_500x30y": 30,
    }
    report["meets_target"] = report["scaled_500x30y"]["dbt_run_seconds_median"] < 30
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
