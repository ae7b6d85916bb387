"""The production profile on the real PostgreSQL and Redis, run as a service, and the faults it
must survive with nothing lost: a run worker killed between orders and fills, Redis gone at
decision time, PostgreSQL restarted during the daily batch, two decision runs at once.

The module starts its own PostgreSQL and Redis servers (tests/support/services.py) and kills
and restarts only those. One deployment (own databases, own Feast project) is built on them
through dagster-daemon and the run queue with make run's three jobs (the daily batch, the RL
scheduler's training, a decision cycle); the daily batch is also the PostgreSQL fault, so the
module pays for one batch, not two. Each test drives the built deployment the same way.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import redis

from agents.desk.bus import StreamBus
from agents.desk.ledger import Event, open_event_log
from monitoring.audit import audit_ledger
from tests.conftest import price_slice, write_prices
from tests.support.deployment import (
    Deployment,
    first_bar_of_next_session,
    last_cycle_time,
    wait_until,
)
from tests.support.launch import RunSubmitter, failures, run_submitter, wait_for_runs
from tests.support.services import PrivatePostgres, PrivateRedis

pytestmark = [pytest.mark.services, pytest.mark.e2e]

FAULTS = Path(__file__).resolve().parent.parent / "support" / "faults"
# 12 real stocks (enough names for the risk manager's diversification limit) and the index.
SYMBOLS = ["AAPL", "AMD", "BAC", "CVX", "HD", "JNJ", "JPM", "KO", "MSFT", "PEP", "PG", "XOM"]
# One PPO rollout: the build trains, registers and gates the RL scheduler as make run does;
# what it learns is not what this module tests (make run's 30,000 steps took a minute).
RL_TIMESTEPS = 2048


@dataclass(frozen=True)
class Servers:
    postgres: PrivatePostgres
    redis: PrivateRedis


@pytest.fixture(scope="module")
def servers(start_postgres, start_redis) -> Iterator[Servers]:
    """This module's own servers: its faults kill and restart them, and only them."""
    with start_postgres() as postgres, start_redis() as redis_server:
        yield Servers(postgres, redis_server)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, sp500_prices, servers) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("production")
    prices = price_slice(sp500_prices, [*SYMBOLS, "SP500"], "2019-01-01", "2022-12-31")
    data = write_prices(prices, root / "prices.csv")
    deployment = Deployment.create(
        root,
        servers.postgres.url,
        servers.redis.url,
        market_data=f"csv:{data}",
        benchmark_symbol="SP500",
        replay_sessions="5",
        rl_timesteps=str(RL_TIMESTEPS),
        # A few names over four years cannot show skill: the bootstrap gate runs and records
        # its verdict, and the first version trades anyway (these tests are about the stores).
        bootstrap_gate="false",
        # The analyst's challenger is LightGBM alone: this module is about the stores, the
        # restart and the retry, not what the sequence members learn (test_end_to_end.py
        # trains every member, as make run does).
        analyst_members="lightgbm",
    )
    try:
        deployment.prepare()
        yield deployment
    finally:
        deployment.teardown()


@dataclass(frozen=True)
class Service:
    """The deployment's dagster-daemon, its instance and a run submitter, for the module;
    the daemon's processes load tests/support/faults/sitecustomize.py, where each fault fires once
    its marker file exists."""

    instance: dg.DagsterInstance
    submitter: RunSubmitter
    kill_before_fills: Path
    restart_postgres: Path


@pytest.fixture(scope="module")
def service(deployment, servers) -> Iterator[Service]:
    kill, restart = deployment.home / "kill-before-fills", deployment.home / "restart-pg"
    fault = {
        "PYTHONPATH": str(FAULTS),
        "QUORUM_FAULT_KILL_BEFORE_FILLS": str(kill),
        "QUORUM_FAULT_RESTART_POSTGRES": str(restart),
        "QUORUM_FAULT_RESTART_COMMAND": shlex.join(servers.postgres.restart_command()),
    }
    with (
        deployment.daemon(fault),
        instance_of(deployment) as instance,
        run_submitter(instance) as submitter,
    ):
        yield Service(instance, submitter, kill, restart)


@dataclass(frozen=True)
class Build:
    """The module's build through the daemon. ``batch`` is the daily batch's first run, which
    PostgreSQL's restart failed; ``retry`` the daemon's automatic retry of it."""

    batch: dg.RunRecord
    retry: dg.RunRecord
    batch_events: list[Event]  # the ledger once the retry ended (it was empty before)
    rl_training: dg.RunRecord | None
    decision: dg.RunRecord | None


