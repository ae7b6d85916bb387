"""Training the Market Analyst's ensemble on Feast's training set and registering it in
MLflow; the members' hyper-parameter search is its own asset (``market_analyst_search``)."""

import dagster as dg
import pandas as pd
from pydantic import Field

from agents.market_analyst.names import LIGHTGBM
from assets.features.feature_store import training_set
from assets.monitoring.data_quality import training_data_quality
from assets.resources import AnalystTraining, FeastStore, MlflowTracking
from features.names import ANALYST_SERVICE

FEATURE_SERVICE = ANALYST_SERVICE


def member_table(member_folds: pd.DataFrame) -> pd.DataFrame:
    """Each member's mean out-of-sample metrics over the folds."""
    columns = ["rank_ic", "ic", "hit_rate", "auc", "long_short_sharpe"]
    return member_folds.groupby("member")[columns].mean().round(4)


class MarketAnalystTrainingConfig(dg.Config):
    horizon_days: int = Field(default=5, description="Label: forward excess return, days.")
    n_splits: int = Field(default=5, description="Walk-forward test blocks.")
    min_train_days: int = Field(default=1260, description="First training window, days.")
    members: list[str] | None = Field(
        default=None,
        description="Ensemble members: lightgbm, lstm, transformer, cnn; default: the "
        "deployment's (QUORUM_ANALYST_MEMBERS).",
    )
    sequence_epochs: int = Field(
        default=1,
        description="At most this many epochs per sequence-model fit in this run, whatever "
        "the search chose (the daily run's budget on 2 cores).",
    )
    sequence_max_train_rows: int = Field(
        default=40_000,
        description="Each sequence-model fit reads at most this many of its newest rows.",
    )
    sequence_recent_folds: int = Field(
        default=3,
        description="The sequence models are trained and scored on this many of the latest "
        "walk-forward folds in this run (LightGBM on all of them); the search uses every fold.",
    )
    use_search_results: bool = Field(
        default=True,
        description="Train each member with the best parameters market_analyst_search "
        "recorded in MLflow; the defaults when it never ran.",
    )


def member_params(
    config: MarketAnalystTrainingConfig, members: list[str], searched: dict
) -> dict[str, dict]:
    """Each member's parameters: the search's best where recorded, the run's caps on top."""
    out = {}
    for member in members:
        params = dict(searched.get(member) or {})
        if member != LIGHTGBM:  # the daily budget caps what the search may have chosen
            params["epochs"] = min(params.get("epochs", config.sequence_epochs),
                                   config.sequence_epochs)  # fmt: skip
            params["max_train_rows"] = config.sequence_max_train_rows
        out[member] = params
    return out


@dg.asset(
    group_name="training",
    kinds={"lightgbm", "pytorch", "mlflow"},
    deps=[training_set, dg.AssetKey(["marts", "fct_market_features"])],
)
def market_analyst_model(
    context: dg.AssetExecutionContext,
    config: MarketAnalystTrainingConfig,
    feast: FeastStore,
    mlflow_tracking: MlflowTracking,
    analyst_training: AnalystTraining,
) -> dg.MaterializeResult:
    """LightGBM, an LSTM, a Transformer and a CNN on market_analyst_v2, each validated
    walk-forward with purge and embargo, combined by their out-of-fold rank IC; the regime
    model alongside; logged to MLflow (members as nested runs) and registered as
    quorum-market_analyst (alias challenger)."""
    # The models' libraries (LightGBM, PyTorch, MLflow) load with the step, not the location.
    from mlflow import MlflowClient

    from agents.market_analyst.registration import register_analyst
    from agents.market_analyst.search import best_recorded_params
    from agents.market_analyst.training import train_market_analyst
    from features.vectors import analyst_serving_rows
    from features.windows import SERVING_WINDOW_SESSIONS

    data = feast.training_set(FEATURE_SERVICE)
    market = feast.exports.read("fct_market_features")
    market_returns = market.set_index(pd.to_datetime(market["date"]))["market_return_1d"]
    mlflow_tracking.configure()
    members = config.members or analyst_training.members
    searched = {}
    if config.use_search_results:
        client = MlflowClient()
        searched = {m: best_recorded_params(client, m) for m in members}
    result = train_market_analyst(
        data,
        market_returns,
        horizon_days=config.horizon_days,
        n_splits=config.n_splits,
        min_train_days=config.min_train_days,
        members=member_params(config, members, searched),
        recent_folds={m: config.sequence_recent_folds for m in members if m != LIGHTGBM},
    )
    quality, quality_notes = training_data_quality(context)
    registered, reference = register_analyst(
        result,
        data,
        # its reference ends where the serving window starts: that window's rows suffice
        analyst_serving_rows(feast.exports, SERVING_WINDOW_SESSIONS),
        feature_service=FEATURE_SERVICE,
        horizon_days=config.horizon_days,
        n_splits=config.n_splits,
        data_quality=quality,
        quality_notes=quality_notes,
        # Even the first version is champion only through a gate: the bootstrap gate of
        # market_analyst_promotion, once its serving window's drift is measured.
        first_is_champion=False,
    )
    latest = result.latest_fold
    return dg.MaterializeResult(
        metadata={
            "model": registered.name,
            "version": registered.version,
            "aliases": list(registered.aliases),
            "mlflow_run_id": registered.run_id,
            "feature_service": FEATURE_SERVICE,
            "training_data_quality": quality,
            "drift_reference_rows": len(reference),
            "label": result.label,
            "min_train_days_used": result.min_train_days,
            "oos_latest_fold_rank_ic": latest["rank_ic"],
            "oos_latest_fold_hit_rate": latest["hit_rate"],
            "oos_latest_fold_ic": latest["ic"],
            "oos_latest_fold_auc": latest["auc"],
            "oos_latest_fold_long_short_sharpe": latest["long_short_sharpe"],
            "oos_latest_fold_period": f"{latest['test_start'].date()}..{latest['test_end'].date()}",
            "folds": dg.MetadataValue.md(result.folds.round(4).to_markdown(index=False)),
            "members": dg.MetadataValue.md(member_table(result.member_folds).to_markdown()),
            "ensemble_weights": {m: round(w, 4) for m, w in result.model.weights.items()},
            "params_from_search": sorted(m for m, p in searched.items() if p),
            "oos_mean_rank_ic": float(result.folds["rank_ic"].mean()),
            "member_oos_mean_rank_ic": {
                m: round(float(v), 5)
                for m, v in result.member_folds.groupby("member")["rank_ic"].mean().items()
            },
            "regime_daily_vol": [round(float(v), 5) for v in result.regime.daily_vol_],
        }
    )
