"""Quorum's settings: one object, read from the environment, for every profile.

The embedded profile keeps all state under ``QUORUM_HOME`` (DuckDB warehouse, Dagster
instance, Feast stores, MLflow runs, reports). The production profile moves the shared
state onto PostgreSQL and Redis; its connection settings come from environment variables,
never from committed files. Plain Python, no Dagster import, so scripts and tests use it too.
"""

from __future__ import annotations

import os
import sys
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"


# At most one run of the desk (decision cycles, paper days, clear-halt) at a time: the
# queued run coordinator holds the rest, so overlapping schedule ticks never double-trade.
_DESK_CONCURRENCY = """\
concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: quorum/desk
        value: trading
        limit: 1
telemetry:
  enabled: false
"""

DAGSTER_INSTANCE_YAML = (
    "# Written by Quorum (orchestration/settings.py) when absent; yours to edit.\n"
    + _DESK_CONCURRENCY
)

# The production instance: runs, event logs and schedules in PostgreSQL (the URL comes from
# the environment at load time, so no connection string is written to disk); the daemon
# dequeues runs, fails a run whose worker died (a desk run's tags cap its runtime) and
# retries a failed run once from the failed step.
DAGSTER_PRODUCTION_YAML = (
    "# Written by Quorum (orchestration/settings.py) when absent; yours to edit.\n"
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
    + _DESK_CONCURRENCY
)


class QuorumSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUORUM_", extra="ignore")

    profile: Literal["embedded", "production"] = "embedded"
    home: Path = Field(default=REPO_ROOT / ".quorum", description="Root of all embedded state.")
    market_data: str = Field(
        default="sp500",
        description="sp500 | arch | csv:PATH | parquet:PATH (long format: date, symbol, close).",
    )
    benchmark_symbol: str | None = Field(
        default=None,
        description="Symbol of the market index in a user's file; built-in sources set their own.",
    )
    postgres_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432",
        description="Server URL (no database) for the production profile; from the environment.",
    )
    redis_url: str = "redis://127.0.0.1:6379"
    feast_project: str = Field(
        default="quorum", description="Feast project: namespaces registry rows and Redis keys."
    )
    feast_registry_database: str = "quorum_feast"
    mlflow_database: str = "quorum_mlflow"
    ledger_database: str = "quorum_ledger"
    dagster_database: str = "quorum_dagster"
    replay_start: str | None = Field(
        default=None,
        description="First session the paper desk replays (YYYY-MM-DD); default: "
        "replay_sessions before the data's last session.",
    )
    replay_sessions: int = 10
    initial_cash: float = 1_000_000.0
    halt_policy: Literal["hold", "flatten"] = "hold"
    intraday_minutes: int = Field(default=30, description="Decision cycle interval.")
    alert_webhook: str | None = Field(
        default=None,
        description="Slack-compatible webhook for alerts; without it alerts go to the log "
        "and the ledger only.",
    )
    metrics_port: int = Field(default=9464, description="Prometheus exposition, 127.0.0.1.")

    @property
    def feast_registry_url(self) -> str:
        server = self.postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{server.rstrip('/')}/{self.feast_registry_database}"

    @property
    def redis_connection(self) -> str:
        """Feast's form of the Redis address: host:port[,db=N]."""
        address = self.redis_url.removeprefix("redis://").rstrip("/")
        host_port, _, db = address.partition("/")
        return f"{host_port},db={db}" if db else host_port

    @cached_property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @cached_property
    def exports_dir(self) -> Path:
        """Parquet copies of the dbt marts, read by Feast's offline store."""
        return self.home / "exports"

    @cached_property
    def dagster_home(self) -> Path:
        """DAGSTER_HOME if set, else one instance directory per profile (so switching the
        profile never reuses the other profile's instance file)."""
        if os.environ.get("DAGSTER_HOME"):
            return Path(os.environ["DAGSTER_HOME"])
        return self.home / ("dagster" if self.profile == "embedded" else "dagster-production")

    @property
    def dagster_postgres_url(self) -> str:
        return f"{self.postgres_url.rstrip('/')}/{self.dagster_database}"

    @cached_property
    def feast_dir(self) -> Path:
        return self.home / "feast"

    @cached_property
    def training_dir(self) -> Path:
        return self.home / "training"

    @cached_property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def mlflow_tracking_uri(self) -> str:
        """SQLite under QUORUM_HOME (embedded); PostgreSQL (production)."""
        if self.profile == "production":
            return f"{self.postgres_url.rstrip('/')}/{self.mlflow_database}"
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def ledger_url(self) -> str:
        """The desk's event log: DuckDB under QUORUM_HOME, or PostgreSQL in production."""
        if self.profile == "production":
            return f"{self.postgres_url.rstrip('/')}/{self.ledger_database}"
        return f"duckdb:///{self.home / 'ledger.duckdb'}"

    @cached_property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def ensure_dirs(self) -> None:
        for path in (
            self.home,
            self.exports_dir,
            self.dagster_home,
            self.reports_dir,
            self.feast_dir,
            self.training_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)
        instance = self.dagster_home / "dagster.yaml"
        if not instance.exists():  # a user's own instance file is never overwritten
            production = self.profile == "production"
            instance.write_text(DAGSTER_PRODUCTION_YAML if production else DAGSTER_INSTANCE_YAML)

    def export_env(self) -> None:
        """Expose the paths to child processes (dbt reads them through ``env_var``)."""
        os.environ["QUORUM_HOME"] = str(self.home)
        os.environ["QUORUM_WAREHOUSE"] = str(self.warehouse_path)
        os.environ["QUORUM_EXPORTS"] = str(self.exports_dir)
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)
        os.environ["QUORUM_DAGSTER_POSTGRES_URL"] = self.dagster_postgres_url
        os.environ["QUORUM_FEAST_PROJECT"] = self.feast_project
        os.environ["QUORUM_FEAST_REGISTRY_URL"] = self.feast_registry_url
        os.environ["QUORUM_REDIS_CONNECTION"] = self.redis_connection
        # dbt runs as a child process; find the one installed beside this interpreter even
        # when the virtual environment is not activated (python -m, IDEs, dagster CLI).
        bin_dir = str(Path(sys.executable).parent)
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


@cache
def load_settings() -> QuorumSettings:
    """The process's settings, read once; creates the directories and exports the paths."""
    settings = QuorumSettings()
    settings.home = settings.home.resolve()
    settings.ensure_dirs()
    settings.export_env()
    if settings.profile == "production":
        from orchestration.postgres import ensure_database

        ensure_database(settings.dagster_postgres_url)  # before any Dagster instance loads
    return settings
