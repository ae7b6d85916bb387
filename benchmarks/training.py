"""Seconds to train the Market Analyst's members, and milliseconds to score the ensemble,
printed as JSON.

- ``daily_run``: one purged walk-forward (5 folds) plus the final fit of each member with the
  daily run's settings (market_analyst_model's defaults), on the last `make run`'s training
  set; every member's mean out-of-sample rank IC beside it.
- ``search_trial``: one Optuna-style trial per member (3 folds, 1990-2018 only) with the
  search's fixed caps and the middle of its space.
- ``analyst_scoring``: the registered champion's predict + confidence + attribution for 20
  and 500 symbols (the 500 resample the real latest rows), p50 and p99 over repeats.

    python -m benchmarks.training [--members lightgbm,lstm,transformer,cnn]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPEATS = 30


def _ms(fn) -> dict[str, float]:
    fn()  # warm
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return {
        "p50_ms": round(float(np.percentile(samples, 50)), 2),
        "p99_ms": round(float(np.percentile(samples, 99)), 2),
    }


def analyst_scoring(model, exports: Path) -> dict:
    """Milliseconds of the analyst's scoring at 20 and 500 symbols on the latest served rows:
    the ensemble's forecast and calibrated confidence; LightGBM's alone (what the ensemble
    adds is the difference); and the TreeSHAP attribution, which both pay."""
    from features.parquet_store import ParquetStore
    from features.vectors import analyst_feature_rows

    rows = analyst_feature_rows(ParquetStore(str(exports)))
    latest = rows[rows["event_timestamp"] == rows["event_timestamp"].max()]
    members = getattr(model, "members", {})
    trees = members.get("lightgbm")
    out = {}
    for size in (20, 500):
        frame = latest.sample(size, replace=True, random_state=0).reset_index(drop=True)
        out[f"{size}_symbols"] = {
            "ensemble_forecast": _ms(lambda f=frame: model.confidence(model.predict(f))),
            "lightgbm_alone_forecast": _ms(lambda f=frame: trees.predict(f)) if trees else None,
            "attribution": _ms(lambda f=frame: model.attribution(f)),
        }
    out["members_with_weight"] = sorted(
        m for m, w in getattr(model, "weights", {}).items() if w > 0
    )
    out["target_added_ms_500_symbols"] = 10
    return out


def _timed_walk(data, label, member, params, splitter) -> tuple[float, pd.DataFrame]:
    from agents.market_analyst.training import walk_forward

    start = time.perf_counter()
    _, _, member_folds = walk_forward(data, label, {member: params}, splitter)
    return time.perf_counter() - start, member_folds


def main() -> None:
    from agents import model_registry
    from agents.desk.models import load_desk_models
    from agents.market_analyst.training import LIGHTGBM, SEQUENCE_MEMBERS, labelled_rows
    from agents.market_analyst.walk_forward import PurgedWalkForward
    from assets.training.market_analyst import MarketAnalystTrainingConfig, member_params
    from assets.training.market_analyst_search import MarketAnalystSearchConfig
    from features.names import ANALYST_SERVICE
    from features.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", default=",".join([LIGHTGBM, *SEQUENCE_MEMBERS]))
    args = parser.parse_args()
    members = args.members.split(",")
    settings = load_settings()
    path = settings.training_dir / f"{ANALYST_SERVICE}.parquet"
    if not path.exists():
        raise SystemExit(f"no training set at {path}: run `make run` first")
    label = "forward_excess_return_5d"
    data = labelled_rows(pd.read_parquet(path), label)
    daily = MarketAnalystTrainingConfig(members=members)
    report: dict = {"what": "seconds per member; ms to score", "rows": len(data)}

    splitter = PurgedWalkForward(5, daily.min_train_days, 5, 5)
    report["daily_run"] = {}
    for member, params in member_params(daily, members, {}).items():
        seconds, folds = _timed_walk(data, label, member, params, splitter)
        report["daily_run"][member] = {
            "walk_forward_seconds": round(seconds, 1),
            "per_fit_seconds": round(seconds / 5, 1),
            "mean_oos_rank_ic": round(float(folds["rank_ic"].mean()), 5),
            "params": params,
        }

    search = MarketAnalystSearchConfig()
    selection = data[data["date"] <= pd.Timestamp(search.selection_end)]
    trial_splitter = PurgedWalkForward(search.n_splits, 1260, 5, 5)
    report["search_trial"] = {}
    for member in members:
        params = (
            {"n_estimators": 300, "num_leaves": 31}
            if member == LIGHTGBM
            else {"epochs": 2, "max_train_rows": search.sequence_max_train_rows}
        )
        seconds, _ = _timed_walk(selection, label, member, params, trial_splitter)
        report["search_trial"][member] = {"seconds": round(seconds, 1), "params": params}

    model_registry.configure(settings.mlflow_tracking_uri, "quorum")
    report["analyst_scoring"] = analyst_scoring(
        load_desk_models().signal_model, settings.exports_dir
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
