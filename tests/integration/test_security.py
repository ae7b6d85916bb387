"""Security basics: no credential in the repository, every server bound to 127.0.0.1."""

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from features.settings import QuorumSettings, current_settings
from orchestration.serve import tool_command
from tests.support.environment import environ_without_settings

REPO = Path(__file__).resolve().parents[2]
# What a leaked secret looks like: a URL with a password, a private key, a cloud or chat token.
SECRET_PATTERNS = {
    "URL with a password": re.compile(r"[a-z+]+://[^/\s:@'\"]+:[^@\s/'\"{}$]+@"),
    "private key": re.compile("-----BEGIN [A-Z ]*" + "PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "Slack token": re.compile(r"\bxox[abpr]-[0-9A-Za-z-]{10,}"),
    "password setting": re.compile(r"(?i)\bpassword\s*[:=]\s*['\"]?[^\s'\"{}$]{4,}"),
}


def test_no_credential_in_any_tracked_file():
    files = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(files) > 50
    found = []
    for name in files:
        path = REPO / name
        if name == "tests/integration/test_security.py" or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        for what, pattern in SECRET_PATTERNS.items():
            found += [f"{name}: {what}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not found, found


def test_the_patterns_catch_what_they_are_for():
    samples = {
        "URL with a password": "postgresql://quorum:hunter2@db.example.com:5432/quorum",
        "AWS access key": "AKIA" + "ABCDEFGHIJKLMNOP",
        "password setting": "password: hunter2",
    }
    for what, sample in samples.items():
        assert SECRET_PATTERNS[what].search(sample), what
    assert not SECRET_PATTERNS["URL with a password"].search("postgresql://postgres@127.0.0.1")


def test_tool_servers_bind_to_localhost_unless_told(monkeypatch):
    monkeypatch.delenv("QUORUM_BIND_HOST", raising=False)
    settings = QuorumSettings()
    for mode, flag in (("dev", "-h"), ("mlflow", "--host")):
        command = tool_command([mode], settings)
        assert command[command.index(flag) + 1] == "127.0.0.1", command
    monkeypatch.setenv("QUORUM_BIND_HOST", "0.0.0.0")
    command = tool_command(["mlflow"], current_settings())
    assert command[command.index("--host") + 1] == "0.0.0.0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> list[str]:
    """Local addresses listening on ``port`` (from ss, as the kernel sees them)."""
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout
    return [cols[3] for cols in map(str.split, out.splitlines()) if cols[3].endswith(f":{port}")]


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.mark.e2e
def test_make_serve_listens_on_127_0_0_1_only(tmp_path):
    port = _free_port()
    env = environ_without_settings()
    env |= {"QUORUM_HOME": str(tmp_path / "home"), "QUORUM_WEBSERVER_PORT": str(port)}
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        service = subprocess.Popen(
            [sys.executable, "-m", "orchestration.serve"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while not _listening(port):
            # The service's own output says why it stopped (CI keeps nothing else of it).
            assert service.poll() is None, f"the service exited:\n{_tail(log_path)}"
            assert time.monotonic() < deadline, f"never listened:\n{_tail(log_path)}"
            time.sleep(1)
        assert _listening(port) == [f"127.0.0.1:{port}"]
    finally:
        service.terminate()
        service.wait(timeout=60)
    assert service.returncode == 0
