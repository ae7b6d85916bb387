"""Seconds of the backtest's simulation core, printed as JSON.

The core (``agents.backtest.simulation.simulate``) carries monthly equal-weight targets
through every day with the live costs (commission, half spread, the execution agent's impact
model), on two universes: the shipped 20 stocks over their whole history (real prices), and
500 symbols x 8,300 days RESAMPLED from them (the stationary block bootstrap of
``benchmarks.features``). Medians of ``--repeats`` runs.

Not measured yet: the full walk-forward desk backtest with retraining, and vectorbt's
``Portfolio.from_orders`` on the same targets (issue #7 is open).

    python -m benchmarks.backtest [--repeats N]
"""

import argparse
import json
import statistics
import time

import pandas as pd

from agents.backtest.benchmarks import monthly_targets
from agents.backtest.simulation import simulate
from assets.ingestion.market_data import load_market_data
from benchmarks.features import resampled_universe

SCALED_DAYS = 8_300


def _wide(long: pd.DataFrame) -> pd.DataFrame:
    wide = long.pivot(index="date", columns="symbol", values="close")
    return wide.drop(columns="SP500", errors="ignore")


def time_core(prices: pd.DataFrame, repeats: int) -> dict:
    targets = monthly_targets(prices, list(prices.columns), "equal_weight", prices.index[300])
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = simulate(targets, prices)
        seconds.append(time.perf_counter() - started)
    return {
        "symbols": prices.shape[1],
        "days": prices.shape[0],
        "rebalances": len(targets),
        "median_seconds": round(statistics.median(seconds), 4),
        "min_seconds": round(min(seconds), 4),
        "final_nav": round(float(result.nav.iloc[-1]), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    real = _wide(load_market_data("sp500").prices)
    scaled = _wide(resampled_universe(days=SCALED_DAYS))
    report = {
        "what": "backtest simulation core: monthly targets carried daily with live costs",
        "20_symbols_real": time_core(real, args.repeats),
        "500_symbols_resampled": {
            **time_core(scaled, args.repeats),
            "resampled": "stationary block bootstrap of real dates, 20 real stocks x 25 paths",
        },
        "not_measured": ["full walk-forward desk backtest", "vectorbt Portfolio.from_orders"],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
