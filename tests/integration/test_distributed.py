"""The distributed profile on real processes: Dagster's runs launched as Celery tasks on two
workers, each working in its own empty folder; the steps' outputs and logs and MLflow's
artifacts on an S3 store (SeaweedFS); MLflow behind its tracking server.

The module starts its own PostgreSQL, Redis (Celery's broker too), SeaweedFS, MLflow server
and workers, and kills only those. The deployment is built through the daemon on the workers
(make run's three jobs); the schedule and the drift sensor then tick under that daemon.
Beside that build, make run's script runs on the embedded profile from the same prices and
settings, and its cycle is compared with the workers' event by event.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster._core.scheduler.instigation import TickStatus

from agents.desk.ledger import open_event_log
from agents.desk.state import DeskState
from agents.market_analyst.sectors import sector_slug
from assets.resources import ModelMonitoring
from assets.training.sector_models import ANALYST_SECTORS
from features.names import ANALYST_FEATURES, ANALYST_SERVICE
from monitoring.audit import audit_ledger
from orchestration.cluster import celery_worker_env
from orchestration.serve import WORKSPACE
from tests.conftest import price_slice, write_prices
from tests.support.cluster import Worker, celery_workers, distributed, mlflow_server, receivers
from tests.support.deployment import (
    Deployment,
    EmbeddedRun,
    first_bar_of_next_session,
    wait_until,
)
from tests.support.launch import failures, run_submitter, wait_for_runs
from tests.support.payloads import differences
from tests.support.services import PrivateSeaweedFS

pytestmark = [pytest.mark.services, pytest.mark.e2e]

FAULTS = Path(__file__).resolve().parent.parent / "support" / "faults"
SYMBOLS = ["AAPL", "AMD", "BAC", "CVX", "HD", "JNJ", "JPM", "KO", "MSFT", "PEP", "PG", "XOM"]
WORKERS = 2
SECTOR_OF = {"AAPL": "Information Technology", "AMD": "Information Technology",
             "MSFT": "Information Technology", "KO": "Consumer Staples", "PEP": "Consumer Staples",
             "PG": "Consumer Staples"}  # fmt: skip


@pytest.fixture(scope="module")
def store() -> Iterator[PrivateSeaweedFS]:
    server = PrivateSeaweedFS.start_new()
    try:
        yield server
    finally:
        server.remove()


# The settings the deployment shares with the embedded run it is compared with.
SHARED_SETTINGS = {
    "benchmark_symbol": "SP500",
    "replay_sessions": "5",
    "rl_timesteps": "2048",
    "bootstrap_gate": "false",  # a few names over four years cannot show skill
    # LightGBM alone: the module is about where runs, outputs and models go, not what the
    # sequence members learn (test_end_to_end.py trains them, as make run does); without
    # PyTorch the batch, the retraining and each champion load are shorter.
    "analyst_members": "lightgbm",
    # The schedule ticks every minute at any hour: the daemon's real clock, not a replayed
    # one, decides when it fires, and the test may run at night.
    "intraday_minutes": "1",
    "trading_calendar": "24/7",
}


@pytest.fixture(scope="module")
def prices_file(tmp_path_factory, sp500_prices) -> Path:
    prices = price_slice(sp500_prices, [*SYMBOLS, "SP500"], "2019-01-01", "2022-12-31")
    return write_prices(prices, tmp_path_factory.mktemp("prices") / "prices.csv")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, prices_file, start_postgres, start_redis, store):
    root = tmp_path_factory.mktemp("distributed")
    with start_postgres() as postgres, start_redis() as redis_server:
        deployment = Deployment.create(
            root,
            postgres.url,
            redis_server.url,
            market_data=f"csv:{prices_file}",
            **SHARED_SETTINGS,
        )
        distributed(deployment, store)
        try:
            deployment.prepare()
            with mlflow_server(deployment, store):
                yield deployment
        finally:
            deployment.teardown()


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory, prices_file) -> Iterator[EmbeddedRun]:
    """make run's script on the embedded profile (one process, SQLite, DuckDB, local files),
    on the same prices and settings as the deployment and with a worker's share of the cores
    (OpenMP's thread count can change LightGBM's sums). Started before the deployment's build,
    which it runs beside: the build's time is mostly waiting on the daemon and the workers."""
    home = tmp_path_factory.mktemp("embedded") / "home"
    settings = {"market_data": f"csv:{prices_file}", **SHARED_SETTINGS}
    threads = celery_worker_env(FAULTS, dict(os.environ), WORKERS)["OMP_NUM_THREADS"]
    with EmbeddedRun.start(home, settings, {"OMP_NUM_THREADS": threads}) as run:
        yield run


