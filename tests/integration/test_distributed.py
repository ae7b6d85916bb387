"""The distributed profile on real processes: Dagster's runs launched as Celery tasks on two
workers, each working in its own empty folder; the steps' outputs and logs and MLflow's
artifacts on an S3 store (SeaweedFS); MLflow behind its tracking server.

The module starts its own PostgreSQL, Redis (Celery's broker too), SeaweedFS, MLflow server
and workers, and kills only those.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from agents.desk.ledger import open_event_log
from monitoring.audit import audit_ledger
from tests.conftest import price_slice, write_prices
from tests.support.cluster import Worker, celery_workers, distributed, mlflow_server
from tests.support.deployment import Deployment, first_bar_of_next_session
from tests.support.launch import failures, run_submitter, wait_for_runs
from tests.support.services import PrivateSeaweedFS

pytestmark = [pytest.mark.services, pytest.mark.e2e]

FAULTS = Path(__file__).resolve().parent.parent / "support" / "faults"
SYMBOLS = ["AAPL", "AMD", "BAC", "CVX", "HD", "JNJ", "JPM", "KO", "MSFT", "PEP", "PG", "XOM"]
WORKERS = 2


@pytest.fixture(scope="module")
def store() -> Iterator[PrivateSeaweedFS]:
    server = PrivateSeaweedFS.start_new()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, sp500_prices, start_postgres, start_redis, store):
    root = tmp_path_factory.mktemp("distributed")
    prices = price_slice(sp500_prices, [*SYMBOLS, "SP500"], "2019-01-01", "2022-12-31")
    data = write_prices(prices, root / "prices.csv")
    with start_postgres() as postgres, start_redis() as redis_server:
        deployment = Deployment.create(
            root,
            postgres.url,
            redis_server.url,
            market_data=f"csv:{data}",
            benchmark_symbol="SP500",
            replay_sessions="5",
            rl_timesteps="2048",
            bootstrap_gate="false",  # a few names over four years cannot show skill
        )
        distributed(deployment, store)
        try:
            with mlflow_server(deployment, store):
                deployment.build_output = deployment.build().stdout
                yield deployment
        finally:
            deployment.teardown()


@pytest.fixture(scope="module")
def kill_marker(deployment) -> Path:
    """While this file exists, the first worker to fill an order SIGKILLs itself
    (tests/support/faults/sitecustomize.py)."""
    return deployment.home / "kill-before-fills"


@pytest.fixture(scope="module")
def workers(deployment, kill_marker) -> Iterator[list[Worker]]:
    fault = {"PYTHONPATH": str(FAULTS), "QUORUM_FAULT_KILL_BEFORE_FILLS": str(kill_marker)}
    # MLflow's client retries a failing server 7 times with doubling waits (minutes): the
    # store-down test needs the failure, not the patience.
    quick = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    with celery_workers(deployment, WORKERS, fault | quick) as pool:
        yield pool


@pytest.fixture(scope="module")
def service(deployment, workers):
    with (
        deployment.daemon(),
        deployment.environment(),
        dg.DagsterInstance.get() as instance,
        run_submitter(instance) as submitter,
    ):
        yield instance, submitter


def test_the_daily_batch_keeps_models_on_the_tracking_server_and_artifacts_on_s3(deployment, store):
    settings = deployment.settings()
    artifacts = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/mlflow/")
    assert any(key.endswith("MLmodel") for key in artifacts), artifacts[:20]
    # The build's decision cycle handed its agents' outputs from step to step through S3.
    outputs = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/io/")
    assert any(key.endswith("/orders") for key in outputs), outputs[:20]
    # Nothing of MLflow's lands under the home: the server keeps runs in PostgreSQL.
    assert not (deployment.home / "mlflow").exists() or not any(
        (deployment.home / "mlflow").rglob("MLmodel")
    )


def test_decision_runs_run_on_the_celery_workers_and_pass_nothing_through_their_disks(
    deployment, store, workers, service
):
    instance, submitter = service
    run_ids = [submitter.submit("decision_cycle") for _ in range(WORKERS)]
    records = wait_for_runs(instance, run_ids, timeout=600)
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records), failures(
        instance, records
    )
    # Each run was one Celery task, received by exactly one of the workers.
    tasks = [r.dagster_run.tags["dagster-celery/task_id"] for r in records]
    logs = [w.log.read_text() for w in workers]
    assert all(sum(f"[{task}] received" in log for log in logs) == 1 for task in tasks), tasks
    settings = deployment.settings()
    outputs = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/io/")
    assert any(key.endswith("market_snapshot") for key in outputs), outputs
    assert store.keys(settings.s3_bucket, f"{settings.s3_prefix}/compute-logs/")
    for worker in workers:
        assert list(worker.work_dir.iterdir()) == [], worker.name
    # Each run completed its own cycle in the ledger: nothing lost, nothing recorded twice.
    snapshots = instance.fetch_materializations(dg.AssetKey("market_snapshot"), limit=50)
    cycles = [
        r.asset_materialization.metadata["cycle_id"].value
        for r in snapshots.records
        if r.run_id in run_ids
    ]
    assert len(set(cycles)) == len(run_ids)
    log = open_event_log(settings.ledger_url)
    try:
        audit = audit_ledger(log.read(), expected_cycles=cycles)
    finally:
        log.close()
    assert audit.clean, (audit.lost, audit.duplicated)


def test_a_step_while_the_store_is_down_fails_with_its_error_and_the_next_run_completes(
    deployment, store, workers, service
):
    instance, submitter = service
    store.stop()
    try:
        failed = submitter.submit("decision_cycle")
        (record,) = wait_for_runs(instance, [failed], 600)
    finally:
        store.start()
    assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
    # The run's first use of the store is loading the champions: MLflow's server proxies
    # their artifacts from the store, so the step fails on the server's answer for the model's
    # artifacts, and the server's log holds the store's own error, naming its address.
    why = _step_errors(instance, failed)
    assert why.startswith("market_snapshot:") and "mlflow-artifacts/artifacts" in why, why
    server_log = (deployment.home / "mlflow-server.log").read_text()
    assert f'Could not connect to the endpoint URL: "{store.url}/' in server_log
    # A decision run is not retried (its next cycle resumes it): the next run completes.
    cycle_id, events = _next_cycle(deployment, instance, submitter)
    audit = audit_ledger(events, expected_cycles=[cycle_id])
    assert audit.clean, (audit.lost, audit.duplicated)


def _step_errors(instance: dg.DagsterInstance, run_id: str) -> str:
    """Every message in the chain of each failed step's error (Dagster wraps the store's own
    error as the cause of its output-handling error)."""
    messages = []
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error = event.dagster_event.step_failure_data.error
        while error is not None:
            messages.append(f"{event.step_key}: {error.cls_name}: {error.message.strip()}")
            error = error.cause or error.context
    return "\n".join(messages)


def _next_cycle(deployment: Deployment, instance: dg.DagsterInstance, submitter) -> tuple:
    """The next decision run, which must succeed: the cycle it worked on (from its snapshot's
    metadata) and the whole ledger after it."""
    after = submitter.submit("decision_cycle")
    (done,) = wait_for_runs(instance, [after], 300)
    assert done.dagster_run.status == dg.DagsterRunStatus.SUCCESS, failures(instance, [done])
    snapshots = instance.fetch_materializations(dg.AssetKey("market_snapshot"), limit=50)
    (cycle_id,) = [
        r.asset_materialization.metadata["cycle_id"].value
        for r in snapshots.records
        if r.run_id == after
    ]
    log = open_event_log(deployment.settings().ledger_url)
    try:
        return cycle_id, log.read()
    finally:
        log.close()


def test_a_run_whose_worker_is_killed_is_failed_by_run_monitoring_and_nothing_is_lost(
    deployment, workers, service, kill_marker
):
    instance, submitter = service
    kill_marker.touch()
    # A session's first cycle sets the day's target, so it has orders to kill the run over.
    at = first_bar_of_next_session(deployment)
    config = {"ops": {"market_snapshot": {"config": {"at": at}}}}
    killed = submitter.submit("decision_cycle", run_config=config)
    try:
        (died,) = wait_for_runs(instance, [killed], 300)
    finally:
        fired = not kill_marker.exists()
        kill_marker.unlink(missing_ok=True)  # a fault that never fired must not kill a later run
    assert fired, "the cycle filled no order: the fault never fired\n" + failures(instance, [died])
    # Run monitoring asked the launcher about the run's Celery task and failed the run (a
    # decision run is never retried: its next cycle resumes it).
    assert died.dagster_run.status == dg.DagsterRunStatus.FAILURE
    messages = " ".join(e.message or "" for e in instance.all_logs(killed))
    assert "celery" in messages.lower(), messages[-2000:]

    cycle_id, events = _next_cycle(deployment, instance, submitter)
    cycle = [e for e in events if e.cycle_id == cycle_id]
    orders = [e for e in cycle if e.event_type == "order"]
    fills = [e for e in cycle if e.event_type == "fill"]
    assert orders, "the killed cycle recorded no order: the fault did not test anything"
    # The killed run wrote its orders before dying; the next run resumed that same cycle.
    assert sorted(f.payload["order_id"] for f in fills) == sorted(
        o.payload["order_id"] for o in orders
    )
    audit = audit_ledger(events, expected_cycles=[cycle_id])
    assert audit.clean, (audit.lost, audit.duplicated)
