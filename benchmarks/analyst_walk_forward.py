"""The analyst's members and ensemble walked forward on the selection period (1990-2018),
per fold, then scored once on the holdout (2019 onwards) apart, printed as JSON.

Every member uses the newest search's best parameters where one was recorded
(``market_analyst_search``), the defaults otherwise, and is trained on every fold with all
its rows (no daily-run caps). The holdout block trains on every row labelled by the end of
2018 (purged by the label horizon) and is never used to choose anything.

    python -m benchmarks.analyst_walk_forward [--members lightgbm,lstm,transformer,cnn]
"""

from __future__ import annotations

import argparse
import json

import pandas as pd

HOLDOUT_START = "2019-01-01"


def _table(frame: pd.DataFrame, by: list[str]) -> list[dict]:
    columns = [*by, "test_start", "test_end", "rank_ic", "ic", "hit_rate", "long_short_sharpe"]
    out = frame[[c for c in columns if c in frame]].copy()
    for c in ("test_start", "test_end"):
        out[c] = out[c].astype(str).str[:10]
    return out.round(5).to_dict(orient="records")


def main() -> None:
    from mlflow import MlflowClient

    from agents import model_registry
    from agents.market_analyst.ensemble import weights_from_member_folds
    from agents.market_analyst.evaluation import forecast_metrics
    from agents.market_analyst.search import SELECTION_END, best_recorded_params
    from agents.market_analyst.training import (
        LIGHTGBM,
        SEQUENCE_MEMBERS,
        labelled_rows,
        walk_forward,
    )
    from agents.market_analyst.walk_forward import PurgedWalkForward
    from features.names import ANALYST_SERVICE
    from features.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", default=",".join([LIGHTGBM, *SEQUENCE_MEMBERS]))
    args = parser.parse_args()
    settings = load_settings()
    model_registry.configure(settings.mlflow_tracking_uri, "quorum")
    client = MlflowClient()
    members = {m: best_recorded_params(client, m) or {} for m in args.members.split(",")}
    label = "forward_excess_return_5d"
    training_set = pd.read_parquet(settings.training_dir / f"{ANALYST_SERVICE}.parquet")
    data = labelled_rows(training_set, label)
    selection = data[data["date"] <= pd.Timestamp(SELECTION_END)].reset_index(drop=True)
    _, folds, member_folds = walk_forward(
        selection, label, members, PurgedWalkForward(5, 1260, 5, 5)
    )
    # The holdout, once: one block after the selection period, trained on all of it.
    days = sorted(data["date"].unique())
    first_holdout = next(i for i, d in enumerate(days) if d >= pd.Timestamp(HOLDOUT_START))
    holdout_splitter = PurgedWalkForward(1, first_holdout, 5, 5)
    holdout_oos, _, holdout_members = walk_forward(data, label, members, holdout_splitter)
    # the ensemble there weights the members as deployed at the end of 2018
    weights = weights_from_member_folds(member_folds, list(members))
    holdout_oos["prediction"] = sum(w * holdout_oos[f"prediction_{m}"] for m, w in weights.items())
    holdout = pd.DataFrame(
        [{"test_start": holdout_oos["date"].min(), "test_end": holdout_oos["date"].max(),
          **forecast_metrics(holdout_oos)}]
    )  # fmt: skip
    report = {
        "what": "out-of-sample rank IC, IC, hit rate, long-short Sharpe per fold",
        "params": members,
        "selection_1990_2018": {
            "members": _table(member_folds, ["member", "fold"]),
            "ensemble": _table(folds, ["fold"]),
            "mean_rank_ic": {
                **member_folds.groupby("member")["rank_ic"].mean().round(5).to_dict(),
                "ensemble": round(float(folds["rank_ic"].mean()), 5),
            },
            "ensemble_over_lightgbm": round(
                float(folds["rank_ic"].mean())
                / float(member_folds.query("member == 'lightgbm'")["rank_ic"].mean()),
                3,
            )
            if LIGHTGBM in members
            else None,
        },
        "holdout_2019_on_reported_once": {
            "members": _table(holdout_members, ["member"]),
            "ensemble": _table(holdout, []),
            "ensemble_weights_from_1990_2018": {m: round(w, 4) for m, w in weights.items()},
        },
    }
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
