"""``backtest_report``: the desk walked forward with its benchmarks, as JSON, HTML and an
MLflow run. Domain logic lives in ``agents.backtest``; this is the glue."""

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.features.feature_store import training_set
from assets.resources import Backtesting, FeastStore, MarketDataSource, Warehouse
from features.names import ANALYST_SERVICE

FEATURE_SERVICE = ANALYST_SERVICE


class BacktestConfig(dg.Config):
    first_day: str = Field(
        default="1997-01-02",
        description="First decision session, or the first the data allow: the signal model "
        "needs its first training window (min_train_days), test blocks and the label horizon "
        "of history before it, counted from the data's first session.",
    )
    last_day: str | None = Field(default=None, description="Last session (default: the data's).")
    holdout_start: str = Field(
        default="2019-01-01",
        description="Years reported apart and held out of every design choice.",
    )
    retrain_months: int = Field(default=12, description="Retrain every N months, expanding.")
    decision_every: int = Field(default=5, description="A decision cycle every N sessions.")
    n_estimators: int = Field(default=100, description="LightGBM trees per retraining.")
    n_splits: int = Field(default=3, description="Walk-forward folds inside each retraining.")
    min_train_days: int = Field(default=1260, description="First training window, days.")
    training_workers: int = Field(
        default=2,
        description="Processes training the next years' models while one trades (0: in turn; "
        "each holds the training set, so a large universe may want fewer).",
    )
    ablation: bool = Field(
        default=True,
        description="Also run the desk with each agent's influence and each overlay switched "
        "off in turn, on the same days, models and costs (the ablation table).",
    )
    ablation_workers: int = Field(default=2, description="Processes running ablation variants.")
    hedge: bool = Field(default=True, description="The Risk Manager's index hedge.")
    hedge_instrument: str | None = Field(
        default=None, description="The symbol the hedge shorts; default: the data's index."
    )
    max_short: float = Field(
        default=0.0,
        ge=0.0,
        description="A long-short book: the shape's shorts sum to at most this (0.3: 130/30); "
        "0 keeps the book long only.",
    )


