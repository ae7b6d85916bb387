"""The values ``QuorumSettings`` derives from its fields: where each piece of state lives
(the warehouse, the exports, Dagster's, Feast's and MLflow's folders or URLs, the reports,
the sessions' preparations), how the services are reached (Redis as Feast and Celery spell
it, the PostgreSQL databases), and the variables Quorum's child processes read
(``exported_env``). Computed on each access, never written; a mixin of
``features.settings.QuorumSettings``, whose fields these read. No Dagster import."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit


class DerivedSettings:
    @property
    def on_services(self) -> bool:
        """Whether the shared state lives on PostgreSQL and Redis (production, distributed)."""
        return self.profile != "embedded"

    @property
    def distributed(self) -> bool:
        return self.profile == "distributed"

    @property
    def celery_broker_url(self) -> str:
        if self.celery_broker:
            return self.celery_broker
        host_port, _ = self._redis_server_and_db
        return f"redis://{host_port}/{self.celery_redis_db}"

    @property
    def s3_prefix(self) -> str:
        """This deployment's keys in the bucket (one Feast project, one deployment)."""
        return self.feast_project

    @property
    def feast_registry_url(self) -> str:
        server = self.postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{server.rstrip('/')}/{self.feast_registry_database}"

    @property
    def feast_offline_schema(self) -> str | None:
        """The PostgreSQL schema of the tables Feast's offline store reads (distributed: the
        dbt exports loaded beside the registry, ``features.offline_postgres``, so no step reads
        another's disk for a training set); None: Feast reads the exports' files."""
        return f"offline_{self.feast_project}" if self.distributed else None

    @property
    def feast_offline_conninfo(self) -> str | None:
        """libpq's URL of the database holding those tables (the registry's), when there are
        such tables (distributed); None otherwise."""
        if self.feast_offline_schema is None:
            return None
        return f"{self.postgres_url.rstrip('/')}/{self.feast_registry_database}"

    @property
    def _postgres_parts(self) -> dict[str, str]:
        parts = urlsplit(self.postgres_url)
        return {
            "QUORUM_FEAST_OFFLINE_HOST": parts.hostname or "127.0.0.1",
            "QUORUM_FEAST_OFFLINE_PORT": str(parts.port or 5432),
            "QUORUM_FEAST_OFFLINE_USER": unquote(parts.username or "postgres"),
            "QUORUM_FEAST_OFFLINE_PASSWORD": unquote(parts.password or ""),
            "QUORUM_FEAST_OFFLINE_DATABASE": self.feast_registry_database,
            "QUORUM_FEAST_OFFLINE_SCHEMA": self.feast_offline_schema or "",
        }

    @property
    def redis_connection(self) -> str:
        """Feast's form of the Redis address: host:port[,db=N]."""
        host_port, db = self._redis_server_and_db
        return f"{host_port},db={db}" if db else host_port

    @property
    def _redis_server_and_db(self) -> tuple[str, str]:
        """QUORUM_REDIS_URL's host:port and its database number ("" when none is given)."""
        host_port, _, db = self.redis_url.removeprefix("redis://").rstrip("/").partition("/")
        return host_port, db

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse or self.home / "warehouse.duckdb"

    @property
    def warehouse_object_uri(self) -> str | None:
        """Where the warehouse file is kept between the steps that write it: None, it stays at
        ``warehouse_path``; or (distributed) an object on the S3 store, which ingestion and dbt
        fetch into their own worker's folder and keep again after they succeed."""
        if self.distributed:
            return f"s3://{self.s3_bucket}/{self.s3_prefix}/warehouse/warehouse.duckdb"
        return None

    @property
    def exports_dir(self) -> Path:
        """Where dbt writes its Parquet copies of the marts (on the dbt step's own disk)."""
        return self.exports or self.home / "exports"

    @property
    def staged_market_root(self) -> str | None:
        """Where the steps after dbt read the staged prices and symbols: None, the warehouse
        file itself; or (distributed) the S3 prefix the dbt step keeps copies under, beside
        the exports, so the decision runs and the training steps never open a worker's disk."""
        return self.exports_root if self.distributed else None

    @property
    def exports_root(self) -> str:
        """Where the steps read the exports: ``exports_dir``, or (distributed) a prefix on
        the S3 store, where the dbt step puts them once built (``features.parquet_store``)."""
        if self.distributed:
            return f"s3://{self.s3_bucket}/{self.s3_prefix}/exports"
        return str(self.exports_dir)

    @property
    def venues_file(self) -> str | None:
        """The venue file the desk routes with ("simulated": the shipped one); None: none."""
        return None if self.venues == "none" else self.venues

    @property
    def dagster_home(self) -> Path:
        """DAGSTER_HOME if the caller set one, else one instance directory per profile (so
        switching the profile never reuses the other profile's instance file)."""
        if self.dagster_home_override is not None:
            return self.dagster_home_override
        names = {"embedded": "dagster", "production": "dagster-production"}
        return self.home / names.get(self.profile, f"dagster-{self.profile}")

    @property
    def dagster_postgres_url(self) -> str:
        return f"{self.postgres_url.rstrip('/')}/{self.dagster_database}"

    @property
    def feast_dir(self) -> Path:
        return self.home / "feast"

    @property
    def training_dir(self) -> Path:
        return self.home / "training"

    @property
    def training_root(self) -> str:
        """Where the batch keeps its training sets: the home's folder, or (distributed) a
        prefix on the S3 store, which every worker reaches (``features.parquet_store``)."""
        if self.distributed:
            return f"s3://{self.s3_bucket}/{self.s3_prefix}/training"
        return str(self.training_dir)

    @property
    def data_s3_endpoint_url(self) -> str | None:
        """The S3 endpoint of the data this profile keeps on the store (distributed), else
        None: it keeps its data on the home's disk."""
        return self.s3_endpoint_url if self.distributed else None

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def mlflow_backend_uri(self) -> str:
        """Where MLflow's runs and registry are kept: SQLite under QUORUM_HOME (embedded),
        else PostgreSQL (distributed: the tracking server's backend)."""
        if self.on_services:
            return f"{self.postgres_url.rstrip('/')}/{self.mlflow_database}"
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def mlflow_tracking_uri(self) -> str:
        """What clients talk to: the backend itself, or (distributed) the tracking server,
        which proxies the artifacts on S3 so a worker needs no store credentials for them."""
        if self.distributed:
            return self.mlflow_server_url or f"http://{self.bind_host}:{self.mlflow_port}"
        return self.mlflow_backend_uri

    @property
    def mlflow_artifact_location(self) -> str | None:
        """A new experiment's artifact root: a folder under QUORUM_HOME, or (distributed)
        None, the tracking server's own proxied root (``mlflow-artifacts:/``)."""
        return None if self.distributed else str(self.mlflow_dir / "artifacts")

    @property
    def mlflow_artifacts_destination(self) -> str:
        """Distributed: where the tracking server keeps artifacts."""
        return f"s3://{self.s3_bucket}/{self.s3_prefix}/mlflow"

    @property
    def ledger_url(self) -> str:
        """The desk's event log: DuckDB under QUORUM_HOME, or PostgreSQL on the services."""
        if self.on_services:
            return f"{self.postgres_url.rstrip('/')}/{self.ledger_database}"
        return f"duckdb:///{self.home / 'ledger.duckdb'}"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def reports_root(self) -> str:
        """Where the drift and backtest reports are kept: the home's folder, or (distributed)
        a prefix on the S3 store, so a report made on any worker is found in one place."""
        if self.distributed:
            return f"s3://{self.s3_bucket}/{self.s3_prefix}/reports"
        return str(self.reports_dir)

    @property
    def bus_prefix(self) -> str:
        """The desk's Redis Streams: namespaced like Feast's keys, one deployment each."""
        return f"quorum:{self.feast_project}"

    @property
    def sessions_root(self) -> str:
        """Where the desk keeps its session preparations (``agents.desk.preparations``): the
        home's folder, or (distributed) a prefix on the S3 store, so a preparation made by a
        run on one worker is read by the session's runs on every other."""
        if self.distributed:
            return f"s3://{self.s3_bucket}/{self.s3_prefix}/sessions"
        return str(self.home / "sessions")

    def exported_env(self) -> dict[str, str]:
        """The variables Quorum's child processes and configuration files read: dbt's
        profile, Feast's yaml and the Dagster instance file."""
        return {
            "QUORUM_HOME": str(self.home),
            "QUORUM_WAREHOUSE": str(self.warehouse_path),
            "QUORUM_EXPORTS": str(self.exports_dir),
            "DAGSTER_HOME": str(self.dagster_home),
            "DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS": str(self.sensor_timeout_s),
            "QUORUM_DAGSTER_POSTGRES_URL": self.dagster_postgres_url,
            "QUORUM_FEAST_PROJECT": self.feast_project,
            "QUORUM_FEAST_REGISTRY_URL": self.feast_registry_url,
            "QUORUM_REDIS_CONNECTION": self.redis_connection,
            # The distributed instance file's run launcher and compute log store.
            "QUORUM_CELERY_BROKER_URL": self.celery_broker_url,
            "QUORUM_S3_BUCKET": self.s3_bucket,
            "QUORUM_S3_ENDPOINT_URL": self.s3_endpoint_url,
            "QUORUM_S3_LOGS_PREFIX": f"{self.s3_prefix}/compute-logs",
            # The distributed Feast yaml's PostgreSQL offline store.
            **self._postgres_parts,
        }
