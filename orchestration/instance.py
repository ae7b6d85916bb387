"""Preparing a Quorum home for Dagster: folders, the instance file, the variables Dagster's
instance file, dbt's profile and Feast's yaml read, and (production) the instance database.

Called by entry points (``run_daily``, ``serve``, the code location's loader), never on
import: importing a module of Quorum writes nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from features.feast_checks import skip_feast_type_checks
from features.postgres import ensure_database
from features.settings import QuorumSettings

POSTGRES_RESTART_WAIT_S = 30.0


# Desk runs (decision cycles, paper days, clear-halt) and model batches are held by the
# queued run coordinator's tag limits. At most one model batch (daily pipeline, retraining,
# search, RL training) at a time: they rewrite the same warehouse, training sets and
# challengers (BATCH_TAGS in jobs.py). Desk runs never decide at the same time: each holds the
# desk's lease (agents/desk/lease.py) from reading the ledger's state to its end, so
# overlapping schedule ticks never double-trade. On the services two desk runs may be in
# flight, one deciding and the next starting its process beside it (a decision run spends
# ~5 of its ~6 s starting); the embedded profile's DuckDB ledger admits one process at a time.
def _concurrency(desk_runs: int) -> str:
    return f"""\
concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: quorum/desk
        value: trading
        limit: {desk_runs}
      - key: quorum/batch
        value: models
        limit: 1
telemetry:
  enabled: false
"""


DAGSTER_INSTANCE_YAML = (
    "# Written by Quorum (orchestration/instance.py) when absent; yours to edit.\n"
    + _concurrency(desk_runs=1)
)

# The production instance: runs, event logs and schedules in PostgreSQL (the URL comes from
# the environment at load time, so no connection string is written to disk); the daemon
# dequeues runs, fails a run whose worker died (a desk run's tags cap its runtime) and
# retries a failed run once from the failed step.
DAGSTER_PRODUCTION_YAML = (
    "# Written by Quorum (orchestration/instance.py) when absent; yours to edit.\n"
    + """\
storage:
  postgres:
    postgres_url:
      env: QUORUM_DAGSTER_POSTGRES_URL
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  poll_interval_seconds: 5
run_retries:
  enabled: true
  max_retries: 1
"""
    + _concurrency(desk_runs=2)
)


# The distributed instance: production's, with each run launched as a Celery task on a worker
# (dagster-celery) and the steps' stdout and stderr kept on the S3 store, so the UI shows a
# worker's logs whichever machine ran it. A worker runs one run at a time and a run's module
# state dies with it (``orchestration.cluster.celery_worker_command``).
DAGSTER_DISTRIBUTED_YAML = (
    DAGSTER_PRODUCTION_YAML
    + """run_launcher:
  module: dagster_celery.launcher
  class: CeleryRunLauncher
  config:
    broker:
      env: QUORUM_CELERY_BROKER_URL
    backend:
      env: QUORUM_CELERY_BROKER_URL
    default_queue: dagster  # the queue dagster-celery's app declares; the workers take it
compute_logs:
  module: dagster_aws.s3.compute_log_manager
  class: S3ComputeLogManager
  config:
    bucket:
      env: QUORUM_S3_BUCKET
    prefix:
      env: QUORUM_S3_LOGS_PREFIX
    endpoint_url:
      env: QUORUM_S3_ENDPOINT_URL
    upload_interval: 5
"""
)

INSTANCE_YAML = {
    "embedded": DAGSTER_INSTANCE_YAML,
    "production": DAGSTER_PRODUCTION_YAML,
    "distributed": DAGSTER_DISTRIBUTED_YAML,
}


def ensure_dirs(settings: QuorumSettings) -> None:
    """The home's folders, and the instance file when absent (a user's is never replaced)."""
    for path in (
        settings.home,
        settings.exports_dir,
        settings.dagster_home,
        settings.reports_dir,
        settings.feast_dir,
        settings.training_dir,
    ):
        path.mkdir(parents=True, exist_ok=True)
    instance = settings.dagster_home / "dagster.yaml"
    if not instance.exists():
        instance.write_text(INSTANCE_YAML[settings.profile])


def export_env(settings: QuorumSettings) -> None:
    """Expose the paths to child processes (dbt reads them through ``env_var``)."""
    os.environ.update(settings.exported_env())
    # dbt runs as a child process; find the one installed beside this interpreter even
    # when the virtual environment is not activated (python -m, IDEs, dagster CLI).
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


def prepare(settings: QuorumSettings) -> QuorumSettings:
    """Make the home ready for Dagster and Quorum's child processes; returns ``settings``."""
    if not settings.feast_type_checks:
        skip_feast_type_checks()  # before any step imports Feast (features/feast_checks.py)
    ensure_dirs(settings)
    export_env(settings)
    if settings.distributed:
        from orchestration.cluster import s3_credentials

        # The S3 store's key pair, when the caller gave none and this home's serve made one.
        os.environ.update(s3_credentials(settings))
    if settings.on_services:
        # Before any Dagster instance loads. It waits out a restart of the server: the
        # daemon reloads its code location every minute or so, and a load that failed while
        # PostgreSQL restarted left the location broken for the daemon's automatic retry of
        # the run the restart had failed (seen in CI's PostgreSQL-restart fault test).
        ensure_database(settings.dagster_postgres_url, wait_s=POSTGRES_RESTART_WAIT_S)
    return settings
