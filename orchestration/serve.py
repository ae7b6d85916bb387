"""Quorum's Dagster processes, started with the settings' environment.

``python -m orchestration.serve``           dagster-daemon and dagster-webserver (127.0.0.1);
                                            distributed profile: also SeaweedFS, MLflow's
                                            server and QUORUM_CELERY_WORKERS Celery workers
``python -m orchestration.serve dev``       ``dagster dev`` (webserver and daemon in one)
``python -m orchestration.serve dagster …`` any Dagster CLI command
``python -m orchestration.serve feast …``   the Feast CLI on the profile's feature store yaml
``python -m orchestration.serve mlflow``     MLflow's UI over the profile's tracking store

The settings are read and validated first; then the home is prepared: the instance file for
the profile, the production databases and the variables the instance file and Feast's yaml
read (DAGSTER_HOME, QUORUM_DAGSTER_POSTGRES_URL, ...), which a bare ``dagster-daemon`` would
lack. Every port binds to 127.0.0.1 unless QUORUM_BIND_HOST says otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from features.settings import (
    REPO_ROOT,
    QuorumSettings,
    SettingsError,
    feature_store_yaml,
    load_settings,
)
from orchestration import cluster, instance
from orchestration.cluster import venv_bin

WORKSPACE = str(REPO_ROOT / "workspace.yaml")


def daemon_command() -> list[str]:
    return [venv_bin("dagster-daemon"), "run", "-w", WORKSPACE]


def webserver_command(host: str, port: int) -> list[str]:
    return [venv_bin("dagster-webserver"), "-w", WORKSPACE, "-h", host, "-p", str(port)]


def storage_command() -> list[str]:
    return [venv_bin("dagster"), "instance", "migrate"]


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # added to this process's environment
    log: Path | None = None  # its output, when too chatty for the console
    cwd: Path = REPO_ROOT
    ready_port: int | None = None  # wait until it listens before starting the next one
    scratch: Path | None = None  # a folder of its own, removed when it stops


def distributed_services(settings: QuorumSettings) -> list[Service]:
    """The store, MLflow's server and the workers, for one machine. Each worker works in its
    own new, empty folder: a step can pass nothing to another through a worker's disk."""
    from features.postgres import ensure_database

    ensure_database(settings.mlflow_backend_uri)  # the tracking server's backend
    credentials = cluster.s3_credentials(settings, create=True)
    os.environ.update(credentials)
    store = cluster.default_seaweed_ports(settings)
    services = [
        Service(
            "seaweedfs",
            cluster.seaweedfs_command(
                settings.home / "seaweedfs" / "data", store, credentials, settings.bind_host
            ),
            ready_port=store.s3,
            log=settings.home / "seaweedfs" / "weed.log",
        ),
        Service(
            "mlflow",
            cluster.mlflow_server_command(settings),
            cluster.mlflow_server_env(settings, credentials),
            ready_port=settings.mlflow_port,
        ),
    ]
    for number in range(1, settings.celery_workers + 1):
        root = Path(tempfile.mkdtemp(prefix=f"quorum-worker{number}-"))
        cluster.write_celery_config(settings, root / "config")
        (root / "work").mkdir()
        env = cluster.celery_worker_env(
            root / "config", dict(os.environ), settings.celery_workers, scratch=root
        )
        name = f"quorum-worker{number}"
        command = cluster.celery_worker_command(name)
        services.append(Service(name, command, env, cwd=root / "work", scratch=root))
    return services


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def _wait_for_port(host: str, port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if _listening(host, port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def _start(service: Service) -> subprocess.Popen:
    output = open(service.log, "ab") if service.log else None  # noqa: SIM115 (its process's)
    process = subprocess.Popen(
        service.argv,
        cwd=service.cwd,
        env=os.environ | service.env,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
        start_new_session=True,
    )
    where = f", output in {service.log}" if service.log else ""
    print(f"started {service.name} (pid {process.pid}){where}", flush=True)
    return process


def serve(settings: QuorumSettings) -> int:
    """The services until one exits or Ctrl-C/SIGTERM; then all stop."""
    host, port = settings.bind_host, settings.webserver_port
    services = distributed_services(settings) if settings.distributed else []
    # The instance's storage is created first, by one process: the daemon and the webserver,
    # started together on a new home, would otherwise both create its tables, and the loser
    # exits with "table alembic_version already exists".
    subprocess.run(storage_command(), cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
    services += [
        Service("dagster-daemon", daemon_command()),
        Service("dagster-webserver", webserver_command(host, port)),
    ]
    processes: list[subprocess.Popen] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for service in services:  # in order: each waits for the one it needs to listen
            if service.ready_port is not None and _listening(host, service.ready_port):
                # Else the wait below would take another server (a SeaweedFS still stopping
                # takes ~25 s to free its ports) for this one, which then exits.
                raise RuntimeError(
                    f"{service.name}: {host}:{service.ready_port} is already in use; stop "
                    "what listens there, or wait for it to stop"
                )
            processes.append(_start(service))
            if service.ready_port is not None:
                _wait_for_port(host, service.ready_port, processes[-1], timeout=120)
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    finally:  # also when one failed to start: none of the others is left behind
        for process in reversed(processes):  # workers before the store they write to
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for service in services:
            if service.scratch is not None:
                shutil.rmtree(service.scratch, ignore_errors=True)
    return max(p.returncode or 0 for p in processes)


def tool_command(argv: list[str], settings: QuorumSettings) -> list[str] | None:
    """The command line of a mode other than the service (None for an unknown mode)."""
    host, port = settings.bind_host, str(settings.webserver_port)
    if argv[0] == "dev":
        return [venv_bin("dagster"), "dev", "-w", WORKSPACE, "-h", host, "-p", port]
    if argv[0] == "dagster":
        return [venv_bin("dagster"), *argv[1:]]
    if argv[0] == "feast":
        features = REPO_ROOT / "features"
        yaml = feature_store_yaml(settings.profile)
        return [venv_bin("feast"), "-c", str(features), "-f", str(yaml), *argv[1:]]
    if argv[0] == "mlflow":
        if settings.distributed:
            print(f"the distributed profile's MLflow is its server: {settings.mlflow_tracking_uri}")
            return None
        return [
            venv_bin("mlflow"), "ui", "--backend-store-uri", settings.mlflow_backend_uri,
            "--default-artifact-root", str(settings.mlflow_dir / "artifacts"),
            "--host", host, "--port", str(settings.mlflow_port),
        ]  # fmt: skip
    return None


def main(argv: list[str]) -> int:
    try:
        settings = instance.prepare(load_settings())
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Quorum {settings.profile} profile, DAGSTER_HOME={settings.dagster_home}", flush=True)
    if not argv:
        return serve(settings)
    command = tool_command(argv, settings)
    if command is None:
        print(f"unknown mode {argv[0]!r}: no argument, dev, dagster, feast or mlflow")
        return 2
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