@dg.asset(
    group_name="backtest",
    kinds={"lightgbm", "plotly", "mlflow"},
    deps=[training_set, dg.AssetKey(["marts", "fct_market_features"])],
)
def backtest_report(
    context: dg.AssetExecutionContext,
    config: BacktestConfig,
    warehouse: Warehouse,
    feast: FeastStore,
    market_data: MarketDataSource,
    backtesting: Backtesting,
) -> dg.MaterializeResult:
    """The live desk (agents, consensus, limits, breakers, paper broker) walked forward over
    the history with yearly retraining, next to the index, equal weight, inverse volatility
    and minimum variance on the same days and costs. Writes summary.json and report.html
    under QUORUM_HOME/reports/backtest and logs both to MLflow."""
    # The desk, its agents and their libraries load when the step runs (docs/speed.md).
    from agents.backtest.ablation import ablation_table, ablation_variants, run_ablation
    from agents.backtest.desk_run import (
        DeskPolicies,
        WalkForward,
        daily_exposure,
        run_desk_backtest,
    )
    from agents.backtest.report import (
        agent_weights,
        benchmark_strategies,
        desk_strategy,
        summary,
        write_summary,
    )
    from agents.backtest.tearsheet import write_tearsheet
    from agents.desk.config import DeskConfig
    from agents.desk.ledger import DuckDBEventLog
    from agents.desk.models import hedged_limits, long_short_limits
    from features.vectors import analyst_feature_rows
    from monitoring.report_store import report_link

    market = warehouse.staged_market()
    prices, symbols, index_symbol = market.prices, market.symbols, market.benchmark_symbol
    market = feast.exports.read("fct_market_features")
    walk = WalkForward(
        first_day=config.first_day,
        last_day=config.last_day,
        retrain_months=config.retrain_months,
        decision_every=config.decision_every,
        n_splits=config.n_splits,
        min_train_days=config.min_train_days,
        model_params={"n_estimators": config.n_estimators},
        training_workers=config.training_workers,
    )
    reports = backtesting.reports()
    ledger_path = reports.local_path("backtest", "ledger.duckdb")
    ledger_path.unlink(missing_ok=True)  # a simulation's ledger: regenerated every run
    log = DuckDBEventLog(ledger_path)
    inputs = {
        "prices": prices,
        "feature_rows": analyst_feature_rows(feast.exports),
        "training_rows": feast.training_set(FEATURE_SERVICE),
        "market_returns": market.set_index(pd.to_datetime(market["date"]))["market_return_1d"],
        "sectors": dict(zip(symbols["symbol"], symbols["sector"], strict=True)),
        "index_symbol": index_symbol,
    }
    # Every fill also records what each schedule would have cost on the same bar and venues.
    config_used = DeskConfig(feed_name="backtest", execution_counterfactuals=True)
    policies = DeskPolicies()
    limits = hedged_limits(policies.risk_limits, config.hedge, config.hedge_instrument)
    limits, optimizer = long_short_limits(limits, policies.optimizer_config, config.max_short)
    rl = backtesting.rl_scheduler_to_compare()
    policies = DeskPolicies(risk_limits=limits, optimizer_config=optimizer, rl_to_compare=rl)
    try:
        run = run_desk_backtest(
            log=log, walk=walk, config=config_used, policies=policies,
            progress=context.log.info, **inputs,
        )  # fmt: skip
        closes = prices.pivot(index="date", columns="symbol", values="close")
        closes.index = pd.to_datetime(closes.index)
        desk = desk_strategy(run, log, closes, rl.trained_through if rl else None)
        weights = agent_weights(log)
    finally:
        log.close()
    exposure = daily_exposure(run)
    ablation = None
    if config.ablation:
        variants = ablation_variants(config_used, policies)
        context.log.info(f"ablation: {len(variants)} variants on the same trained models")
        returns = run_ablation(variants, walk, run.models, inputs, workers=config.ablation_workers)
        ablation = ablation_table(desk.returns, variants, returns, config.holdout_start)
    assets = symbols.loc[symbols["role"] == "asset", "symbol"].tolist()
    strategies = [desk, *benchmark_strategies(closes, assets, index_symbol, run.nav.index)]
    content = summary(
        strategies,
        universe={"source": market_data.spec, "symbols": assets, "index": index_symbol},
        walk_forward={**walk.__dict__, "retrained": run.retrained},
        holdout_start=config.holdout_start,
    )
    content["exposure"] = {
        "mean_gross": float(exposure["gross"].mean()),
        "mean_net": float(exposure["net"].mean()),
        "mean_hedge": float(exposure["hedge"].mean()),
        "mean_net_with_hedge": float(exposure["net_with_hedge"].mean()),
        "hedge_instrument": run.hedge_instrument,
        "short_financing_usd": float(-run.financing["cash"].sum()),
    }
    if ablation is not None:
        content["ablation"] = ablation
    summary_path = write_summary(reports.local_path("backtest", "summary.json"), content)
    html_path = write_tearsheet(
        reports.local_path("backtest", "report.html"),
        content, strategies, exposure, weights, "Quorum desk backtest",
    )  # fmt: skip
    run_id = backtesting.log_to_mlflow(content, [summary_path, html_path])
    kept_summary, kept_html = (reports.keep(p, "backtest") for p in (summary_path, html_path))
    full = {name: s["full"] for name, s in content["strategies"].items()}
    table = pd.DataFrame(full).T[["cagr", "volatility", "sharpe", "sortino", "max_drawdown"]]
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.path(kept_summary),
            "report": dg.MetadataValue.url(report_link(kept_html)),
            "report_path": dg.MetadataValue.path(kept_html),
            "mlflow_run_id": run_id,
            "period": f"{content['period']['start']}..{content['period']['end']}",
            "desk_sharpe": full["desk"]["sharpe"],
            "desk_max_drawdown": full["desk"]["max_drawdown"],
            "design_bar_met": dg.MetadataValue.json(
                {p: v["met"] for p, v in content["design_success"].items()}
            ),
            "cycles": desk.extra["cycles"],
            "strategies": dg.MetadataValue.md(table.round(4).to_markdown()),
        }
    )
