"""Does a sector's own analyst model beat the pooled one on that sector's names? Walked
forward on the selection period only (1990-2018, labels maturing later dropped), printed as
JSON: per sector, each model's mean out-of-sample rank IC, IC, hit rate and long-short
Sharpe over the folds, and the rank IC gain per fold. 2019 onwards is not read: nothing here
is scored on the holdout, because nothing is chosen from it (the sector models are not
served).

Reads the home's training set and features export (``make run`` writes both) and the
newest search's LightGBM parameters, as the ``sector_analyst_model`` asset does.

    python -m benchmarks.sector_models [--min-symbols 3] [--n-splits 5]
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    import pandas as pd
    from mlflow import MlflowClient

    from agents import model_registry
    from agents.market_analyst.names import LIGHTGBM, SELECTION_END
    from agents.market_analyst.search import best_recorded_params
    from agents.market_analyst.sector_models import sector_study
    from agents.market_analyst.sectors import (
        MIN_SECTOR_SYMBOLS,
        latest_sectors,
        trainable_sectors,
    )
    from features.names import ANALYST_SERVICE
    from features.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-symbols", type=int, default=MIN_SECTOR_SYMBOLS)
    parser.add_argument("--n-splits", type=int, default=5)
    args = parser.parse_args()
    settings = load_settings()
    model_registry.configure(settings.mlflow_tracking_uri, "quorum")
    params = best_recorded_params(MlflowClient(), LIGHTGBM) or {}
    daily = pd.read_parquet(
        settings.exports_dir / "fct_daily_features.parquet",
        columns=["symbol", "sector", "event_timestamp"],
    )
    stamps = pd.to_datetime(daily["event_timestamp"], utc=True)
    daily = daily[stamps <= pd.Timestamp(SELECTION_END, tz="UTC")]
    kept, too_small = trainable_sectors(latest_sectors(daily), args.min_symbols)
    training_set = pd.read_parquet(settings.training_dir / f"{ANALYST_SERVICE}.parquet")
    report = {}
    for sector, symbols in sorted(kept.items()):
        study = sector_study(
            training_set, sector, symbols, params=params, n_splits=args.n_splits, end=SELECTION_END
        )
        folds = study.folds
        report[sector] = {
            "symbols": symbols,
            "period": f"{study.first_date.date()}..{study.last_date.date()}",
            "mean": {k: round(v, 4) for k, v in study.mean_scores().items()},
            "rank_ic_gain_per_fold": (folds["sector_rank_ic"] - folds["pooled_rank_ic"])
            .round(4)
            .tolist(),
            "folds_sector_ahead": int((folds["sector_rank_ic"] > folds["pooled_rank_ic"]).sum()),
            "folds": len(folds),
        }
    gains = [r["mean"]["sector_rank_ic"] - r["mean"]["pooled_rank_ic"] for r in report.values()]
    print(
        json.dumps(
            {
                "what": "sector's own LightGBM vs the pooled one, same folds and rows, 1990-2018",
                "selection_end": SELECTION_END,
                "params_from_search": bool(params),
                "sectors": report,
                "without_a_model": too_small,
                "median_rank_ic_gain": round(float(pd.Series(gains).median()), 4)
                if gains
                else None,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
