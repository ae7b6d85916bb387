"""Per-sector analyst training backfilled over 1, then 2, Celery workers (distributed profile).

    python -m benchmarks.sector_backfill [--symbols 20] [--start 2005-01-01] [--workers 1,2]

Builds a throwaway distributed deployment on servers it starts itself (PostgreSQL, Redis,
SeaweedFS, MLflow's tracking server; stopped and deleted afterwards) from real prices that
ship with skfolio, with LightGBM as the analyst; runs make run's jobs once, which make the
``analyst_sector`` partitions; then, for each worker count, starts that many workers and the
daemon, launches ``dagster job backfill --all`` of sector_analyst_training and prints JSON:
seconds from the launch to the last run's end, each run's wall seconds and worker. On two
cores the speed-up is bounded by the cores: it is reported, not tuned for.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import numpy as np

from benchmarks.load import _prices_csv
from orchestration.serve import WORKSPACE
from tests.support.cluster import celery_workers, distributed, mlflow_server, receivers
from tests.support.deployment import Deployment
from tests.support.launch import wait_for_runs
from tests.support.services import PrivatePostgres, PrivateRedis, PrivateSeaweedFS


def backfill(deployment: Deployment, workers: int) -> dict:
    """One backfill of every sector over ``workers`` new workers; its figures."""
    with (
        celery_workers(deployment, workers) as pool,
        deployment.daemon(),
        deployment.environment(),
        dg.DagsterInstance.get() as instance,
    ):
        launched_at = time.time()
        out = deployment.python(
            "-m", "orchestration.serve", "dagster", "job", "backfill", "-w", WORKSPACE,
            "-j", "sector_analyst_training", "--all", "all", "--noprompt",
        ).stdout  # fmt: skip
        backfill_id = re.search(r"Launched backfill job `([^`]+)`", out).group(1)
        runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        records = wait_for_runs(instance, [r.dagster_run.run_id for r in runs], 3600)
        by_worker = {r.dagster_run.tags["dagster/partition"]: receivers(pool, r) for r in records}
    walls = np.array([r.end_time - r.start_time for r in records])
    return {
        "workers": workers,
        "partitions": len(records),
        "succeeded": sum(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records),
        "wall_seconds": round(max(r.end_time for r in records) - launched_at, 1),
        "run_wall_seconds": {
            "p50": round(float(np.median(walls)), 1),
            "max": round(float(walls.max()), 1),
        },
        "worker_of_partition": {k: v[0] if len(v) == 1 else v for k, v in by_worker.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--start", default="2005-01-01", help="first day of the price slice")
    parser.add_argument("--workers", default="1,2", help="worker counts, one backfill each")
    args = parser.parse_args()

    stdout = os.dup(1)  # Dagster's processes log to stdout: it carries only the JSON
    os.dup2(2, 1)
    root = Path(tempfile.mkdtemp(prefix="quorum-sector-backfill-"))
    data = _prices_csv(root / "prices.csv", args.symbols, args.start)
    postgres, redis_server = PrivatePostgres.start_new(), PrivateRedis.start_new()
    deployment = Deployment.create(
        root,
        postgres.url,
        redis_server.url,
        market_data=f"csv:{data}",
        benchmark_symbol="SP500",
        replay_sessions="2",
        bootstrap_gate="false",
        analyst_members="lightgbm",
        rl_timesteps="2048",
    )
    results = []
    with ExitStack() as stack:
        stack.callback(postgres.stop)
        stack.callback(redis_server.remove)
        stack.callback(deployment.teardown)
        store = PrivateSeaweedFS.start_new()
        stack.callback(store.remove)
        distributed(deployment, store)
        stack.enter_context(mlflow_server(deployment, store))
        started = time.perf_counter()
        deployment.build()
        setup_seconds = time.perf_counter() - started
        for count in (int(n) for n in args.workers.split(",")):
            results.append(backfill(deployment, count))
    sys.stdout.flush()
    os.dup2(stdout, 1)
    base = results[0]["wall_seconds"]
    print(
        json.dumps(
            {
                "symbols": args.symbols,
                "start": args.start,
                "backfills": results,
                "speedup_vs_first": [round(base / r["wall_seconds"], 2) for r in results],
                "cpu_count": os.cpu_count(),
                "setup_seconds": round(setup_seconds, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
