"""Training the Market Analyst on Feast's training set and registering it in MLflow."""

import shutil
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from agents import model_registry
from agents.market_analyst.serving import MarketAnalystModel
from agents.market_analyst.training import train_market_analyst
from assets.features.feature_store import training_set
from assets.monitoring.data_quality import training_data_quality
from features.definitions import ANALYST_FEATURES
from features.vectors import analyst_feature_rows
from monitoring.analyst_gate import (
    OUT_OF_SAMPLE_ARTIFACT,
    REFERENCE_ARTIFACT,
    reference_rows,
    serving_window_start,
)
from monitoring.promotion import DATA_QUALITY_TAG
from orchestration.resources import FeastStore, MlflowTracking

FEATURE_SERVICE = "market_analyst_v1"


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
    latest = result.latest_fold
    overall = result.folds.drop(columns=["fold", "test_start", "test_end"]).mean().to_dict()
    metrics = {
        f"oos_latest_{k}": float(v)
        for k, v in latest.items()
        if k not in ("fold", "test_start", "test_end")
    }
    metrics |= {f"oos_mean_{k}": float(v) for k, v in overall.items()}
    example = data[ANALYST_FEATURES].tail(5).reset_index(drop=True)
    python_model = MarketAnalystModel(result.model, result.regime)
    quality, quality_notes = training_data_quality(context)
    # The drift reference ends where today's serving window starts, so they never overlap.
    window_start = serving_window_start(analyst_feature_rows(feast.exports))
    reference = reference_rows(data, result.out_of_sample, result.label, before=window_start)
    reference_span = f"{reference['date'].min().date()}..{reference['date'].max().date()}"
    staging = Path(tempfile.mkdtemp(prefix="analyst-artifacts-"))
    reference.to_parquet(staging / REFERENCE_ARTIFACT, index=False)
    result.out_of_sample.to_parquet(staging / OUT_OF_SAMPLE_ARTIFACT, index=False)
    mlflow_tracking.configure()
    registered = model_registry.log_and_register(
        "market_analyst",
        python_model,
        params={
            **result.model.get_params(),
            "horizon_days": config.horizon_days,
            "n_splits": config.n_splits,
            "min_train_days": result.min_train_days,
            "label": result.label,
        },
        metrics=metrics,
        tags={
            "feature_service": FEATURE_SERVICE,
            "data_first_date": str(result.first_date.date()),
            "data_last_date": str(result.last_date.date()),
            "latest_fold_test": f"{latest['test_start'].date()}..{latest['test_end'].date()}",
            "drift_reference": reference_span,
        },
        version_tags={
            DATA_QUALITY_TAG: quality,
            "data_quality_notes": "; ".join(quality_notes) or "none",
        },
        input_example=example,
        output_example=python_model.predict(None, example),
        artifacts={
            REFERENCE_ARTIFACT: str(staging / REFERENCE_ARTIFACT),
            OUT_OF_SAMPLE_ARTIFACT: str(staging / OUT_OF_SAMPLE_ARTIFACT),
        },
    )
    shutil.rmtree(staging, ignore_errors=True)
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