@pytest.fixture(scope="module")
def kill_marker(deployment) -> Path:
    """While this file exists, the first worker to fill an order SIGKILLs itself
    (tests/support/faults/sitecustomize.py)."""
    return deployment.home / "kill-before-fills"


@pytest.fixture(scope="module")
def hold_marker(deployment) -> Path:
    """While this file exists, every decision cycle waits at its snapshot (a desk run kept
    active; tests/support/faults/sitecustomize.py)."""
    return deployment.home / "hold-cycles"


@pytest.fixture(scope="module")
def workers(deployment, kill_marker, hold_marker) -> Iterator[list[Worker]]:
    fault = {
        "PYTHONPATH": str(FAULTS),
        "QUORUM_FAULT_KILL_BEFORE_FILLS": str(kill_marker),
        "QUORUM_FAULT_HOLD_CYCLES": str(hold_marker),
    }
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


@pytest.fixture(scope="module")
def built(service, embedded_run) -> list[dg.RunRecord]:
    """make run's three jobs queued through the daemon onto the workers, one after the
    other: the daily batch, the RL scheduler's training and a decision cycle.

    The batch runs its steps in the worker's task process (the job's default executor):
    with a process per step this fixture took 827 s beside the fault module, in one process
    267 s alone (not like for like, but a process per step on two shared cores is most of
    it). The multiprocess executor on a worker is still exercised: each run of the sector
    backfill below starts its step's process from the worker's task process."""
    instance, submitter = service
    batch = submitter.submit("daily_pipeline")  # in one process: the job's default
    records = wait_for_runs(instance, [batch], 1200)
    records += wait_for_runs(instance, [submitter.submit("execution_rl_training")], 600)
    return records + wait_for_runs(instance, [submitter.submit("decision_cycle")], 300)


