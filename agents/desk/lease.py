"""The desk's lease: one process at a time decides, from reading the ledger's state to the
end of its run, while other desk runs may already be starting (importing, loading the
champions) beside it.

Why: every decision run through the daemon is a new process that spends most of its time
starting (benchmarks.load: about 5 of a run's 6 s before the desk decides). With one desk run
at a time those starts queue behind each other; with the lease, the next run starts while the
current one decides and waits only for the decision itself. The lease lives in the ledger's
own store, so it holds across processes and machines, and a process that dies lets go of it
(PostgreSQL ends the session's advisory locks with its connection; the kernel drops a dead
process's file lock).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from agents.desk.ledger import ledger_backend

POLL_S = 0.05


class DeskBusy(RuntimeError):
    """Another process held the desk's lease for longer than the caller would wait."""


class DeskLease(Protocol):
    held: bool

    def acquire(self, timeout_s: float) -> None: ...

    def release(self) -> None: ...


def _wait_for(try_lock: Callable[[], bool], timeout_s: float, holder: str) -> None:
    """Polls ``try_lock`` until it takes the lease; past ``timeout_s``, ``DeskBusy`` naming
    the lease's ``holder`` (where it lives)."""
    deadline = time.monotonic() + timeout_s
    while not try_lock():
        if time.monotonic() > deadline:
            raise DeskBusy(
                f"another desk run held the desk's lease ({holder}) for over {timeout_s:g} s"
            )
        time.sleep(POLL_S)


def _lease_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for a name (PostgreSQL's bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresDeskLease:
    """A session-level advisory lock in the ledger's database, on a connection of its own."""

    KEY = _lease_key("quorum/desk")

    def __init__(self, url: str) -> None:
        self.url = url
        self.held = False
        self._con = None

    def acquire(self, timeout_s: float) -> None:
        if self.held:
            return
        import psycopg

        if self._con is None or self._con.closed:
            self._con = psycopg.connect(self.url, autocommit=True)
        con = self._con
        _wait_for(
            lambda: con.execute("select pg_try_advisory_lock(%s)", (self.KEY,)).fetchone()[0],
            timeout_s,
            f"advisory lock {self.KEY} in the ledger's database",
        )
        self.held = True

    def release(self) -> None:
        if self.held and self._con is not None and not self._con.closed:
            self._con.execute("select pg_advisory_unlock(%s)", (self.KEY,))
        self.held = False


class FileDeskLease:
    """An exclusive lock on a file beside the embedded profile's ledger."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.held = False
        self._fd: int | None = None

    def acquire(self, timeout_s: float) -> None:
        if self.held:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._wait_for_lock(fd, timeout_s)
        except BaseException:  # a timeout, an interrupt or flock's own error: no fd kept
            os.close(fd)
            raise
        self._fd, self.held = fd, True

    def _wait_for_lock(self, fd: int, timeout_s: float) -> None:
        def try_lock() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait_for(try_lock, timeout_s, str(self.path))

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
        self._fd, self.held = None, False


def desk_lease(ledger_url: str) -> DeskLease:
    """The lease for the ledger at ``ledger_url`` (as ``open_event_log`` reads it)."""
    kind, target = ledger_backend(ledger_url)
    return FileDeskLease(target + ".lease") if kind == "duckdb" else PostgresDeskLease(target)
