"""``backtest_report`` materialized on the real 20-stock universe: the desk beside four
benchmarks in summary.json and a tearsheet, the design's bar, the ablation, and the MLflow run."""

import json
from itertools import pairwise
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from assets.backtest.report import backtest_report
from assets.resources import (
    Backtesting,
    FeastStore,
    Ledger,
    MarketDataSource,
    MlflowTracking,
    ModelMonitoring,
    Warehouse,
)
from assets.training.execution_rl import execution_rl_scheduler


def test_backtest_report_writes_the_desk_and_four_benchmarks_and_logs_them(real_universe, tmp_path):
    space = real_universe
    tracking = MlflowTracking(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_location=str(tmp_path / "artifacts"),
    )
    config = {
        "first_day": "2013-06-03",
        "last_day": "2014-06-30",
        "holdout_start": "2014-01-01",
        "retrain_months": 6,
        "decision_every": 10,
        "n_estimators": 30,
        "min_train_days": 500,
    }
    # An RL scheduler in the registry, to be compared post-trade; its training is said to end
    # inside the backtest, so only the orders after that date may compare it.
    rl = dg.materialize(
        [execution_rl_scheduler],
        resources={"warehouse": Warehouse(path=str(space.warehouse)),
                   "model_monitoring": ModelMonitoring(
                       mlflow_tracking=tracking,
                       ledger=Ledger(url=f"duckdb:///{tmp_path / 'ledger.duckdb'}"),
                       reports_dir=str(tmp_path))},
        run_config={"ops": {"execution_rl_scheduler": {"config": {"timesteps": 600}}}},
    )  # fmt: skip
    version = rl.asset_materializations_for_node("execution_rl_scheduler")[0].metadata["version"]
    MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)\
        .set_model_version_tag("quorum-execution_rl", version.value, "trained_through",
                               "2013-12-31")  # fmt: skip
    result = dg.materialize(
        [backtest_report],
        resources={
            "warehouse": Warehouse(path=str(space.warehouse)),
            "feast": FeastStore(
                exports_dir=str(space.exports), training_root=str(space.root / "training")
            ),
            "market_data": MarketDataSource(spec=f"csv:{space.root / 'prices.csv'}"),
            "backtesting": Backtesting(
                reports_dir=str(tmp_path / "reports"), mlflow_tracking=tracking
            ),
        },
        run_config={"ops": {"backtest_report": {"config": config}}},
    )
    meta = result.asset_materializations_for_node("backtest_report")[0].metadata
    summary = json.loads(Path(meta["summary"].value).read_text())
    strategies = summary["strategies"]
    assert set(strategies) == {
        "desk", "index_buy_and_hold", "equal_weight", "inverse_volatility", "minimum_variance"
    }  # fmt: skip
    for measured in strategies.values():
        assert (measured["full"]["start"], measured["full"]["end"]) == ("2013-06-03", "2014-06-30")
        assert measured["holdout"]["start"] == "2014-01-02"
        for key in ("cagr", "volatility", "sharpe", "sortino", "calmar", "max_drawdown",
                    "hit_rate", "annual_turnover", "annual_cost_drag"):  # fmt: skip
            assert np.isfinite(measured["full"][key]), key
    sessions = summary["period"]["sessions"]
    assert strategies["desk"]["cycles"] == len(range(0, sessions, config["decision_every"]))
    assert strategies["desk"]["orders"] > 0
    attribution = strategies["desk"]["attribution"]
    assert attribution["trades_scored"] > 0
    assert set(attribution) >= {"market_analyst", "risk_manager", "portfolio_optimizer",
                                "execution_agent", "risk_veto"}  # fmt: skip
    assert strategies["desk"]["full"]["annual_cost_drag"] > 0
    execution = strategies["desk"]["execution_by_schedule"]  # post-trade, per schedule
    assert sum(v["orders"] for v in execution.values()) > 0
    assert set(execution) <= {"vwap", "twap", "almgren_chriss", "pov"}
    assert all(0 < v["fill_rate"] <= 1 for v in execution.values())
    assert all(0 < v["mean_participation"] < 1 for v in execution.values())
    venues = strategies["desk"]["execution_venues"]
    assert "SIMULATED" in venues["simulated"] and venues["children"] > 0
    assert sum(v["children"] for v in venues["venues"].values()) == venues["children"]
    compared = strategies["desk"]["schedules_on_the_same_orders"]
    classical = compared["classical_on_every_order"]
    assert classical["orders"] > 0
    assert set(classical["mean_bp"]) == {"vwap", "twap", "almgren_chriss", "pov", "traded"}
    with_rl = compared["with_rl_on_orders_it_never_saw"]
    assert compared["rl_trained_through"] == "2013-12-31"
    assert 0 < with_rl["orders"] < classical["orders"]  # only the orders of 2014
    assert "rl" in with_rl["mean_bp"] and "rl" in with_rl["p95_bp"]
    starts = [pd.Timestamp(r["from"]) for r in summary["walk_forward"]["retrained"]]
    assert starts[0] == pd.Timestamp("2013-06-03") and len(starts) == 3  # every 6 months
    for before, after in pairwise(starts):
        boundary = before + pd.DateOffset(months=6)
        assert boundary <= after < boundary + pd.Timedelta(days=15)  # the next decision day
    assert summary["universe"]["index"] == "SP500" and len(summary["universe"]["symbols"]) == 20
    html = Path(meta["report_path"].value).read_text()
    for title in ("Every metric", "design's success metrics", "Ablation", "Equity curves",
                  "exposure", "deepest drawdowns", "monthly returns", "Rolling one-year Sharpe",
                  "Consensus weight", "Execution: implementation shortfall",
                  "With the RL scheduler", "Venues (venues are SIMULATED"):  # fmt: skip
        assert title in html, title
    assert html.index("<table") < html.index("plotly")  # a tearsheet opens with its numbers
    design = summary["design_success"]
    assert set(design) == {"full", "before_holdout", "holdout"}
    for period, verdict in design.items():
        desk_sharpe = strategies["desk"][period]["sharpe"]
        assert verdict["sharpe"] == desk_sharpe
        assert verdict["sharpe_met"] == (desk_sharpe > 1.5)
        assert verdict["met"] == (verdict["sharpe_met"] and verdict["max_drawdown_met"])
    ablation = summary["ablation"]["variants"]
    assert {"desk", "no_market_analyst", "no_risk_manager", "no_risk_budget", "no_breakers",
            "no_consensus_sizing"} <= set(ablation)  # fmt: skip
    assert ablation["desk"]["full"]["sharpe"] == pytest.approx(strategies["desk"]["full"]["sharpe"])
    assert ablation["no_risk_budget"]["full"]["sharpe"] != ablation["desk"]["full"]["sharpe"]
    exposure = summary["exposure"]
    assert exposure["mean_gross"] > 0 and exposure["hedge_instrument"] == "SP500"
    assert exposure["mean_hedge"] < 0  # the Risk Manager's index short
    assert exposure["short_financing_usd"] > 0  # ...and what holding it cost
    assert exposure["mean_net_with_hedge"] < exposure["mean_net"]
    assert {"no_hedge", "long_short_130_30"} <= set(ablation)
    assert ablation["no_hedge"]["full"]["volatility"] != ablation["desk"]["full"]["volatility"]
    client = MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)
    logged = {a.path for a in client.list_artifacts(meta["mlflow_run_id"].value)}
    assert logged == {"summary.json", "report.html"}
    run = client.get_run(meta["mlflow_run_id"].value)
    assert run.data.metrics["desk.full.sharpe"] == pytest.approx(
        strategies["desk"]["full"]["sharpe"]
    )
