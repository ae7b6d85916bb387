"""Training the Market Analyst on Feast's training set and registering it in MLflow."""

from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from agents.market_analyst.registration import register_analyst
from agents.market_analyst.training import train_market_analyst
from assets.features.feature_store import training_set
from assets.monitoring.data_quality import training_data_quality
from assets.resources import FeastStore, MlflowTracking
from features.definitions import ANALYST_SERVICE
from features.vectors import analyst_feature_rows

FEATURE_SERVICE = ANALYST_SERVICE


class MarketAnalystTrainingConfig(dg.Config):
    horizon_days: int = Field(default=5, description="Label: forward excess return, days.")
    n_splits: int = Field(default=5, description="Walk-forward test blocks.")
    min_train_days: int = Field(default=1260, description="First training window, days.")
    n_estimators: int = Field(default=300, description="LightGBM trees.")
    learning_rate: float = Field(default=0.03, description="LightGBM learning rate.")


@dg.asset(
    group_name="training",
    kinds={"lightgbm", "mlflow"},
    deps=[training_set, dg.AssetKey(["marts", "fct_market_features"])],
)
def market_analyst_model(
    context: dg.AssetExecutionContext,
    config: MarketAnalystTrainingConfig,
    feast: FeastStore,
    mlflow_tracking: MlflowTracking,
) -> dg.MaterializeResult:
    """LightGBM on market_analyst_v1, validated walk-forward with purge and embargo, the
    regime model alongside; logged to MLflow and registered as quorum-market_analyst
    (alias challenger)."""
    data = pd.read_parquet(Path(feast.training_dir) / f"{FEATURE_SERVICE}.parquet")
    market = pd.read_parquet(feast.exports / "fct_market_features.parquet")
    market_returns = market.set_index(pd.to_datetime(market["date"]))["market_return_1d"]
    params = {"n_estimators": config.n_estimators, "learning_rate": config.learning_rate}
    result = train_market_analyst(
        data,
        market_returns,
        horizon_days=config.horizon_days,
        n_splits=config.n_splits,
        min_train_days=config.min_train_days,
        model_params=params,
    )
    quality, quality_notes = training_data_quality(context)
    mlflow_tracking.configure()
    registered, reference = register_analyst(
        result,
        data,
        analyst_feature_rows(feast.exports),
        feature_service=FEATURE_SERVICE,
        horizon_days=config.horizon_days,
        n_splits=config.n_splits,
        data_quality=quality,
        quality_notes=quality_notes,
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
            "regime_daily_vol": [round(float(v), 5) for v in result.regime.daily_vol_],
        }
    )
