"""Quorum's Dagster processes, started with the settings' environment.

``python -m orchestration.serve``           dagster-daemon and dagster-webserver (127.0.0.1)
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
import signal
import subprocess
import sys
import time
from pathlib import Path

from features.settings import REPO_ROOT, QuorumSettings, SettingsError, load_settings
from orchestration import instance

WORKSPACE = str(REPO_ROOT / "workspace.yaml")


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def daemon_command() -> list[str]:
    return [_bin("dagster-daemon"), "run", "-w", WORKSPACE]


def webserver_command(host: str, port: int) -> list[str]:
    return [_bin("dagster-webserver"), "-w", WORKSPACE, "-h", host, "-p", str(port)]


def storage_command() -> list[str]:
    return [_bin("dagster"), "instance", "migrate"]


def serve(host: str, port: int) -> int:
    """Both services until either exits or Ctrl-C/SIGTERM; then both stop."""
    # The instance's storage is created first, by one process: the daemon and the webserver,
    # started together on a new home, would otherwise both create its tables, and the loser
    # exits with "table alembic_version already exists".
    subprocess.run(storage_command(), cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
    processes = [
        subprocess.Popen(daemon_command(), cwd=REPO_ROOT),
        subprocess.Popen(webserver_command(host, port), cwd=REPO_ROOT),
    ]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return max(p.returncode or 0 for p in processes)


def tool_command(argv: list[str], settings: QuorumSettings) -> list[str] | None:
    """The command line of a mode other than the service (None for an unknown mode)."""
    host, port = settings.bind_host, str(settings.webserver_port)
    if argv[0] == "dev":
        return [_bin("dagster"), "dev", "-w", WORKSPACE, "-h", host, "-p", port]
    if argv[0] == "dagster":
        return [_bin("dagster"), *argv[1:]]
    if argv[0] == "feast":
        production = settings.profile == "production"
        features = REPO_ROOT / "features"
        yaml = features / f"feature_store{'.production' if production else ''}.yaml"
        return [_bin("feast"), "-c", str(features), "-f", str(yaml), *argv[1:]]
    if argv[0] == "mlflow":
        return [
            _bin("mlflow"), "ui", "--backend-store-uri", settings.mlflow_tracking_uri,
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
        return serve(settings.bind_host, settings.webserver_port)
    command = tool_command(argv, settings)
    if command is None:
        print(f"unknown mode {argv[0]!r}: no argument, dev, dagster, feast or mlflow")
        return 2
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