def test_the_daily_batch_runs_on_a_worker_and_keeps_models_and_outputs_on_s3(
    deployment, store, workers, service, built
):
    instance, _ = service
    assert [r.dagster_run.job_name for r in built] == [
        "daily_pipeline",
        "execution_rl_training",
        "decision_cycle",
    ]
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in built), failures(
        instance, built
    )
    for record in built:
        assert len(receivers(workers, record)) == 1, record.dagster_run.job_name
    # The deployment's analyst members (QUORUM_ANALYST_MEMBERS) reached the worker's step.
    trained = instance.get_latest_materialization_event(dg.AssetKey("market_analyst_model"))
    assert set(trained.asset_materialization.metadata["member_oos_mean_rank_ic"].value) == {
        "lightgbm"
    }
    settings = deployment.settings()
    artifacts = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/mlflow/")
    assert any(key.endswith("MLmodel") for key in artifacts), artifacts[:20]
    # The build's decision cycle handed its agents' outputs from step to step through S3.
    outputs = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/io/")
    assert any(key.endswith("/orders") for key in outputs), outputs[:20]
    # The batch's training set is an object on the store, which the analyst's step (and the
    # sector runs below) read from there: none is kept in the home's training folder.
    training = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/training/")
    assert training == [f"{settings.s3_prefix}/training/{ANALYST_SERVICE}.parquet"], training
    joined = instance.get_latest_materialization_event(dg.AssetKey("training_set"))
    assert joined.asset_materialization.metadata["path"].value == (
        f"s3://{settings.s3_bucket}/{training[0]}"
    )
    assert not list((deployment.home / "training").glob("*.parquet"))
    # ... joined by Feast's PostgreSQL offline store from the exports loaded beside the
    # registry, not from files under the home.
    applied = instance.get_latest_materialization_event(dg.AssetKey("feast_registry"))
    assert applied.asset_materialization.metadata["offline_store"].value == "postgres"
    # The dbt step wrote its exports in its worker's own folder and put them on the store,
    # where every later step (the labels, the analyst's rows, the sectors, the backtest, the
    # drift sensor, each session's features) reads them: none is written under the home.
    exported = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/exports/")
    for name in ("fct_daily_features", "fct_market_features", "fct_forward_returns"):
        key = f"{settings.s3_prefix}/exports/{name}.parquet"
        assert key in exported, exported
        mart = instance.get_latest_materialization_event(dg.AssetKey(["marts", name]))
        assert mart.asset_materialization.metadata["export_uri"].value == (
            f"s3://{settings.s3_bucket}/{key}"
        )
    assert f"{settings.s3_prefix}/exports/analyst_vectors.parquet" in exported
    # So are the staged prices and symbols the desk's replay and the training steps read.
    for name in ("stg_prices", "stg_symbols"):
        assert f"{settings.s3_prefix}/exports/{name}.parquet" in exported, exported
    assert not list((deployment.home / "exports").glob("*.parquet"))
    # Ingestion and dbt handed the warehouse file to each other through the store: each
    # fetched it into its worker's folder and kept it back. None is kept in the home.
    warehouse_key = f"{settings.s3_prefix}/warehouse/warehouse.duckdb"
    assert store.keys(settings.s3_bucket, f"{settings.s3_prefix}/warehouse/") == [warehouse_key]
    ingested = instance.get_latest_materialization_event(dg.AssetKey("raw_prices"))
    assert ingested.asset_materialization.metadata["warehouse_uri"].value == (
        f"s3://{settings.s3_bucket}/{warehouse_key}"
    )
    assert not (deployment.home / "warehouse.duckdb").exists()
    # The challenger's drift report is kept on the store, where the UI's link points.
    reports = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/reports/drift/")
    assert any(key.endswith(".html") for key in reports), reports
    drift = instance.get_latest_materialization_event(dg.AssetKey("market_analyst_drift"))
    kept = drift.asset_materialization.metadata["report_path"].value
    assert kept.removeprefix(f"s3://{settings.s3_bucket}/") in reports, kept
    assert not list((deployment.home / "reports").rglob("*.html"))
    # Nothing of MLflow's lands under the home: the server keeps runs in PostgreSQL.
    assert not (deployment.home / "mlflow").exists() or not any(
        (deployment.home / "mlflow").rglob("MLmodel")
    )


def test_the_batch_and_a_cycle_on_the_workers_decide_as_the_embedded_profile_to_the_cent(
    deployment, service, built, embedded_run
):
    """make run's three jobs through the daemon on two workers (S3, MLflow's server, Redis,
    PostgreSQL) and make run's script on the embedded profile (one process, local files),
    from the same prices and settings: the same cycle, every event of it the same (the
    analyst's signals and confidences, the target, the risk figures, the orders and fills;
    only the measured latencies differ, and floats by the last bits OpenBLAS rounds differently
    in another process), and so the same book to the share and the cent."""
    instance, _ = service
    output = embedded_run.wait(timeout=900)
    assert "decision_cycle: SUCCESS" in output, output[-3000:]
    cycle_id, events = _cycle_of_run(deployment, instance, built[-1].dagster_run.run_id)
    embedded_events = embedded_run.events()
    replayed = {e.cycle_id for e in embedded_events if (e.cycle_id or "").startswith("replay-")}
    assert replayed == {cycle_id}  # the same market time: the same last bars replayed
    cycle = [e for e in events if e.cycle_id == cycle_id]
    embedded_cycle = [e for e in embedded_events if e.cycle_id == cycle_id]
    assert [e.event_type for e in cycle] == [e.event_type for e in embedded_cycle]
    for on_workers, embedded in zip(cycle, embedded_cycle, strict=True):
        # floats to BLAS's rounding (tests/support/payloads.py), all else exactly
        assert differences(_decided(on_workers), _decided(embedded)) == [], on_workers.event_type
    book = DeskState.fold(
        events[: max(i for i, e in enumerate(events) if e.cycle_id == cycle_id) + 1]
    )
    embedded_book = DeskState.fold(embedded_events)
    assert book.positions, "the build's cycle bought nothing: no book to compare"
    assert (book.positions, book.cash_cents, book.commissions_cents) == (
        embedded_book.positions,
        embedded_book.cash_cents,
        embedded_book.commissions_cents,
    )