@pytest.fixture(scope="module")
def built(deployment, service) -> Build:
    """make run's three jobs, queued one after the other; PostgreSQL is restarted while the
    daily batch's drift step holds its ledger connection (the fault fires once)."""
    instance, submitter = service.instance, service.submitter
    service.restart_postgres.touch()
    # In one process, the job's default executor (orchestration/jobs.py, ONE_PROCESS).
    first = submitter.submit("daily_pipeline")
    (batch,) = wait_for_runs(instance, [first], 900)
    retries = wait_until(
        lambda: instance.get_run_records(dg.RunsFilter(tags={"dagster/parent_run_id": first})),
        120,
        what="the daemon's automatic retry",
    )
    (retry,) = wait_for_runs(instance, [retries[0].dagster_run.run_id], 900)
    batch_events = ledger_events(deployment)
    if retry.dagster_run.status != dg.DagsterRunStatus.SUCCESS:
        return Build(batch, retry, batch_events, None, None)
    (rl_training,) = wait_for_runs(instance, [submitter.submit("execution_rl_training")], 600)
    (decision,) = wait_for_runs(instance, [submitter.submit("decision_cycle")], 300)
    return Build(batch, retry, batch_events, rl_training, decision)


@contextmanager
def instance_of(deployment: Deployment) -> Iterator[dg.DagsterInstance]:
    with deployment.environment(), dg.DagsterInstance.get() as instance:
        yield instance


def ledger_events(deployment: Deployment) -> list[Event]:
    log = open_event_log(deployment.settings().ledger_url)
    try:
        return log.read()
    finally:
        log.close()


def cycle_events(deployment: Deployment, run_id: str) -> tuple[str, list[Event]]:
    """The cycle a decision run worked on (from its snapshot's metadata) and its events."""
    with instance_of(deployment) as instance:
        records = instance.fetch_materializations(dg.AssetKey("market_snapshot"), limit=200)
    metadata = next(r.asset_materialization.metadata for r in records.records if r.run_id == run_id)
    cycle_id = metadata["cycle_id"].value
    return cycle_id, [e for e in ledger_events(deployment) if e.cycle_id == cycle_id]


def test_production_profile_keeps_every_store_on_the_services(deployment, service, built):
    runs = [built.retry, built.rl_training, built.decision]
    assert all(r is not None for r in runs), failures(service.instance, [built.batch, built.retry])
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs), failures(
        service.instance, runs
    )
    server = deployment.postgres_url
    with psycopg.connect(f"{server}/{deployment.database('dagster')}") as con:
        jobs = {j for (j,) in con.execute("select pipeline_name from runs").fetchall()}
        materialized = con.execute(
            "select count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION'"
        ).fetchone()[0]
    assert jobs == {"daily_pipeline", "execution_rl_training", "decision_cycle"}
    assert materialized >= 15
    with psycopg.connect(f"{server}/{deployment.database('mlflow')}") as con:
        models = {m for (m,) in con.execute("select name from registered_models").fetchall()}
        budgets = con.execute(
            "select p.value from params p join model_versions v on v.run_id = p.run_uuid "
            "where v.name = 'quorum-execution_rl' and p.key = 'timesteps'"
        ).fetchall()
    assert {f"quorum-{a}" for a in ("market_analyst", "risk_manager", "execution_rl")} <= models
    assert budgets == [(str(RL_TIMESTEPS),)]  # the deployment's setting reached the training
    with psycopg.connect(f"{server}/{deployment.database('feast')}") as con:
        views = con.execute("select count(*) from feature_views").fetchone()[0]
    assert views >= 4
    assert {e.event_type for e in ledger_events(deployment)} >= {"decision", "cycle_completed"}
    project = f"q_{deployment.tag}".encode()
    client = redis.Redis.from_url(deployment.redis_url)
    assert any(project in k for k in client.scan_iter(count=1000))
    # The desk's events on its Redis Streams, once each: what `make tail` follows.
    bus = StreamBus(client, deployment.settings().bus_prefix)
    on_bus = [m for s in bus.streams() for m in bus.read_after({s: "0-0"}, count=100_000)]
    published = {m.event.event_type for m in on_bus}
    assert {"signals", "order", "fill", "cycle_completed"} <= published
    # The agents' messages, as sent through the Dagster steps, each type on its own stream.
    assert {f"sent_{t}" for t in ("trading_signal", "rebalancing_order", "risk_assessment")} <= (
        published
    )
    ids = [m.event.event_id for m in on_bus]
    assert len(ids) == len(set(ids)) and set(ids) <= {e.event_id for e in ledger_events(deployment)}
    # Nothing of the instance fell back to SQLite files under DAGSTER_HOME.
    dagster_home = deployment.home / "dagster-production"
    assert not list(dagster_home.rglob("*.db")), list(dagster_home.rglob("*.db"))


