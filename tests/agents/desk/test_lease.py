"""The desk's lease on both ledger backends: one holder at a time, across processes, and a
holder that dies lets go."""

import os
import signal
import subprocess
import sys

import pytest

from agents.desk.lease import DeskBusy, desk_lease
from features.settings import REPO_ROOT


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.services)])
def ledger_url(request, tmp_path):
    """A ledger URL as the settings give it: a DuckDB file, or a database of the session's
    own PostgreSQL server."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'ledger.duckdb'}"
        return
    yield request.getfixturevalue("ledger_database")


def test_a_second_holder_waits_until_the_first_releases(ledger_url):
    first, second = desk_lease(ledger_url), desk_lease(ledger_url)
    first.acquire(timeout_s=1)
    first.acquire(timeout_s=1)  # asking again while holding it is free
    with pytest.raises(DeskBusy, match="desk's lease"):
        second.acquire(timeout_s=0.3)
    assert not second.held
    first.release()
    second.acquire(timeout_s=1)
    assert second.held and not first.held
    with pytest.raises(DeskBusy):
        first.acquire(timeout_s=0.3)
    second.release()


def test_a_holder_process_that_dies_lets_the_next_one_decide(ledger_url):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from agents.desk.lease import desk_lease\n"
            f"lease = desk_lease({ledger_url!r})\n"
            "lease.acquire(timeout_s=5)\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held", holder.communicate(timeout=5)
        waiting = desk_lease(ledger_url)
        with pytest.raises(DeskBusy):
            waiting.acquire(timeout_s=0.3)
        holder.send_signal(signal.SIGKILL)  # no release, no clean exit
        holder.wait(timeout=10)
        waiting.acquire(timeout_s=10)
        assert waiting.held
        waiting.release()
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_file_lease_that_gives_up_or_is_interrupted_keeps_no_descriptor(tmp_path, monkeypatch):
    url = f"duckdb:///{tmp_path / 'ledger.duckdb'}"
    holder, waiter = desk_lease(url), desk_lease(url)
    holder.acquire(timeout_s=1)
    open_before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(DeskBusy):
        waiter.acquire(timeout_s=0.2)

    def interrupted(fd: int, timeout_s: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(waiter, "_wait_for_lock", interrupted)
    with pytest.raises(KeyboardInterrupt):
        waiter.acquire(timeout_s=5)
    assert len(os.listdir("/proc/self/fd")) == open_before
    assert not waiter.held
    holder.release()
