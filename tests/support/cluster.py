"""The distributed profile's processes for a throwaway deployment: MLflow's tracking server
and Celery workers, started with the same commands ``make serve`` uses
(``orchestration/cluster.py``) and stopped afterwards. Used by the distributed tests and the
load benchmark, on servers (PostgreSQL, Redis, SeaweedFS) their caller started.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from features.postgres import ensure_database
from features.settings import REPO_ROOT
from orchestration import cluster
from tests.support.deployment import Deployment, started, wait_until
from tests.support.services import PrivateSeaweedFS, free_port, wait_for_port


@dataclass
class Worker:
    name: str
    root: Path
    process: subprocess.Popen

    @property
    def work_dir(self) -> Path:
        """The folder it works in: new and empty, its own."""
        return self.root / "work"

    @property
    def log(self) -> Path:
        return self.root / "worker.log"


def receivers(workers: list[Worker], record) -> list[str]:
    """The workers whose log shows they received the run's (a ``RunRecord``) Celery task."""
    task = record.dagster_run.tags["dagster-celery/task_id"]
    return [w.name for w in workers if f"[{task}] received" in w.log.read_text()]


def distributed(deployment: Deployment, store: PrivateSeaweedFS) -> Deployment:
    """``deployment`` switched to the distributed profile on ``store``, with an MLflow port."""
    deployment.overrides |= {
        "profile": "distributed",
        "s3_endpoint_url": store.url,
        "mlflow_port": str(free_port()),
    }
    deployment.extra_env = dict(store.credentials)
    return deployment


@contextmanager
def mlflow_server(deployment: Deployment, store: PrivateSeaweedFS) -> Iterator[None]:
    settings = deployment.settings()
    ensure_database(settings.mlflow_backend_uri)
    env = deployment.env | cluster.mlflow_server_env(settings, store.credentials)
    log = deployment.home / "mlflow-server.log"
    with started(cluster.mlflow_server_command(settings), env, REPO_ROOT, log):
        wait_for_port(settings.mlflow_port, 120, "MLflow's server")
        yield


@contextmanager
def celery_workers(
    deployment: Deployment, count: int, extra_env: Mapping[str, str] | None = None
) -> Iterator[list[Worker]]:
    """``count`` workers, each in a new empty folder of its own outside the home."""
    settings = deployment.settings()
    with ExitStack() as stack:
        pool = []
        for number in range(1, count + 1):
            root = Path(tempfile.mkdtemp(prefix=f"quorum-worker{number}-"))
            stack.callback(shutil.rmtree, root, ignore_errors=True)
            cluster.write_celery_config(settings, root / "config")
            (root / "work").mkdir()
            name = f"w{number}-{deployment.tag}"
            base = deployment.instance_env | dict(extra_env or {})
            env = cluster.celery_worker_env(root / "config", base, count, scratch=root)
            argv = cluster.celery_worker_command(name)
            worker = Worker(name, root, None)  # type: ignore[arg-type]
            worker.process = stack.enter_context(started(argv, env, worker.work_dir, worker.log))
            pool.append(worker)
        for worker in pool:
            wait_until(lambda w=worker: "ready." in w.log.read_text(), 120, what=worker.name)
        yield pool
