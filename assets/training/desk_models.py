"""The Risk Manager's, Portfolio Optimizer's and Execution Agent's models: evaluated out of
sample where there is something to score, calibrated otherwise, registered in MLflow."""

from typing import TYPE_CHECKING

import dagster as dg
import numpy as np
import pandas as pd

from assets.monitoring.data_quality import training_data_quality
from assets.resources import MlflowTracking, Warehouse

# Each asset imports its agent (skfolio, statsmodels, MLflow) when its step runs.
if TYPE_CHECKING:
    from agents.model_registry import RegisteredVersion

STAGING = [dg.AssetKey(["staging", "stg_prices"]), dg.AssetKey(["staging", "stg_symbols"])]


def _market(warehouse: Warehouse) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Long asset prices, their wide daily returns, and sectors: from the warehouse."""
    market = warehouse.staged_market()
    prices = market.asset_prices()[["date", "symbol", "close", "volume"]]
    sectors = market.sectors
    returns = prices.pivot(index="date", columns="symbol", values="close").pct_change().iloc[1:]
    return prices, returns, sectors


def _quality_tags(context: dg.AssetExecutionContext) -> dict[str, str]:
    """The training data's checks, on the version: the live gate reads them
    (``monitoring.agent_evidence``)."""
    from agents.model_names import DATA_QUALITY_TAG

    return {DATA_QUALITY_TAG: training_data_quality(context)[0]}


def _metadata(registered: "RegisteredVersion", metrics: dict) -> dict:
    return {
        "model": registered.name,
        "version": registered.version,
        "aliases": list(registered.aliases),
        "mlflow_run_id": registered.run_id,
        **{k: float(v) for k, v in metrics.items()},
    }


@dg.asset(group_name="training", kinds={"mlflow"}, deps=STAGING)
def risk_manager_model(
    context: dg.AssetExecutionContext, warehouse: Warehouse, mlflow_tracking: MlflowTracking
) -> dg.MaterializeResult:
    """Backtests the desk's own 1-day forecast VaR (95/99%: EWMA volatility, Student-t
    tails) of an equal-weight book day by day on data it has not seen, with Kupiec's test
    and the last 250 days' breaches (the bootstrap gate reads them), and the historical VaR
    beside it; registers the limits as quorum-risk_manager, challenger until a gate
    promotes it."""
    from agents import model_registry
    from agents.risk_manager.agent import RiskLimits
    from agents.risk_manager.backtest import risk_model_evaluation
    from agents.risk_manager.serving import SERVING_PACKAGES, RiskModel

    _, returns, _ = _market(warehouse)
    limits = RiskLimits()
    metrics = risk_model_evaluation(returns, limits.lookback_days, limits.budget.ewma_decay)
    book = returns.mean(axis=1)  # equal weight over the symbols trading each day
    example = pd.DataFrame({"portfolio_return": book.tail(limits.lookback_days).to_numpy()})
    model = RiskModel(limits)
    mlflow_tracking.configure()
    registered = model_registry.log_and_register(
        "risk_manager",
        model,
        params=limits.__dict__,
        metrics=metrics,
        tags={
            "evaluation": "forecast (EWMA, t tails) and historical VaR backtests, "
            "equal-weight book, one day ahead"
        },
        version_tags=_quality_tags(context),
        first_is_champion=False,  # the bootstrap gate decides
        input_example=example,
        output_example=model.predict(None, example),
        pip_requirements=model_registry.installed_requirements(SERVING_PACKAGES),
    )
    return dg.MaterializeResult(metadata=_metadata(registered, metrics))


@dg.asset(group_name="training", kinds={"skfolio", "mlflow"}, deps=STAGING)
def portfolio_optimizer_model(
    context: dg.AssetExecutionContext, warehouse: Warehouse, mlflow_tracking: MlflowTracking
) -> dg.MaterializeResult:
    """Refits the optimizer's risk-parity fallback yearly on the two years before and holds
    the next year: forecast against realised volatility, out of sample."""
    from agents import model_registry
    from agents.portfolio_optimizer.evaluation import summary, walk_forward_hrp
    from agents.portfolio_optimizer.optimizer import OptimizerConfig
    from agents.portfolio_optimizer.serving import SERVING_PACKAGES, OptimizerModel

    _, returns, sectors = _market(warehouse)
    config = OptimizerConfig()
    walk = walk_forward_hrp(returns, sectors, config, train_days=min(504, len(returns) // 2))
    metrics = summary(walk)
    example = returns.tail(504).dropna(axis=1)
    model = OptimizerModel(config, sectors)
    mlflow_tracking.configure()
    registered = model_registry.log_and_register(
        "portfolio_optimizer",
        model,
        params=config.__dict__,
        metrics=metrics,
        tags={"evaluation": "yearly walk-forward of the HRP fallback, 2-year fit"},
        version_tags=_quality_tags(context),
        first_is_champion=False,  # the bootstrap gate decides
        input_example=example,
        output_example=model.predict(None, example),
        pip_requirements=model_registry.installed_requirements(SERVING_PACKAGES),
    )
    return dg.MaterializeResult(
        metadata={
            **_metadata(registered, metrics),
            "walk_forward": dg.MetadataValue.md(walk.round(5).to_markdown(index=False)),
        }
    )


@dg.asset(group_name="training", kinds={"mlflow"}, deps=STAGING)
def execution_model(
    context: dg.AssetExecutionContext, warehouse: Warehouse, mlflow_tracking: MlflowTracking
) -> dg.MaterializeResult:
    """Calibrates one impact model per symbol from its last 63 days. There are no realised
    execution costs to score it against before it trades; out of sample, each 63-day
    calibrated volatility is scored against the next 21 days' (the bootstrap gate reads it)."""
    from agents import model_registry
    from agents.execution.agent import ExecutionPolicy
    from agents.execution.evaluation import summary, volatility_forecast_backtest
    from agents.execution.serving import SERVING_PACKAGES, ExecutionCostModel, calibrate_universe

    prices, _, _ = _market(warehouse)
    models = calibrate_universe(prices)
    policy = ExecutionPolicy()
    one_percent = [
        m.expected_cost(0.01 * m.adv_shares, 1.0, policy.half_spread) for m in models.values()
    ]
    metrics = {
        "symbols": len(models),
        "share_calibrated_from_volume": float(
            np.mean([m.calibrated_from_volume for m in models.values()])
        ),
        "median_daily_volatility": float(np.median([m.daily_volatility for m in models.values()])),
        "median_cost_1pct_adv_one_day": float(np.median(one_percent)),
        **summary(volatility_forecast_backtest(prices)),
    }
    example = pd.DataFrame({"symbol": list(models)[:3], "shares": 10_000.0, "duration_days": 1.0})
    model = ExecutionCostModel(models, policy.half_spread)
    mlflow_tracking.configure()
    registered = model_registry.log_and_register(
        "execution",
        model,
        params={
            "half_spread": policy.half_spread,
            "lookback_days": 63,
            "eta": 0.142,
            "gamma": 0.314,
            "beta": 0.6,
        },
        metrics=metrics,
        tags={"evaluation": "calibration; its volatility scored against the next 21 days"},
        version_tags=_quality_tags(context),
        first_is_champion=False,  # the bootstrap gate decides
        input_example=example,
        output_example=model.predict(None, example),
        pip_requirements=model_registry.installed_requirements(SERVING_PACKAGES),
    )
    return dg.MaterializeResult(metadata=_metadata(registered, metrics))