def test_a_worker_killed_between_orders_and_fills_loses_nothing_and_sends_nothing_twice(
    deployment, service, built
):
    marker = service.kill_before_fills
    marker.touch()
    # A session's first cycle sets the day's target, so it has orders to kill the run over.
    config = {"ops": {"market_snapshot": {"config": {"at": first_bar_of_next_session(deployment)}}}}
    instance, submitter = service.instance, service.submitter
    # A runtime limit, so run monitoring fails the dead run within the test; long enough
    # for a slow machine to load the models and reach the fills before it.
    killed = submitter.submit(
        "decision_cycle", run_config=config, tags={"dagster/max_runtime": "90"}
    )
    try:
        died = wait_for_runs(instance, [killed], 300)
    finally:
        fired = not marker.exists()
        marker.unlink(missing_ok=True)  # a fault that never fired must not kill a later run
    assert fired, "the cycle filled no order: the fault never fired\n" + failures(instance, died)
    after = submitter.submit("decision_cycle")  # the replay clock's next cycle
    records = {r.dagster_run.run_id: r for r in wait_for_runs(instance, [killed, after], 300)}
    assert records[killed].dagster_run.status == dg.DagsterRunStatus.FAILURE
    assert records[after].dagster_run.status == dg.DagsterRunStatus.SUCCESS

    cycle_id, events = cycle_events(deployment, after)
    orders = [e for e in events if e.event_type == "order"]
    fills = [e for e in events if e.event_type == "fill"]
    assert orders, "the killed cycle recorded no order: the fault did not test anything"
    # The killed run wrote its orders before dying; the next run resumed that same cycle.
    assert min(e.sequence for e in orders) < min(e.sequence for e in fills)
    assert sorted(f.payload["order_id"] for f in fills) == sorted(
        o.payload["order_id"] for o in orders
    )
    audit = audit_ledger(ledger_events(deployment), expected_cycles=[cycle_id])
    assert audit.clean, (audit.lost, audit.duplicated)


def next_bar(deployment: Deployment) -> str:
    """The half-hour bar after the desk's last cycle (the tests stay inside a session)."""
    return (last_cycle_time(deployment) + timedelta(minutes=30)).isoformat()


def _step_ends(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
    return {r.event_log_entry.step_key: r.event_log_entry.timestamp for r in records}


def test_two_decision_runs_launched_at_once_decide_one_after_the_other(deployment, service, built):
    # Both for the same bar, as when one schedule tick is fired twice. On the services both
    # runs may be in flight at once (one deciding, the next starting its process); the desk's
    # lease keeps their decisions apart.
    config = {"ops": {"market_snapshot": {"config": {"at": next_bar(deployment)}}}}
    instance, submitter = service.instance, service.submitter
    first = submitter.submit("decision_cycle", run_config=config)
    second = submitter.submit("decision_cycle", run_config=config)
    records = wait_for_runs(instance, [first, second], 300)
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records), failures(
        instance, records
    )
    ends = [_step_ends(instance, run) for run in (first, second)]
    earlier, later = sorted(ends, key=lambda steps: steps["market_snapshot"])
    # The second read the ledger under the lease, which the first let go of after its orders.
    assert later["market_snapshot"] >= earlier["orders"], "two desk runs decided at once"
    cycle_id, events = cycle_events(deployment, first)
    assert cycle_events(deployment, second)[0] == cycle_id
    kinds = [e.event_type for e in events]
    assert kinds.count("cycle_completed") == 1 and kinds.count("decision") == 1
    audit = audit_ledger(ledger_events(deployment), expected_cycles=[cycle_id])
    assert audit.clean, (audit.lost, audit.duplicated)


