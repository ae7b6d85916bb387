"""Seconds of the backtest's simulation core, printed as JSON.

The core (``agents.backtest.simulation.simulate``) carries monthly equal-weight targets
through every day with the live costs (commission, half spread, the execution agent's impact
model), on two universes: the shipped 20 stocks over their whole history (real prices), and
500 symbols x 8,300 days RESAMPLED from them (the stationary block bootstrap of
``benchmarks.features``). Medians of ``--repeats`` runs.

The same simulation in vectorbt (``Portfolio.from_orders`` with target percents, cash
shared), an optional dependency (``pip install -c requirements.lock -e '.[bench]'``), timed in
the same run on the same targets. vectorbt has no per-share commission or impact model, so
both run with the proportional half spread only, and their final NAVs are printed side by
side as a check that they simulate the same thing. vectorbt's first call compiles with numba;
that call is reported apart.

``--full`` also times the default walk-forward desk backtest (the ``backtest_report`` asset's
work, retraining included, without the ablation) on the data of the last ``make run``, and
prints its headline figures so a speed change can be checked to change no result.

``--ablation`` with it times what ``make backtest`` runs: the same and the ablation's twelve
variants, and prints each variant's Sharpe.

    python -m benchmarks.backtest [--repeats N] [--full [--ablation]]
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import pandas as pd

from agents.backtest.benchmarks import monthly_targets
from agents.backtest.simulation import TradingCosts, simulate
from agents.desk.broker import Commission
from benchmarks.features import resampled_universe
from features.ingestion.market_data import load_market_data

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


def compare_vectorbt(prices: pd.DataFrame, repeats: int) -> dict:
    """Our core and vectorbt on the same monthly targets, with the same proportional cost."""
    try:
        import vectorbt as vbt
    except ImportError:
        return {"skipped": "vectorbt not installed: pip install -c requirements.lock '.[bench]'"}
    half_spread = TradingCosts().half_spread
    only_spread = TradingCosts(
        commission=Commission(0.0, 0.0), half_spread=half_spread, impact=False
    )
    targets = monthly_targets(prices, list(prices.columns), "equal_weight", prices.index[300])
    size = targets.reindex(prices.index)
    filled = prices.ffill()

    def theirs():
        portfolio = vbt.Portfolio.from_orders(
            filled, size=size, size_type="targetpercent", fees=half_spread, group_by=True,
            cash_sharing=True, call_seq="auto", init_cash=1_000_000.0, freq="1D",
        )  # fmt: skip
        return float(portfolio.value().iloc[-1])

    started = time.perf_counter()
    theirs()
    first_call = time.perf_counter() - started
    timings: dict[str, list[float]] = {"ours": [], "vectorbt": []}
    for _ in range(repeats):
        started = time.perf_counter()
        our_nav = float(simulate(targets, prices, costs=only_spread).nav.iloc[-1])
        timings["ours"].append(time.perf_counter() - started)
        started = time.perf_counter()
        their_nav = theirs()
        timings["vectorbt"].append(time.perf_counter() - started)
    ours, vectorbt = (statistics.median(timings[k]) for k in ("ours", "vectorbt"))
    return {
        "symbols": prices.shape[1],
        "days": prices.shape[0],
        "ours_median_seconds": round(ours, 4),
        "vectorbt_median_seconds": round(vectorbt, 4),
        "vectorbt_first_call_seconds": round(first_call, 3),
        "ours_over_vectorbt": round(ours / vectorbt, 4),
        "final_nav": {"ours": round(our_nav, 2), "vectorbt": round(their_nav, 2)},
        "costs": f"proportional half spread {half_spread} only, on both",
    }


def time_full_backtest(ablation: bool = False) -> dict:
    """The default walk-forward desk backtest, as the asset runs it, timed end to end;
    ``ablation``: with the twelve variants ``make backtest`` runs too, and their figures."""
    from dagster import materialize

    from assets.backtest.report import backtest_report
    from features.settings import load_settings
    from orchestration import definitions, instance

    built = definitions.build_definitions(instance.prepare(load_settings()))
    resources = {
        key: built.resources[key] for key in ("warehouse", "feast", "market_data", "backtesting")
    }
    # The ablation (twelve more desks on the same models) only when asked for.
    config = {"ops": {"backtest_report": {"config": {"ablation": ablation}}}}
    started = time.perf_counter()
    materialize([backtest_report], resources=resources, run_config=config)
    seconds = time.perf_counter() - started
    summary = json.loads((Path(built.resources["backtesting"].reports_dir) / "backtest" /
                          "summary.json").read_text())  # fmt: skip
    desk = summary["strategies"]["desk"]["full"]
    report = {
        "wall_seconds": round(seconds, 1),
        "includes": f"yearly retraining ({summary['walk_forward']['training_workers']} "
        "training workers), every decision cycle, reports; "
        + ("and the ablation's variants" if ablation else "no ablation"),
        "desk_sharpe": desk["sharpe"],
        "desk_max_drawdown": desk["max_drawdown"],
        "cycles": summary["strategies"]["desk"].get("cycles"),
    }
    if ablation:  # each variant's full-period figures, to check a speed change moved none
        report["ablation_sharpe"] = {
            name: row["full"]["sharpe"]
            for name, row in summary["ablation"]["variants"].items()
            if name != "desk"
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="also time the desk backtest")
    parser.add_argument(
        "--ablation", action="store_true", help="with --full: the ablation too (make backtest)"
    )
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
        "vectorbt_20_symbols": compare_vectorbt(real, args.repeats),
        "vectorbt_500_symbols_resampled": compare_vectorbt(scaled, args.repeats),
    }
    if args.full:
        report["full_default_backtest"] = time_full_backtest(args.ablation)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
