"""A throwaway production deployment on real PostgreSQL and Redis servers: its own
QUORUM_HOME, its own databases (Dagster, MLflow, ledger, Feast registry) and its own Feast
project (which namespaces its Redis keys). The load benchmark and the fault tests build one
on servers they started themselves, drive it through the same commands a desk uses
(``run_daily``, ``dagster-daemon``, queued runs) and drop every database and key afterwards.

Plain Python: Dagster is only reached through its processes and the instance API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import redis

from agents.desk.ledger import Event, open_event_log
from agents.desk.state import current
from features.settings import REPO_ROOT, QuorumSettings, settings_from
from orchestration.serve import daemon_command
from tests.support.environment import environ_without_settings

ROLES = ("dagster", "mlflow", "ledger", "feast")


@dataclass
class Deployment:
    home: Path
    tag: str
    postgres_url: str
    redis_url: str
    overrides: dict[str, str] = field(default_factory=dict)
    # Variables that are not Quorum's (an S3 store's credentials), for every process.
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, postgres_url: str, redis_url: str, **overrides: str) -> Deployment:
        """On the servers at ``postgres_url`` and ``redis_url`` (ones the caller started);
        ``overrides``: extra QUORUM_* settings by field name (market_data=csv:..., ...)."""
        tag = f"d{uuid.uuid4().hex[:10]}"
        home = root / tag
        home.mkdir(parents=True)
        return cls(
            home,
            tag,
            postgres_url=postgres_url,
            redis_url=redis_url,
            overrides={k: str(v) for k, v in overrides.items()},
        )

    def database(self, role: str) -> str:
        return f"quorum_{self.tag}_{role}"

    @property
    def env(self) -> dict[str, str]:
        """The environment of every process of this deployment (no inherited QUORUM_ or
        DAGSTER_ variable leaks in from the caller)."""
        base = environ_without_settings()
        quorum = {
            "profile": "production",
            "home": str(self.home),
            "postgres_url": self.postgres_url,
            "redis_url": self.redis_url,
            "feast_project": f"q_{self.tag}",
            **{f"{role}_database": self.database(role) for role in ("dagster", "mlflow")},
            "ledger_database": self.database("ledger"),
            "feast_registry_database": self.database("feast"),
            **self.overrides,
        }
        return base | self.extra_env | {f"QUORUM_{k.upper()}": v for k, v in quorum.items()}

    @property
    def instance_env(self) -> dict[str, str]:
        """``env`` plus what the Dagster instance file reads (the settings export these in
        Quorum's own processes; a bare dagster-daemon needs them given)."""
        return self.env | self.settings().exported_env()

    def settings(self) -> QuorumSettings:
        """This deployment's settings object, read from its environment."""
        return settings_from(self.env)

    @contextmanager
    def environment(self) -> Iterator[None]:
        """This process's environment switched to the deployment's (for the instance API and
        the code servers it spawns), restored afterwards."""
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.instance_env)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def python(
        self, *args: str, timeout: float = 900, check: bool = True, **kwargs
    ) -> subprocess.CompletedProcess:
        """``python ARGS`` in the deployment's environment, from the repository root."""
        process = subprocess.run(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env=self.env | kwargs.pop("env", {}),
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )
        if check and process.returncode != 0:
            raise RuntimeError(
                f"`python {' '.join(args)}` exited {process.returncode}:\n"
                f"{process.stdout[-4000:]}\n{process.stderr[-4000:]}"
            )
        return process

    def prepare(self) -> None:
        """What a service's start does before the daemon: the home's folders and instance
        file, and the instance's database (``make run`` does it as its first step)."""
        self.python(
            "-c",
            "from features.settings import current_settings; from orchestration import instance; "
            "instance.prepare(current_settings())",
        )

    def build(self) -> subprocess.CompletedProcess:
        """``make run``'s work: the daily pipeline, then one decision cycle."""
        return self.python("-m", "orchestration.run_daily")

    @contextmanager
    def daemon(self, extra_env: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen]:
        """``dagster-daemon run`` for this deployment, stopped (and waited for) on exit."""
        log = open(self.home / "daemon.log", "ab")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            daemon_command(),
            cwd=REPO_ROOT,
            env=self.instance_env | dict(extra_env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server and run workers share its group
        )
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()

    def teardown(self) -> None:
        """Stop every process still working for the deployment (code servers outlive their
        parents for a while), then drop its databases and its Feast project's Redis keys."""
        subprocess.run(["pkill", "-KILL", "-f", str(self.home)], check=False)
        with psycopg.connect(f"{self.postgres_url}/postgres", autocommit=True) as con:
            for role in ROLES:
                con.execute(f'drop database if exists "{self.database(role)}" with (force)')
        client = redis.Redis.from_url(self.redis_url)
        project = f"q_{self.tag}".encode()
        keys = [k for k in client.scan_iter(count=1000) if project in k]
        if keys:
            client.delete(*keys)


