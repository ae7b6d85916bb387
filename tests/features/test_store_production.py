"""The production profile against the real services: Redis online store, PostgreSQL registry."""

import uuid

import numpy as np
import pandas as pd
import psycopg
import pytest
import redis

from features.names import ANALYST_SERVICE
from features.settings import current_settings
from features.store import (
    OnlineFeatureReader,
    apply_definitions,
    exported_time_range,
    materialize_online,
    open_store,
)
from tests.conftest import price_slice, write_prices

pytestmark = pytest.mark.services


@pytest.fixture
def production_env(workspace, monkeypatch, postgres_server, redis_server):
    """A registry database and Feast project (which namespaces the Redis keys) on the
    session's own servers. The settings derive Feast's registry URL and Redis address."""
    name = f"quorum_test_{uuid.uuid4().hex[:10]}"
    project = f"qt_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("QUORUM_POSTGRES_URL", postgres_server.url)
    monkeypatch.setenv("QUORUM_FEAST_REGISTRY_DATABASE", name)
    monkeypatch.setenv("QUORUM_REDIS_URL", redis_server.url)
    monkeypatch.setenv("QUORUM_FEAST_PROJECT", project)
    for name_, value in current_settings().exported_env().items():
        monkeypatch.setenv(name_, value)
    yield name, project
    with psycopg.connect(f"{postgres_server.url}/postgres", autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')


def test_production_profile_serves_the_same_features_from_redis_and_postgres(
    workspace, production_env, sp500_prices, tmp_path, postgres_server, redis_server
):
    database, project = production_env
    data = price_slice(sp500_prices, ["MSFT", "PEP", "SP500"], "2021-01-01", "2022-12-31")
    workspace.materialize(f"csv:{write_prices(data, tmp_path / 'p.csv')}", benchmark="SP500")

    store = open_store("production")
    assert store.config.online_store.type == "redis"
    apply_definitions(store, workspace.export_store)
    _, newest = exported_time_range(workspace.export_store)
    materialize_online(store, newest + pd.Timedelta(seconds=1))

    # The registry lives in PostgreSQL...
    with psycopg.connect(f"{postgres_server.url}/{database}") as con:
        views = con.execute(
            "select feature_view_name from feature_views where project_id = %s", [project]
        ).fetchall()
    assert {v for (v,) in views} >= {"technical_indicators", "market_analyst_v2_vector"}
    # ...the online values in Redis, under this project's keys only.
    client = redis.Redis.from_url(redis_server.url)
    ours = [k for k in client.scan_iter(count=1000) if project.encode() in k]
    assert len(ours) >= 2  # one hash per symbol (plus the market)

    reader = OnlineFeatureReader(store, ANALYST_SERVICE)
    online = reader.read(["MSFT", "PEP"], as_of=newest)
    daily = pd.read_parquet(workspace.exports / "fct_daily_features.parquet")
    latest = daily[daily["event_timestamp"] == daily["event_timestamp"].max()].set_index("symbol")
    np.testing.assert_allclose(
        online.to_frame()["rsi_14"].to_numpy(), latest.loc[["MSFT", "PEP"], "rsi_14"].to_numpy()
    )

    store.teardown()
    assert not [k for k in client.scan_iter(count=1000) if project.encode() in k]


def test_models_register_and_load_by_alias_in_mlflow_on_postgresql(tmp_path, postgres_server):
    from agents import model_registry
    from agents.risk_manager.agent import RiskLimits
    from agents.risk_manager.serving import SERVING_PACKAGES, RiskModel
    from assets.resources import MlflowTracking

    name = f"quorum_mlflow_test_{uuid.uuid4().hex[:10]}"
    uri = f"{postgres_server.url}/{name}"
    try:
        MlflowTracking(
            tracking_uri=uri,
            artifact_location=str(tmp_path / "artifacts"),
            experiment="quorum_test",
        ).configure()
        example = pd.DataFrame({"portfolio_return": np.linspace(-0.05, 0.05, 600)})
        model = RiskModel(RiskLimits())
        first = model_registry.log_and_register(
            "risk_manager",
            model,
            params={"lookback_days": 500},
            metrics={"m": 1.0},
            tags={},
            input_example=example,
            output_example=model.predict(None, example),
            pip_requirements=model_registry.installed_requirements(SERVING_PACKAGES),
        )
        assert first.aliases == ("challenger", "champion")
        with psycopg.connect(uri) as con:  # the registry rows are in PostgreSQL
            (count,) = con.execute(
                "select count(*) from model_versions where name = 'quorum-risk_manager'"
            ).fetchall()[0]
        assert count == 1
        loaded = model_registry.load("risk_manager", "champion")
        pd.testing.assert_frame_equal(loaded.predict(example), model.predict(None, example))
    finally:
        import mlflow

        mlflow.set_tracking_uri(None)
        with psycopg.connect(f"{postgres_server.url}/postgres", autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')
