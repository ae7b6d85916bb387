"""The service's start: the instance's storage exists before its two processes open it."""

import os
import sqlite3
import subprocess

from orchestration.serve import REPO_ROOT, storage_command


def test_the_storage_step_creates_a_new_homes_tables_once_for_both_services(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    for _ in range(2):  # the second start finds the tables and changes nothing
        subprocess.run(storage_command(), cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    for database in ("history/runs.db", "schedules/schedules.db"):
        with sqlite3.connect(home / database) as connection:
            stamped = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        assert len(stamped) == 1, database
