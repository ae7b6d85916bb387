"""The service's start: the instance's storage exists before its two processes open it."""

import os
import sqlite3
import subprocess
import sys

from features.settings import QuorumSettings
from orchestration.serve import REPO_ROOT, storage_command
from tests.support.environment import environ_without_settings


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


def test_the_daemon_started_after_the_settings_waits_their_sensor_timeout(tmp_path):
    """A sensor evaluation outrunning Dagster's 60 s default fails its tick, and the drift
    sensor's next try is an hour away: the processes Quorum starts (daemon, webserver, dagster
    dev) inherit QUORUM_SENSOR_TIMEOUT_S as the variable Dagster's gRPC client reads."""
    child = (
        "import subprocess, sys\n"
        "from features.settings import current_settings\n"
        "from orchestration.instance import export_env\n"
        "export_env(current_settings())\n"
        "read = 'from dagster._grpc.utils import default_sensor_grpc_timeout as t; print(t())'\n"
        "print(subprocess.run([sys.executable, '-c', read], capture_output=True, text=True,"
        " check=True).stdout.strip())\n"
    )
    base = environ_without_settings()
    seen = {}
    for given in (None, "420"):
        env = base | {"QUORUM_HOME": str(tmp_path)}
        if given:
            env["QUORUM_SENSOR_TIMEOUT_S"] = given
        done = subprocess.run(
            [sys.executable, "-c", child],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        seen[given] = int(done.stdout.strip())
    assert seen == {None: QuorumSettings.model_fields["sensor_timeout_s"].default, "420": 420}