@contextmanager
def redis_down(server: PrivateRedis) -> Iterator[None]:
    """The module's own Redis stopped for real (it keeps nothing on disk), and started again
    however the block ends."""
    client = redis.Redis.from_url(server.url)
    with suppress(redis.ConnectionError):  # shutting down closes the connection under it
        client.shutdown(nosave=True)
    wait_until(lambda: not _redis_up(server), 10, what="Redis to stop")
    try:
        yield
    finally:
        if not _redis_up(server):
            server.start()
        wait_until(lambda: _redis_up(server), 20, what="Redis to start")


def _redis_up(server: PrivateRedis) -> bool:
    try:
        return bool(redis.Redis.from_url(server.url, socket_timeout=1).ping())
    except redis.ConnectionError:
        return False


def test_redis_down_at_decision_time_refuses_records_why_and_trades_when_back(
    deployment, service, servers, built
):
    instance, submitter = service.instance, service.submitter
    with redis_down(servers.redis):
        refused_run = submitter.submit("decision_cycle")
        wait_for_runs(instance, [refused_run], 300)
    resumed_run = submitter.submit("decision_cycle")
    records = wait_for_runs(instance, [refused_run, resumed_run], 300)
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    refused_cycle, refused = cycle_events(deployment, refused_run)
    summary = next(e.payload for e in refused if e.event_type == "cycle_completed")
    assert "online feature store" in summary["refused"] and "Connection" in summary["refused"]
    decision = next(e.payload for e in refused if e.event_type == "decision")
    assert decision["reasons"] == [summary["refused"]] and not decision["approved"]
    assert not [e for e in refused if e.event_type == "order"]

    resumed_cycle, resumed = cycle_events(deployment, resumed_run)
    assert resumed_cycle != refused_cycle
    summary = next(e.payload for e in resumed if e.event_type == "cycle_completed")
    signals = next(e.payload for e in resumed if e.event_type == "signals")
    assert summary["refused"] is None and signals["feature_coverage"] == 1.0
    # Redis came back empty: the desk published the session's features again (or, if the
    # refused cycle was the session's first, opened the session now).
    opened = any(e.event_type == "loss_baseline" for e in resumed)
    assert signals["features_republished"] or opened
    audit = audit_ledger(ledger_events(deployment), [refused_cycle, resumed_cycle])
    assert audit.clean, (audit.lost, audit.duplicated)


def materialized_by(instance: dg.DagsterInstance, *run_ids: str) -> list[str]:
    return [
        r.event_log_entry.dagster_event.asset_key.to_user_string()
        for run_id in run_ids
        for r in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
    ]


DAILY_ASSETS = {
    "raw_prices", "feast_registry", "online_features", "training_set",
    "market_analyst_model", "risk_manager_model", "portfolio_optimizer_model",
    "execution_model", "market_analyst_drift", "market_analyst_promotion",
    "desk_models_bootstrap_gate",
}  # fmt: skip


def test_postgres_restarted_during_the_daily_batch_fails_cleanly_and_the_retry_loses_nothing(
    deployment, service, built
):
    instance = service.instance
    failed, retry = built.batch, built.retry
    first = failed.dagster_run.run_id
    step_failures = instance.get_records_for_run(
        first, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    materialized = materialized_by(instance, first, retry.dagster_run.run_id)
    batch_assets = service.submitter.job_assets("daily_pipeline")
    assert not service.restart_postgres.exists(), "the restart never happened"
    # A clean failure: the run is FAILED (not left running), by the step that lost its
    # connection, with the database's own error.
    assert failed.dagster_run.status == dg.DagsterRunStatus.FAILURE
    assert [r.event_log_entry.step_key for r in step_failures] == ["market_analyst_drift"]
    error = step_failures[0].event_log_entry.dagster_event.step_failure_data.error
    chain = []
    while error is not None:
        chain.append(error.cls_name)
        error = error.cause or error.context
    assert "AdminShutdown" in chain, chain  # psycopg: "terminating connection due to admin..."
    assert retry.dagster_run.status == dg.DagsterRunStatus.SUCCESS
    # Re-executed from the failure: every asset of the batch materialized exactly once.
    assert len(materialized) == len(set(materialized)) and set(materialized) >= DAILY_ASSETS
    assert set(materialized) == batch_assets
    drift = [e for e in built.batch_events if e.event_type == "drift_report"]
    assert len(drift) == 1, [e.event_id for e in drift]
    gate = [
        e
        for e in built.batch_events
        if e.event_type.startswith("model_") and e.payload["agent"] == "market_analyst"
    ]
    assert len(gate) == 1, [e.event_id for e in gate]
