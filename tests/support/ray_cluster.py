"""A throwaway Ray cluster for the tests: ``ray start --head --block`` on free ports of
127.0.0.1, its session files in its own temporary folder, stopped by ending that command's
process group. Never ``ray stop``: it stops every Ray on the machine, not only this one.
It requires a random token (Ray's token authentication), given to its clients in
``client_env``, so nothing reads or writes the user's ~/.ray/auth_token. One token per test
process: Ray keeps the first token a process loads, so every Ray a test process drives (a
private head, or a local Ray a step starts) uses the same one."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestration.cluster import venv_bin
from tests.support.services import ServiceUnavailable, free_port, log_tail, wait_for_port

# Ray's token authentication, for every Ray this test process starts or connects to.
CLIENT_ENV = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}


@dataclass
class PrivateRayHead:
    root: Path
    port: int
    process: subprocess.Popen

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def client_env(self) -> dict[str, str]:
        """What a driver of this cluster sets in its environment."""
        return dict(CLIENT_ENV)

    @classmethod
    def start_new(cls, num_cpus: int = 2) -> PrivateRayHead:
        # Short: Ray puts Unix sockets under it, and their paths are limited to 107 bytes.
        root = Path(tempfile.mkdtemp(prefix="qray-", dir="/tmp"))
        port = free_port()
        # Each port a head opens is chosen here: Ray's fixed defaults (the dashboard agent's
        # 52365, the client server's 10001) would collide with a Ray another test started.
        argv = [
            venv_bin("ray"), "start", "--head", "--block", "--port", str(port),
            "--node-ip-address", "127.0.0.1", "--num-cpus", str(num_cpus),
            "--include-dashboard", "false", "--disable-usage-stats",
            "--temp-dir", str(root),
            "--ray-client-server-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()),
            "--dashboard-agent-grpc-port", str(free_port()),
            "--runtime-env-agent-port", str(free_port()),
            "--metrics-export-port", str(free_port()),
            # Workers take ports the kernel hands out: Ray's default worker range,
            # 10002-19999, overlaps the ports chosen above, and Ray refuses to start then.
            "--min-worker-port", "0", "--max-worker-port", "0",
        ]  # fmt: skip
        log = open(root / "ray-start.log", "ab")  # noqa: SIM115 (the process holds it)
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=os.environ | CLIENT_ENV,
        )
        head = cls(root, port, process)
        try:
            wait_for_port(port, 90, "private Ray head's GCS", process)
        except ServiceUnavailable as failed:
            printed = log_tail(root / "ray-start.log", lines=20)
            head.remove()
            raise ServiceUnavailable(f"{failed}; `ray start` printed:\n{printed}") from failed
        return head

    def stop(self) -> None:
        """End ``ray start --block`` and every process of its session (its process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:  # it takes ~30 s to stop cleanly; a throwaway cluster need not
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
