"""Settings are the lowest layer: validated before anything runs, read in one module only, and
reading them (or importing any module) writes nothing."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from features.settings import SettingsError, settings_from
from tests.support.environment import environ_without_settings

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("agents", "assets", "features", "monitoring", "orchestration", "benchmarks")


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("QUORUM_INITIAL_CASH", "-5", "greater than 0"),
        ("QUORUM_INITIAL_CASH", "nan", "finite"),
        ("QUORUM_REPLAY_SESSIONS", "0", "greater than or equal to 1"),
        ("QUORUM_INTRADAY_MINUTES", "7", "divides an hour"),
        ("QUORUM_REPLAY_START", "2022-13-01", "month value is outside"),
        ("QUORUM_WEBSERVER_PORT", "70000", "less than or equal to 65535"),
        ("QUORUM_METRICS_PORT", "0", "greater than or equal to 1"),
        ("QUORUM_SENSOR_TIMEOUT_S", "30", "greater than or equal to 60"),
        ("QUORUM_PROFILE", "staging", "'embedded', 'production' or 'distributed'"),
        ("QUORUM_POSTGRES_URL", "mysql://db", "postgresql://"),
        ("QUORUM_CELERY_BROKER", "kafka://q", "redis://, amqp:// or pyamqp://"),
        ("QUORUM_S3_ENDPOINT_URL", "127.0.0.1:8333", "http:// or https://"),
    ],
)
def test_a_bad_setting_stops_with_the_variables_name_value_and_rule(variable, value, rule):
    with pytest.raises(SettingsError) as raised:
        settings_from({variable: value})
    message = str(raised.value)
    assert f"{variable}={value!r}" in message and rule in message, message


def test_valid_settings_derive_paths_and_urls_without_creating_them(tmp_path):
    home = tmp_path / "never-created"
    settings = settings_from(
        {
            "QUORUM_HOME": str(home),
            "QUORUM_PROFILE": "production",
            "QUORUM_POSTGRES_URL": "postgresql://postgres@127.0.0.1:1",
            "QUORUM_REPLAY_START": "2022-12-01",
        }
    )
    assert settings.ledger_url == "postgresql://postgres@127.0.0.1:1/quorum_ledger"
    assert settings.dagster_home == home / "dagster-production"
    assert str(settings.replay_start) == "2022-12-01"
    assert not home.exists()


def test_the_distributed_profile_derives_its_broker_tracking_server_and_store_keys(tmp_path):
    settings = settings_from(
        {
            "QUORUM_HOME": str(tmp_path),
            "QUORUM_PROFILE": "distributed",
            "QUORUM_REDIS_URL": "redis://127.0.0.1:7000/3",
            "QUORUM_FEAST_PROJECT": "desk_a",
            "QUORUM_MLFLOW_PORT": "5500",
        }
    )
    # Celery's queue is another database of the same Redis server than Feast's keys.
    assert settings.celery_broker_url == "redis://127.0.0.1:7000/1"
    assert settings.mlflow_tracking_uri == "http://127.0.0.1:5500"
    assert settings.mlflow_backend_uri.endswith("/quorum_mlflow")
    assert settings.mlflow_artifact_location is None  # the server's proxied root
    assert settings.mlflow_artifacts_destination == "s3://quorum/desk_a/mlflow"
    assert settings.reports_root == "s3://quorum/desk_a/reports"
    assert settings.exports_root == "s3://quorum/desk_a/exports"  # dbt's folder is its own
    assert settings.staged_market_root == settings.exports_root  # not the warehouse's file
    assert settings.warehouse_object_uri == "s3://quorum/desk_a/warehouse/warehouse.duckdb"
    # Feast's offline store reads the exports from tables beside the registry.
    assert settings.feast_offline_schema == "offline_desk_a"
    assert settings.feast_offline_conninfo.startswith("postgresql://")
    assert settings.exported_env()["QUORUM_FEAST_OFFLINE_SCHEMA"] == "offline_desk_a"
    assert settings.ledger_url.startswith("postgresql://")
    assert settings.dagster_home == tmp_path / "dagster-distributed"
    given = settings_from({"QUORUM_PROFILE": "distributed", "QUORUM_CELERY_BROKER": "amqp://h//"})
    assert given.celery_broker_url == "amqp://h//"
    embedded = settings_from({"QUORUM_HOME": str(tmp_path)})
    assert embedded.mlflow_tracking_uri.startswith("sqlite:///")
    assert embedded.mlflow_artifact_location == str(tmp_path / "mlflow" / "artifacts")
    assert embedded.reports_root == str(tmp_path / "reports")
    assert embedded.exports_root == str(embedded.exports_dir)
    assert embedded.staged_market_root is None
    assert embedded.warehouse_object_uri is None  # the file stays at warehouse_path
    assert embedded.feast_offline_schema is None


def test_make_run_with_a_bad_setting_stops_before_anything_runs(tmp_path):
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.run_daily"],
        cwd=REPO,
        env=environ_without_settings(QUORUM_HOME=str(home), QUORUM_INITIAL_CASH="-5"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "QUORUM_INITIAL_CASH='-5'" in done.stderr and "greater than 0" in done.stderr
    assert not home.exists()  # nothing ran, nothing was written


def test_importing_every_module_writes_nothing_and_creates_no_database(tmp_path):
    """In the production profile, with a PostgreSQL URL nobody listens on: an import that
    tried to create a database would fail, one that made folders would leave them."""
    home = tmp_path / "home"
    modules = sorted(
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for folder in PRODUCT
        for path in (REPO / folder).rglob("*.py")
    )
    script = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)\n"
    done = subprocess.run(
        [sys.executable, "-c", script, *modules],
        cwd=REPO,
        env=environ_without_settings(
            QUORUM_HOME=str(home),
            QUORUM_PROFILE="production",
            QUORUM_POSTGRES_URL="postgresql://postgres@127.0.0.1:9",
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(modules) > 50
    assert not home.exists()


def _environment_reads(path: Path, root: Path = REPO) -> list[str]:
    """``os.environ[...]``, ``os.environ.get(...)`` and ``os.getenv(...)`` with a QUORUM_ name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        target = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            target, key = node.value, node.slice  # a read, not an export to a child
        elif isinstance(node, ast.Call) and node.args:
            target, key = node.func, node.args[0]
        if target is None or not isinstance(key, ast.Constant) or not isinstance(key.value, str):
            continue
        source = ast.unparse(target)
        reads = source in ("os.environ", "os.environ.get", "os.getenv", "environ.get")
        if reads and key.value.startswith("QUORUM_"):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {key.value}")
    return found