@contextmanager
def started(argv: list[str], env: Mapping[str, str], cwd: Path, log: Path) -> Iterator:
    """A process in its own group, its output in ``log``; the group stopped on exit."""
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@dataclass
class EmbeddedRun:
    """``make run``'s script on the embedded profile, in a home of its own, as a background
    process (to compare a deployment's cycle with): ``wait`` for it, then read its ``events``."""

    home: Path
    env: dict[str, str]
    process: subprocess.Popen
    log: Path

    @classmethod
    @contextmanager
    def start(
        cls, home: Path, settings: Mapping[str, str], extra_env: Mapping[str, str]
    ) -> Iterator[EmbeddedRun]:
        """``settings``: QUORUM_* settings by field name, as ``Deployment.create`` takes them."""
        home.mkdir(parents=True)
        base = environ_without_settings()
        quorum = {"profile": "embedded", "home": str(home), **settings}
        env = base | dict(extra_env) | {f"QUORUM_{k.upper()}": v for k, v in quorum.items()}
        env["DAGSTER_HOME"] = str(home / "dagster")  # as the Makefile sets it
        log = home.parent / "run_daily.log"
        argv = [sys.executable, "-m", "orchestration.run_daily"]
        with started(argv, env, REPO_ROOT, log) as process:
            yield cls(home, env, process, log)

    def wait(self, timeout: float) -> str:
        """Its output, once it has exited 0."""
        returncode = self.process.wait(timeout=timeout)
        output = self.log.read_text()
        if returncode != 0:
            raise RuntimeError(f"make run's script exited {returncode}:\n{output[-4000:]}")
        return output

    def events(self) -> list[Event]:
        """Its whole ledger."""
        log = open_event_log(settings_from(self.env).ledger_url)
        try:
            return log.read()
        finally:
            log.close()


def last_cycle_time(deployment: Deployment) -> datetime:
    log = open_event_log(deployment.settings().ledger_url)
    try:
        return datetime.fromisoformat(current(log).last_market_time)
    finally:
        log.close()


def staged_dates(deployment: Deployment) -> pd.Series:
    """The staged prices' dates where the deployment's decision runs read them: the home's
    warehouse, or (distributed) the copy the dbt step kept on the S3 store."""
    settings = deployment.settings()
    if settings.staged_market_root is None:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            return con.execute("select date from staging.stg_prices").df()["date"]
    from features.parquet_store import ParquetStore

    store = ParquetStore(settings.staged_market_root, settings.data_s3_endpoint_url)
    with deployment.environment():  # the store's credentials
        return store.read("stg_prices", columns=["date"])["date"]


def first_bar_of_next_session(deployment: Deployment) -> str:
    """09:30 New York on the first session after the desk's last cycle."""
    last = last_cycle_time(deployment)
    dates = pd.to_datetime(staged_dates(deployment)).dt.date
    day = dates[dates > last.date()].min()
    return pd.Timestamp(f"{day} 09:30", tz="America/New_York").tz_convert("UTC").isoformat()


def wait_until(predicate, timeout: float, poll: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"{what} not reached after {timeout:.0f} s")
