"""The README's entry points, end to end in fresh processes, on a small real slice."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from agents.desk.ledger import open_event_log
from agents.execution import serving as execution_serving
from agents.model_registry import installed_requirements
from agents.portfolio_optimizer import serving as optimizer_serving
from agents.risk_manager import serving as risk_serving
from tests.conftest import price_slice, write_prices
from tests.support.environment import environ_without_settings

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _env(home: Path, data: Path) -> dict[str, str]:
    env = environ_without_settings()
    env.update(
        QUORUM_HOME=str(home),
        QUORUM_MARKET_DATA=f"csv:{data}",
        QUORUM_BENCHMARK_SYMBOL="SP500",
        DAGSTER_HOME=str(home / "dagster"),
        QUORUM_RL_TIMESTEPS="2048",  # one PPO rollout: the script's jobs, not the policy
        # Two names over two years cannot show skill: the gate runs, records its verdict,
        # and the first version trades anyway (these tests are about the script's jobs).
        QUORUM_BOOTSTRAP_GATE="false",
    )
    return env


@pytest.fixture
def small_file(sp500_prices, tmp_path) -> Path:
    return write_prices(
        price_slice(sp500_prices, ["AAPL", "PG", "SP500"], "2019-01-01", "2020-12-31"),
        tmp_path / "prices.csv",
    )


def test_daily_pipeline_script_runs_end_to_end_and_prints_row_counts(tmp_path, small_file):
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.run_daily"],
        cwd=REPO,
        env=_env(home, small_file),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "daily_pipeline: SUCCESS" in done.stdout
    rows = len(small_file.read_text().splitlines()) - 1
    counts = dict(
        re.findall(r"^(raw_prices|fct_daily_features)\s+([\d,]+) rows", done.stdout, re.M)
    )
    assert int(counts["raw_prices"].replace(",", "")) == rows
    assert int(counts["fct_daily_features"].replace(",", "")) > 0
    assert (home / "exports" / "fct_daily_features.parquet").exists()
    assert any((home / "dagster").iterdir())  # the run is recorded in the instance
    # Then one decision cycle of the paper desk, its events in the ledger, and the book.
    assert "decision_cycle: SUCCESS" in done.stdout
    line = r"^decision cycle\s+(replay-\S+) .* (\d+) events in the ledger"
    cycle = re.search(line, done.stdout, re.M)
    assert cycle and int(cycle.group(2)) >= 7, done.stdout[-2000:]
    log = open_event_log(f"duckdb:///{home / 'ledger.duckdb'}")
    try:
        kinds = [e.event_type for e in log.read(cycle_id=cycle.group(1))]
    finally:
        log.close()
    assert kinds[-1] == "cycle_completed" and "decision" in kinds
    assert re.search(r"^positions\s+\d+ names", done.stdout, re.M)
    # The challenger's Evidently drift report: on disk, linked from the materialization (the
    # line is read from its metadata), and an artifact of the version's MLflow run.
    report = re.search(r"^drift report\s+(\S+\.html) \(v(\d+)", done.stdout, re.M)
    assert report, done.stdout[-3000:]
    path = Path(report.group(1))
    assert path.parent == home / "reports" / "drift" and path.stat().st_size > 10_000
    store = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    run_id = client.get_model_version("quorum-market_analyst", report.group(2)).run_id
    logged = [a.path for a in client.list_artifacts(run_id, "drift_reports")]
    assert logged == [f"drift_reports/{path.name}"]
    # Two names a day give no rank IC to judge: the bootstrap gate refuses, and with the
    # gate off by setting the first version is champion anyway, the verdict kept with it.
    assert re.search(r"^promotion gate\s+champion by setting \(the bootstrap gate, off, would "
                     r"have refused\)", done.stdout, re.M), done.stdout[-3000:]  # fmt: skip
    tags = client.get_model_version("quorum-market_analyst", "1").tags
    assert tags["promotion.actor"] == "QUORUM_BOOTSTRAP_GATE=false"
    assert "would have refused: bootstrap gate: out of sample: 0 days" in tags["promotion.reason"]
    # Each desk model states what it imports, so logging it never loaded it in a subprocess
    # to infer them (which would also list whatever that process happened to import).
    served = {"risk_manager": risk_serving, "portfolio_optimizer": optimizer_serving,
              "execution": execution_serving}  # fmt: skip
    for agent, module in served.items():
        source = client.get_model_version(f"quorum-{agent}", "1").source
        logged = client.get_logged_model(source.removeprefix("models:/"))
        stated = (Path(logged.artifact_location) / "requirements.txt").read_text().split()
        assert stated == installed_requirements(module.SERVING_PACKAGES), agent


def test_dagster_cli_materializes_the_ingestion_and_transform_groups(tmp_path, small_file):
    home = tmp_path / "home"
    (home / "dagster").mkdir(parents=True)  # as the README says: the CLI wants it to exist
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "orchestration.definitions",
            "--select",
            "group:ingestion or group:transform",
        ],
        cwd=REPO,
        env=_env(home, small_file),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr + done.stdout
