"""Decision cycles back to back through the daemon-backed production or distributed profile.

    python -m benchmarks.load [--cycles 10] [--symbols 20] [--start 2018-01-01]
                              [--profile production|distributed] [--workers 2]

Builds a throwaway production deployment on PostgreSQL and Redis servers it starts itself
from the machine's binaries (tests/support/services.py; stopped and deleted afterwards), from
real prices that ship with skfolio, starts dagster-daemon, queues N decision_cycle runs at
once (two in flight, one deciding at a time under the desk's lease) and prints JSON: cycles
per minute from the first submission to the last run's end, wall seconds per run (from the
run worker's start to the run's end, as Dagster records them), each step's median seconds,
the launch time, and the events lost or duplicated, counted by the ledger audit and by each
run's materializations, and decisions that interleaved in the ledger.

``--profile distributed`` also starts SeaweedFS, MLflow's tracking server and ``--workers``
Celery workers (tests/support/cluster.py): each run is then a Celery task on a worker.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from itertools import pairwise
from pathlib import Path

import dagster as dg
import numpy as np

from agents.desk.ledger import open_event_log
from features.ingestion.market_data import load_market_data
from monitoring.audit import audit_ledger
from tests.support.cluster import celery_workers, distributed, mlflow_server
from tests.support.deployment import Deployment
from tests.support.launch import run_submitter, wait_for_runs
from tests.support.services import PrivatePostgres, PrivateRedis, PrivateSeaweedFS

PROFILES = {
    "production": "production (dagster-daemon, queued runs, PostgreSQL, Redis)",
    "distributed": "distributed (queued runs on Celery workers, S3 store, MLflow server)",
}

DECISION_ASSETS = [
    "market_snapshot", "analyst_signals", "optimizer_proposal", "risk_assessment",
    "execution_plan", "consensus_decision", "orders",
]  # fmt: skip


def _prices_csv(path: Path, symbols: int, start: str) -> Path:
    prices = load_market_data("sp500").prices
    names = sorted(s for s in prices["symbol"].unique() if s != "SP500")[:symbols]
    frame = prices[prices["symbol"].isin([*names, "SP500"]) & (prices["date"] >= start)]
    out = frame[["date", "symbol", "close"]].copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)
    return path


def _run_audit(instance: dg.DagsterInstance, run_ids: list[str]) -> tuple[dict, list, list]:
    """Each run's cycle id, and what its materializations lost or doubled."""
    cycles, lost, duplicated = {}, [], []
    for run_id in run_ids:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        counts = Counter(
            r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records
        )
        lost += [f"run {run_id}: {a} not materialized" for a in DECISION_ASSETS if not counts[a]]
        duplicated += [f"run {run_id}: {a} x{n}" for a, n in counts.items() if n > 1]
        for record in records:
            event = record.event_log_entry.dagster_event
            if event.asset_key.to_user_string() == "market_snapshot":
                cycles[run_id] = event.materialization.metadata["cycle_id"].value
    return cycles, lost, duplicated


def _launch_seconds(instance: dg.DagsterInstance, run_ids: list[str]) -> list[float]:
    """Per run, from the daemon launching it (RUN_STARTING) to its first step's start: the
    run worker's process start and code-location load, what every run pays before it works."""
    seconds = []
    for run_id in run_ids:
        stamps = {}
        for kind in (dg.DagsterEventType.RUN_STARTING, dg.DagsterEventType.STEP_START):
            records = instance.get_records_for_run(run_id, of_type=kind, limit=1).records
            if records:
                stamps[kind] = records[0].event_log_entry.timestamp
        if len(stamps) == 2:
            seconds.append(
                stamps[dg.DagsterEventType.STEP_START] - stamps[dg.DagsterEventType.RUN_STARTING]
            )
    return seconds


def _interleaved_cycles(events: list, cycle_ids: set[str]) -> int:
    """Pairs of the runs' cycles whose ledger events interleave: two decisions at once. The
    desk's lease keeps them apart while the runs themselves overlap."""
    spans: dict[str, tuple[int, int]] = {}
    for event in events:
        if event.cycle_id in cycle_ids:
            low, high = spans.get(event.cycle_id, (event.sequence, event.sequence))
            spans[event.cycle_id] = (min(low, event.sequence), max(high, event.sequence))
    return sum(1 for a, b in pairwise(sorted(spans.values())) if b[0] < a[1])


