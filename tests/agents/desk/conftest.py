"""The paper desk's parts on the daily graph's 3 stocks and its index: models fitted in
sample (these tests are about the desk's mechanics, not the model's skill), the graph's
prices and online feature store."""

import uuid

import pandas as pd
import psycopg
import pytest

from agents.desk.models import DeskModels
from agents.market_analyst.signal_model import SignalModel
from agents.portfolio_optimizer.optimizer import OptimizerConfig
from agents.risk_manager.agent import RiskLimits
from features.names import ANALYST_FEATURES
from features.postgres import ensure_database

SECTORS = pd.read_csv("dbt/seeds/symbol_sectors.csv").set_index("symbol")["sector"].to_dict()


@pytest.fixture(scope="module")
def desk_parts(replay_online_store):
    """Models fitted on the daily graph's training set (in sample: these tests are about the
    desk's mechanics, not the model's skill) and the graph's prices and feature store."""
    space, store = replay_online_store
    training = pd.read_parquet(space.root / "training" / "market_analyst_v2.parquet")
    training = training.dropna(subset=["forward_excess_return_5d"])
    X, y = training[ANALYST_FEATURES], training["forward_excess_return_5d"]
    model = SignalModel(n_estimators=30, min_child_samples=50).fit(X, y)
    model.calibrate(model.predict(X), y.to_numpy())
    # Three stocks cannot meet the desk's 5% / 8-name limits; these are scaled to three.
    models = DeskModels(
        signal_model=model,
        regime_model=None,
        sectors=SECTORS,
        risk_limits=RiskLimits(max_weight=0.4, max_sector_weight=0.5, min_effective_positions=1),
        optimizer_config=OptimizerConfig(max_weight=0.4, max_sector_weight=0.5),
    )
    prices = space.query("select * from staging.stg_prices order by date, symbol")
    return models, prices, store, space.export_store


@pytest.fixture
def ledger_database(postgres_server):
    """A ledger URL naming a new database of the session's own PostgreSQL server, dropped
    afterwards."""
    url = f"{postgres_server.url}/quorum_ledger_test_{uuid.uuid4().hex[:10]}"
    ensure_database(url)
    yield url
    with psycopg.connect(f"{postgres_server.url}/postgres", autocommit=True) as con:
        con.execute(f'drop database if exists "{url.rpartition("/")[2]}" with (force)')
