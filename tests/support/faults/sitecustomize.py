"""Fault injection for tests/integration/test_production_faults.py and test_distributed.py.

Python imports this module at start-up in every process whose PYTHONPATH begins with this
folder: the daemon, its code server and the run workers they launch. Each fault fires once,
in the first process to reach its point while its marker file exists (that process deletes
the marker), so every later run proceeds normally.

QUORUM_FAULT_KILL_BEFORE_FILLS=<marker>: SIGKILL when the first order is about to be filled;
    the cycle's orders are already durable in the ledger, no fill is recorded.
QUORUM_FAULT_RESTART_POSTGRES=<marker>: restart the PostgreSQL server while the daily batch's
    drift step holds its ledger connection, just before it appends the drift record, with
    QUORUM_FAULT_RESTART_COMMAND: the test's own server's restart command (never the
    machine's).
QUORUM_FAULT_HOLD_CYCLES=<marker>: not a fault but a brake, and not claimed: every decision
    cycle that starts while the marker exists waits at its snapshot until it is removed (a
    desk run held active for as long as a test needs).
"""

import os


def _claim(marker: str) -> bool:
    try:
        os.remove(marker)
    except FileNotFoundError:
        return False
    return True


_KILL = os.environ.get("QUORUM_FAULT_KILL_BEFORE_FILLS")
_RESTART = os.environ.get("QUORUM_FAULT_RESTART_POSTGRES")
_RESTART_COMMAND = os.environ.get("QUORUM_FAULT_RESTART_COMMAND")
_HOLD = os.environ.get("QUORUM_FAULT_HOLD_CYCLES")

if _KILL:
    import signal

    from agents.desk import broker

    _execute = broker.PaperBroker.execute

    def _execute_or_die(self, *args, **kwargs):
        if _claim(_KILL):
            os.kill(os.getpid(), signal.SIGKILL)
        return _execute(self, *args, **kwargs)

    broker.PaperBroker.execute = _execute_or_die

if _RESTART and _RESTART_COMMAND:
    import shlex
    import subprocess

    from agents.desk import ledger

    _append = ledger.PostgresEventLog.append

    def _append_after_restart(self, events):
        if any(e.event_type == "drift_report" for e in events) and _claim(_RESTART):
            subprocess.run(shlex.split(_RESTART_COMMAND), check=True, capture_output=True)
        return _append(self, events)

    ledger.PostgresEventLog.append = _append_after_restart

if _HOLD:
    import time

    from agents.desk import cycle

    _snapshot = cycle.Desk.snapshot

    def _snapshot_when_released(self, *args, **kwargs):
        while os.path.exists(_HOLD):
            time.sleep(0.5)
        return _snapshot(self, *args, **kwargs)

    cycle.Desk.snapshot = _snapshot_when_released
