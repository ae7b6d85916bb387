"""The distributed profile's processes on one machine: the S3 store (SeaweedFS), MLflow's
tracking server and the Celery workers that run Dagster's runs.

Each function returns a command line (and the environment it needs), so ``serve`` starts
them and the tests start private ones the same way. Nothing here starts a process by itself.

The store's credentials are boto3's own variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
Where the caller set none, the first ``serve`` of a home makes a key pair for its own
SeaweedFS and keeps it in ``$QUORUM_HOME/seaweedfs/identity.json`` (mode 600, never
committed); every later process of that home reads it from there.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from features.settings import QuorumSettings

S3_REGION = "us-east-1"  # SeaweedFS ignores it; boto3 wants one


def venv_bin(name: str) -> str:
    """A command installed beside this interpreter (found without an activated venv)."""
    return str(Path(sys.executable).parent / name)


def identity_file(settings: QuorumSettings) -> Path:
    return settings.home / "seaweedfs" / "identity.json"


def s3_credentials(settings: QuorumSettings, *, create: bool = False) -> dict[str, str]:
    """boto3's variables for the store: the caller's own, else the home's key pair (made
    when ``create`` and absent). Empty when neither exists."""
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return {
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", S3_REGION),
        }
    path = identity_file(settings)
    if not path.exists():
        if not create:
            return {}
        path.parent.mkdir(parents=True, exist_ok=True)
        pair = {"access_key": f"quorum{secrets.token_hex(8)}", "secret_key": secrets.token_hex(24)}
        path.touch(mode=0o600)
        path.write_text(json.dumps(pair))
    pair = json.loads(path.read_text())
    return {
        "AWS_ACCESS_KEY_ID": pair["access_key"],
        "AWS_SECRET_ACCESS_KEY": pair["secret_key"],
        "AWS_DEFAULT_REGION": S3_REGION,
    }


@dataclass(frozen=True)
class SeaweedPorts:
    """Every port ``weed server`` opens, named, so two stores on one machine never collide
    (its defaults include fixed extra ports: Iceberg 8181, Lance 9101)."""

    s3: int
    master: int
    volume: int
    filer: int


# weed's gRPC ports are its HTTP ports plus this (its own convention), set explicitly.
SEAWEED_GRPC_PORT_OFFSET = 10_000


def seaweedfs_command(
    data_dir: Path, ports: SeaweedPorts, credentials: dict[str, str], host: str = "127.0.0.1"
) -> list[str]:
    """``weed server`` with its S3 gateway on ``ports.s3``: one master, one volume server,
    one filer. Writes the gateway's identity file (the S3 API refuses multipart uploads
    without one) beside the data. Each bucket reserves volumes: at most 64 MB each, and up
    to 32, so a few buckets fit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "s3-identities.json"
    config.touch(mode=0o600)
    identity = {
        "name": "quorum",
        "credentials": [
            {
                "accessKey": credentials["AWS_ACCESS_KEY_ID"],
                "secretKey": credentials["AWS_SECRET_ACCESS_KEY"],
            }
        ],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    grpc = SEAWEED_GRPC_PORT_OFFSET
    return [
        venv_bin("weed"), "server", f"-dir={data_dir}", f"-ip={host}", f"-ip.bind={host}",
        f"-master.port={ports.master}", f"-master.port.grpc={ports.master + grpc}",
        f"-volume.port={ports.volume}", f"-volume.port.grpc={ports.volume + grpc}",
        "-filer", f"-filer.port={ports.filer}", f"-filer.port.grpc={ports.filer + grpc}",
        "-s3", f"-s3.port={ports.s3}", f"-s3.port.grpc={ports.s3 + grpc}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
        "-volume.max=32", "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false",  # nothing leaves the machine
    ]  # fmt: skip


def default_seaweed_ports(settings: QuorumSettings) -> SeaweedPorts:
    """The S3 port from the settings' endpoint; the others beside it (8333 -> 9333, 8080,
    8888 are SeaweedFS's own defaults)."""
    s3_port = urlsplit(settings.s3_endpoint_url).port or 8333
    offset = s3_port - 8333
    return SeaweedPorts(s3_port, 9333 + offset, 8080 + offset, 8888 + offset)


def mlflow_server_command(settings: QuorumSettings) -> list[str]:
    """MLflow's tracking server: runs and registry on PostgreSQL, artifacts on the S3 store,
    proxied (``mlflow-artifacts:/``), so clients need no store credentials for models."""
    return [
        venv_bin("mlflow"), "server",
        "--backend-store-uri", settings.mlflow_backend_uri,
        "--artifacts-destination", settings.mlflow_artifacts_destination,
        "--host", settings.bind_host, "--port", str(settings.mlflow_port),
        "--workers", "1",
    ]  # fmt: skip


def mlflow_server_env(settings: QuorumSettings, credentials: dict[str, str]) -> dict[str, str]:
    return credentials | {"MLFLOW_S3_ENDPOINT_URL": settings.s3_endpoint_url}


def write_celery_config(settings: QuorumSettings, config_dir: Path) -> None:
    """The module dagster-celery's app reads at a worker's start (``dagster_celery_config``)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    broker = settings.celery_broker_url
    (config_dir / "dagster_celery_config.py").write_text(
        f"broker_url = {broker!r}\n"
        f"result_backend = {broker!r}\n"
        # Early acknowledgement (Celery's default): a run whose worker dies is not handed to
        # another worker by the broker; Dagster's run monitoring fails it, and its retry
        # policy decides, so a desk run never runs twice at once.
        "task_acks_late = False\n"
        "worker_prefetch_multiplier = 1\n"
    )


def celery_worker_command(name: str) -> list[str]:
    """A worker of Dagster's runs: one run at a time, and a new process for each run, so no
    module state (the cached desk and its champions) outlives the run that loaded it."""
    return [
        venv_bin("celery"), "-A", "orchestration.celery_app", "worker", "-Q", "dagster",
        "-n", f"{name}@%h", "--concurrency", "1", "--max-tasks-per-child", "1",
        "--prefetch-multiplier", "1", "--loglevel", "INFO",
    ]  # fmt: skip


def celery_worker_env(
    config_dir: Path, base: dict[str, str], workers_on_machine: int, scratch: Path | None = None
) -> dict[str, str]:
    """A worker's environment: its Celery config on the path, and its share of the machine's
    cores for OpenMP (LightGBM, PyTorch, OpenBLAS), unless ``base`` sets one. Left at every
    core, two runs training at once each spin as many threads as there are cores: a
    per-sector backfill took longer on two workers than on one (docs/operations.md).
    With ``scratch`` (a folder of this worker's own), dbt writes its exports there before
    the step puts them on the S3 store, and ingestion and dbt fetch the warehouse file there
    from the store and keep it back: no other worker's step can read either off a disk."""
    path = os.pathsep.join(p for p in (str(config_dir), base.get("PYTHONPATH", "")) if p)
    threads = str(max(1, (os.cpu_count() or 1) // max(1, workers_on_machine)))
    own = (
        {
            "QUORUM_EXPORTS": str(scratch / "exports"),
            "QUORUM_WAREHOUSE": str(scratch / "warehouse.duckdb"),
        }
        if scratch is not None
        else {}
    )
    return {"OMP_NUM_THREADS": threads} | base | {"PYTHONPATH": path} | own