def _step_seconds(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, float]:
    """Each step's median seconds over the runs, start to success: where a run's wall goes
    (the first step also builds the desk: imports, champions, stores)."""
    durations: dict[str, list[float]] = {}
    for run_id in run_ids:
        started = {}
        for record in instance.get_records_for_run(run_id).records:
            event = record.event_log_entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[event.step_key] = record.event_log_entry.timestamp
            elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                seconds = record.event_log_entry.timestamp - started[event.step_key]
                durations.setdefault(event.step_key, []).append(seconds)
    return {step: round(float(np.median(s)), 2) for step, s in durations.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--start", default="2018-01-01", help="first day of the price slice")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="production")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (distributed)")
    args = parser.parse_args()

    # Dagster's code servers inherit this process's stdout for their logs: send them to
    # stderr, so that stdout carries only the JSON.
    stdout = os.dup(1)
    os.dup2(2, 1)
    root = Path(tempfile.mkdtemp(prefix="quorum-load-"))
    data = _prices_csv(root / "prices.csv", args.symbols, args.start)
    postgres, redis_server = PrivatePostgres.start_new(), PrivateRedis.start_new()
    deployment = Deployment.create(
        root,
        postgres.url,
        redis_server.url,
        market_data=f"csv:{data}",
        benchmark_symbol="SP500",
        replay_sessions=str(math.ceil(args.cycles / 13) + 2),
        # A benchmark of throughput, not of skill: a short slice's first analyst trades even
        # if its bootstrap gate would refuse it (the verdict is recorded with it).
        bootstrap_gate="false",
    )
    stack = ExitStack()
    try:
        if args.profile == "distributed":
            store = PrivateSeaweedFS.start_new()
            stack.callback(store.remove)
            distributed(deployment, store)
            stack.enter_context(mlflow_server(deployment, store))
        started = time.perf_counter()
        deployment.build()
        build_seconds = time.perf_counter() - started
        if args.profile == "distributed":
            stack.enter_context(celery_workers(deployment, args.workers))
        with (
            deployment.daemon(),
            deployment.environment(),
            dg.DagsterInstance.get() as instance,
            run_submitter(instance) as submitter,
        ):
            submitted = time.time()
            run_ids = [submitter.submit("decision_cycle") for _ in range(args.cycles)]
            records = wait_for_runs(instance, run_ids, timeout=120 * args.cycles + 300)
            cycles, lost, duplicated = _run_audit(instance, run_ids)
            launches = np.array(_launch_seconds(instance, run_ids))
            steps = _step_seconds(instance, run_ids)
        log = open_event_log(deployment.settings().ledger_url)
        try:
            events = log.read()
            ledger = audit_ledger(events, expected_cycles=cycles.values())
            interleaved = _interleaved_cycles(events, set(cycles.values()))
        finally:
            log.close()
    finally:
        stack.close()
        deployment.teardown()
        redis_server.remove()
        postgres.stop()

    succeeded = [r for r in records if r.dagster_run.status == dg.DagsterRunStatus.SUCCESS]
    walls = np.array([r.end_time - r.start_time for r in records])
    starts = sorted((r.start_time, r.end_time) for r in records)
    overlaps = sum(1 for a, b in pairwise(starts) if b[0] < a[1])
    elapsed = max(r.end_time for r in records) - submitted
    lost += ledger.lost
    duplicated += ledger.duplicated + [
        f"cycle {c} decided by {n} runs" for c, n in Counter(cycles.values()).items() if n > 1
    ]
    sys.stdout.flush()
    os.dup2(stdout, 1)
    print(
        json.dumps(
            {
                "profile": PROFILES[args.profile],
                **({"workers": args.workers} if args.profile == "distributed" else {}),
                "symbols": args.symbols,
                "runs": len(records),
                "succeeded": len(succeeded),
                "cycles_per_minute": round(len(succeeded) / elapsed * 60, 2),
                "elapsed_seconds": round(elapsed, 1),
                # A run's own wall time, from its worker's start to its end (Dagster's run
                # record); the rest of each cycle's share of the elapsed time is the queue
                # and the daemon's polling.
                "wall_seconds_per_run": {
                    "p50": round(float(np.percentile(walls, 50)), 2),
                    "p99": round(float(np.percentile(walls, 99)), 2),
                    "max": round(float(walls.max()), 2),
                },
                # From the daemon launching a run to its first step starting.
                "launch_seconds_per_run": {
                    "p50": round(float(np.percentile(launches, 50)), 2),
                    "p99": round(float(np.percentile(launches, 99)), 2),
                },
                "step_seconds_p50": steps,
                # Runs in flight at once (one deciding, the next starting beside it), and
                # decisions at once, which the desk's lease forbids (agents/desk/lease.py).
                "overlapping_desk_runs": overlaps,
                "interleaved_decisions": interleaved,
                "orders": ledger.orders,
                "fills": ledger.fills,
                "lost_events": len(lost),
                "duplicated_events": len(duplicated),
                "problems": (lost + duplicated)[:20],
                "setup_seconds": round(build_seconds, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