def _decided(event) -> dict:
    """An event's payload without what was measured rather than decided (``*_ms``)."""
    return {k: v for k, v in event.payload.items() if not k.endswith("_ms")}


def _cycle_of_run(deployment: Deployment, instance: dg.DagsterInstance, run_id: str):
    """The cycle the decision run ``run_id`` worked on (from its snapshot's metadata) and the
    deployment's whole ledger."""
    records = instance.fetch_materializations(dg.AssetKey("market_snapshot"), limit=200).records
    (cycle_id,) = [
        r.asset_materialization.metadata["cycle_id"].value for r in records if r.run_id == run_id
    ]
    log = open_event_log(deployment.settings().ledger_url)
    try:
        return cycle_id, log.read()
    finally:
        log.close()


def test_decision_runs_run_on_the_celery_workers_and_pass_nothing_through_their_disks(
    deployment, store, workers, service, built
):
    instance, submitter = service
    run_ids = [submitter.submit("decision_cycle") for _ in range(WORKERS)]
    records = wait_for_runs(instance, run_ids, timeout=600)
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records), failures(
        instance, records
    )
    # Each run was one Celery task, received by exactly one of the workers.
    received = [receivers(workers, r) for r in records]
    assert all(len(names) == 1 for names in received), received
    settings = deployment.settings()
    outputs = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/io/")
    assert any(key.endswith("market_snapshot") for key in outputs), outputs
    assert store.keys(settings.s3_bucket, f"{settings.s3_prefix}/compute-logs/")
    # The session's preparation, made by whichever run came first, is an object on the store
    # that the other worker's run loads: none is kept in the home.
    prepared = store.keys(settings.s3_bucket, f"{settings.s3_prefix}/sessions/")
    assert any(key.endswith(".pkl") for key in prepared), prepared
    assert not list((deployment.home / "sessions").glob("*.pkl"))
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


def test_the_daemon_ticks_the_schedule_onto_a_worker_and_skips_while_a_desk_run_is_active(
    workers, service, hold_marker, built
):
    instance, submitter = service
    hold_marker.touch()  # the launched run stays active until the second tick has been judged
    try:
        with submitter.running("intraday_rebalance") as (origin, selector):

            def ticks(status: TickStatus, after: float = 0.0) -> list:
                found = instance.get_ticks(origin, selector, statuses=[status])
                return [t for t in found if t.timestamp > after]

            (launched,) = wait_until(
                lambda: ticks(TickStatus.SUCCESS), 180, poll=1, what="a tick launching a run"
            )
            skipped = wait_until(
                lambda: ticks(TickStatus.SKIPPED, after=launched.timestamp),
                150,
                poll=1,
                what="the next tick",
            )
    finally:
        hold_marker.unlink(missing_ok=True)
    (run_id,) = launched.run_ids
    assert skipped[0].skip_reason == f"desk run {run_id} still in progress"
    assert len(ticks(TickStatus.SUCCESS)) == 1  # nothing launched while the run was active
    (record,) = wait_for_runs(instance, [run_id], 300)
    assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS, failures(instance, [record])
    run = record.dagster_run
    assert run.job_name == "decision_cycle" and run.tags["quorum/tick"]
    assert len(receivers(workers, record)) == 1


