"""The walk-forward's training worker starts without the desk or Feast."""

import subprocess
import sys

from features.settings import REPO_ROOT

# What a spawned worker would otherwise import before it reads its first task (the desk
# waits for the first year's model meanwhile), and what the backtest's history reader needs
# no more than the worker does.
NOT_IMPORTED = ("feast", "mlflow", "skfolio", "cvxpy", "agents.desk.cycle")


def test_the_training_worker_and_the_history_reader_import_neither_the_desk_nor_feast():
    probe = (
        "import sys, agents.backtest.training_worker, features.history; "
        f"print(','.join(m for m in {NOT_IMPORTED!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
    # The probe sees a module that is imported: the desk's own module pulls these in.
    desk = probe.replace("agents.backtest.training_worker", "agents.backtest.desk_run")
    pulled = subprocess.run(
        [sys.executable, "-c", desk], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert "agents.desk.cycle" in pulled.split(",")