def test_no_module_but_the_settings_reads_a_quorum_variable(tmp_path):
    offenders = [
        read
        for folder in PRODUCT
        for path in (REPO / folder).rglob("*.py")
        if path != REPO / "features" / "settings.py"
        for read in _environment_reads(path)
    ]
    assert offenders == []
    planted = tmp_path / "planted.py"  # the scan does catch each form of a read
    planted.write_text(
        'import os\na = os.environ["QUORUM_A"]\nb = os.environ.get("QUORUM_B")\n'
        'c = os.getenv("QUORUM_C")\nd = os.environ.get("HOME")\n'
    )
    assert len(_environment_reads(planted, tmp_path)) == 3


def test_settings_from_a_mapping_never_read_the_process_environment(monkeypatch, tmp_path):
    """A deployment's settings come from its own environment only: a parent process's
    QUORUM_WAREHOUSE (a test's workspace) once leaked into a child deployment's exports."""
    monkeypatch.setenv("QUORUM_WAREHOUSE", "/elsewhere/warehouse.duckdb")
    monkeypatch.setenv("QUORUM_PROFILE", "production")
    settings = settings_from({"QUORUM_HOME": str(tmp_path)})
    assert settings.profile == "embedded"
    assert settings.warehouse_path == tmp_path / "warehouse.duckdb"
    assert settings.exported_env()["QUORUM_WAREHOUSE"] == str(tmp_path / "warehouse.duckdb")


def test_the_analyst_members_are_a_comma_separated_list_of_known_members():
    from agents.market_analyst.names import LIGHTGBM, SEQUENCE_MEMBERS

    assert settings_from({}).analyst_members == (LIGHTGBM, *SEQUENCE_MEMBERS)
    chosen = settings_from({"QUORUM_ANALYST_MEMBERS": " lightgbm, cnn "})
    assert chosen.analyst_members == ("lightgbm", "cnn")
    for value, rule in [
        ("lightgbm,gru", "'gru': Input should be 'lightgbm', 'lstm', 'transformer' or 'cnn'"),
        ("lightgbm,lightgbm", "names a member twice"),
        (" , ", "at least 1 item"),
    ]:
        with pytest.raises(SettingsError) as raised:
            settings_from({"QUORUM_ANALYST_MEMBERS": value})
        assert "QUORUM_ANALYST_MEMBERS" in str(raised.value) and rule in str(raised.value)


def test_the_ray_address_is_a_host_and_port_and_absent_by_default():
    assert settings_from({}).ray_address is None
    assert settings_from({"QUORUM_RAY_ADDRESS": "10.0.0.5:6380"}).ray_address == "10.0.0.5:6380"
    assert settings_from({"QUORUM_RAY_ADDRESS": "ray://head:10001"}).ray_address
    with pytest.raises(SettingsError) as raised:
        settings_from({"QUORUM_RAY_ADDRESS": "http://head:8265"})
    assert "QUORUM_RAY_ADDRESS" in str(raised.value) and "host:port" in str(raised.value)