def test_a_sector_backfill_trains_each_sector_as_its_own_run_on_the_workers(
    deployment, workers, service, built
):
    """The build's analyst_sectors made a partition of each sector with three names or more;
    Dagster's backfill command queues a run per partition, each a Celery task."""
    instance, _ = service
    slice_sectors = ["Consumer Staples", "Information Technology"]  # KO PEP PG, AAPL AMD MSFT
    assert sorted(instance.get_dynamic_partitions(ANALYST_SECTORS.name)) == slice_sectors
    launched = deployment.python(
        "-m", "orchestration.serve", "dagster", "job", "backfill", "-w", WORKSPACE,
        "-j", "sector_analyst_training", "--all", "all", "--noprompt",
    ).stdout  # fmt: skip
    backfill_id = re.search(r"Launched backfill job `([^`]+)`", launched).group(1)
    runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    records = wait_for_runs(instance, [r.dagster_run.run_id for r in runs], 900)
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records), failures(
        instance, records
    )
    assert sorted(r.dagster_run.tags["dagster/partition"] for r in records) == slice_sectors
    assert all(len(receivers(workers, r)) == 1 for r in records)
    # Each ran its step in a process of its own, which the job's default executor started
    # from the worker's task process (orchestration/celery_app.py).
    for record in records:
        started = instance.all_logs(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTED
        )
        assert [e.step_key for e in started] == ["sector_analyst_model"], started
    for sector in slice_sectors:
        latest = instance.fetch_materializations(
            dg.AssetRecordsFilter(dg.AssetKey("sector_analyst_model"), asset_partitions=[sector]),
            limit=1,
        ).records
        assert len(latest) == 1, sector
        metadata = latest[0].asset_materialization.metadata
        assert metadata["model"].value == f"quorum-market_analyst-sector-{sector_slug(sector)}"
        assert metadata["symbols"].data == sorted(s for s in SYMBOLS if SECTOR_OF.get(s) == sector)
    for worker in workers:
        assert list(worker.work_dir.iterdir()) == [], worker.name


def test_a_step_while_the_store_is_down_fails_with_its_error_and_the_next_run_completes(
    deployment, store, workers, service, built
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
    deployment, workers, service, kill_marker, built
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


def test_the_daemons_drift_sensor_launches_retraining_on_a_worker(
    deployment, store, workers, service, built
):
    """The live features rescaled (a vendor switching units) in the exports on the store: the
    sensor's first tick under the daemon judges them drifted from the champion's reference
    and launches retrain_models, which a worker runs to the end with the job's default
    executor, every step in the run's one process (orchestration/jobs.py says why)."""
    instance, submitter = service
    settings = deployment.settings()
    client = store.client()
    kept = {
        "Bucket": settings.s3_bucket,
        "Key": f"{settings.s3_prefix}/exports/fct_daily_features.parquet",
    }
    original = client.get_object(**kept)["Body"].read()
    live = pd.read_parquet(io.BytesIO(original))
    features = [f for f in ANALYST_FEATURES if not f.endswith("_rank") and f in live][:12]
    live[features] = live[features] * 3 + 1
    client.put_object(**kept, Body=live.to_parquet())
    try:
        with submitter.running("feature_drift_sensor") as (origin, selector):
            (tick,) = wait_until(
                lambda: instance.get_ticks(
                    origin, selector, statuses=[TickStatus.SUCCESS, TickStatus.FAILURE]
                ),
                settings.sensor_timeout_s + 120,  # past a tick the daemon timed out
                poll=1,
                what="the sensor's first tick to end",
            )
        # A failed tick (an error, or the evaluation outrunning the daemon's sensor timeout)
        # is not retried before the sensor's hourly interval: its error is the finding.
        assert tick.status == TickStatus.SUCCESS, tick.error
        (run_id,) = tick.run_ids
        (record,) = wait_for_runs(instance, [run_id], 900)
    finally:
        client.put_object(**kept, Body=original)
    run = record.dagster_run
    assert run.status == dg.DagsterRunStatus.SUCCESS, failures(instance, [record])
    assert run.job_name == "retrain_models" and run.tags["quorum/trigger"] == "feature_drift"
    threshold = ModelMonitoring.model_fields["max_drifted_share"].default
    assert float(run.tags["quorum/drifted_feature_share"]) >= threshold
    # The sensor's report, made in the daemon's process, is kept on the store too.
    assert run.tags["quorum/drift_report"].startswith(
        f"s3://{settings.s3_bucket}/{settings.s3_prefix}/reports/drift/"
    )
    assert len(receivers(workers, record)) == 1
    assert not instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTED)
