"""Milliseconds of one in-process decision cycle, and seconds of one run through Dagster,
printed as JSON.

A cycle is timed from the online feature read to the orders and fills written in the
ledger (``Desk.run_cycle``: features, signals, target, risk, plan, consensus, orders, paper
fills, snapshot). Two kinds are reported apart, because they do different work:
- intraday cycles (12 of a session's 13): the day's preparations are reused;
- session-open cycles: they also publish the previous close's features and score the new
  features; the session's preparation (risk model, Monte Carlo draws, crisis moves, regime,
  impact models) and the open's rebalance, anchored on the previous close
  (``agents.desk.open_solve``), are done before the open and timed apart
  (``session_preparation_before_open``), as the replay and the paper day do.

Each kind also reports ``*_decision_latency``: the desk's own ``latency_ms`` (the figure
the decision-latency alert checks), from the cycle's start through its orders and fills
recorded. It leaves out what the cycle records after its fills (the shadow forecasts, the
cycle's summary, the state's snapshot); the wall times above include them.

``500_symbols_with_event_bus``: the 500-symbol cycles again with every event also published on
Redis Streams (a private Redis), as the production profile does; ``added_p50_ms`` is its cost
as the difference of the two runs' medians (eight session opens: noisy), and ``publish_ms``
the bus's own time in each cycle, measured inside it (the appends' time beyond the ledger's).

Universes: the shipped 20 stocks (real prices), and 500 symbols RESAMPLED from them as in
``benchmarks.features`` (block bootstrap of real dates; 20 x 25 paths). The 500 symbols'
features are the real latest rows of the 20 stocks under the synthetic names. Models are the
champions of the last ``make run`` (read only); every store written here is a throwaway.

    python -m benchmarks.decision_cycle [--sessions N]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from features.names import ANALYST_SERVICE
from features.parquet_store import ParquetStore
from features.settings import REPO_ROOT, load_settings

HISTORY_DAYS = 900  # enough for the 504-day optimizer and 500-day risk windows


def _percentiles(samples: list[float]) -> dict[str, float]:
    return {
        "count": len(samples),
        "p50_ms": round(float(np.percentile(samples, 50)), 2),
        "p99_ms": round(float(np.percentile(samples, 99)), 2),
        "max_ms": round(float(np.max(samples)), 2),
    }


def _universe(size: int) -> tuple[pd.DataFrame, str]:
    from benchmarks.features import resampled_universe
    from features.ingestion.market_data import load_market_data

    prices = load_market_data("sp500").prices if size == 20 else resampled_universe()
    dates = np.sort(prices["date"].unique())[-HISTORY_DAYS:]
    return prices[prices["date"].isin(dates)].reset_index(drop=True), "SP500"


class _Publisher:
    """Writes the real latest feature rows, restamped to the previous close, for every
    symbol of the universe (synthetic names take their source stock's values)."""

    def __init__(self, store, exports: Path, symbols: list[str], feed) -> None:
        from features.vectors import pack_analyst_vectors

        daily = pd.read_parquet(exports / "fct_daily_features.parquet")
        market = pd.read_parquet(exports / "fct_market_features.parquet")
        # packed from the whole history, so the sequence windows are the real ones
        packed = pack_analyst_vectors(daily, market)
        latest = packed[packed["event_timestamp"] == packed["event_timestamp"].max()]
        source = latest.set_index("symbol")
        rows = source.loc[[s.split("_R")[0] for s in symbols]].reset_index(drop=True)
        rows["symbol"] = symbols
        self._packed = rows
        self._store, self._feed = store, feed

    def __call__(self, day) -> None:
        from features.names import ANALYST_VECTOR_VIEW

        previous = self._feed.history(day).index[-1]
        stamp = pd.Timestamp(previous).tz_localize("UTC") + pd.Timedelta(hours=21)
        self._store.write_to_online_store(
            ANALYST_VECTOR_VIEW, self._packed.assign(event_timestamp=stamp)
        )


class _BusClock:
    """The time a ``PublishingEventLog``'s appends spend beyond its ledger's own appends:
    what publishing on the bus adds to a cycle, whatever else the machine does meanwhile."""

    def __init__(self, log) -> None:
        self.spent_s = 0.0
        ledger_append, append = log.ledger.append, log.append

        def timed_ledger(events):
            started = time.perf_counter()
            try:
                return ledger_append(events)
            finally:
                self.spent_s -= time.perf_counter() - started

        def timed(events):
            started = time.perf_counter()
            try:
                return append(events)
            finally:
                self.spent_s += time.perf_counter() - started

        log.ledger.append, log.append = timed_ledger, timed

    def take_ms(self) -> float:
        """Milliseconds spent since the last call."""
        spent, self.spent_s = self.spent_s, 0.0
        return spent * 1e3


def time_cycles(
    size: int, exports: Path, models, sessions: int, bus_url: str | None = None
) -> dict:
    """``bus_url``: publish every event on that Redis's streams too, as the production
    profile's ledger does (``agents.desk.bus``)."""
    from agents.desk.cycle import Desk
    from agents.desk.feed import ReplayFeed
    from features.store import OnlineFeatureReader, apply_definitions, open_store

    prices, index = _universe(size)
    dates = np.sort(prices["date"].unique())
    feed = ReplayFeed(prices, start=pd.Timestamp(dates[-sessions - 1]).date())
    store = open_store("embedded")
    apply_definitions(store, ParquetStore(str(exports)))
    symbols = [s for s in feed.symbols if s != index]
    sectors = {s: models.sectors.get(s.split("_R")[0], "Unknown") for s in symbols}
    with tempfile.TemporaryDirectory(prefix="quorum-ledger-") as ledger:
        desk = Desk(
            type(models)(**{**models.__dict__, "sectors": sectors}),
            feed,
            OnlineFeatureReader(store, ANALYST_SERVICE),
            _ledger(Path(ledger) / "ledger.duckdb", bus_url),
            index_symbol=index,
            on_session_open=_Publisher(store, exports, symbols, feed),
        )
        preparing, orders = [], 0
        # By kind of cycle: the wall time, the desk's own latency_ms and the bus's time
        wall, decision = {"opening": [], "intraday": []}, {"opening": [], "intraday": []}
        publishing = {"opening": [], "intraday": []}
        bus = _BusClock(desk.log) if bus_url is not None else None
        for day in feed.sessions[:sessions]:
            start = time.perf_counter()  # before the open, as the replay and paper day do
            desk.before_the_open(day)  # its preparation, then a settled heap
            preparing.append((time.perf_counter() - start) * 1e3)
            if bus is not None:
                bus.take_ms()  # what was published before the open is no cycle's
            for i, at in enumerate(feed.cycle_times(day)):
                start = time.perf_counter()
                result = desk.run_cycle(at)
                kind = "opening" if i == 0 else "intraday"
                wall[kind].append((time.perf_counter() - start) * 1e3)
                decision[kind].append(result.latency_ms)
                if bus is not None:
                    publishing[kind].append(bus.take_ms())
                orders += result.orders
        desk.log.close()
    store.teardown()
    return {
        "symbols": len(symbols),
        "sessions": sessions,
        "intraday_cycle": _percentiles(wall["intraday"]),
        "session_open_cycle": _percentiles(wall["opening"]),
        "intraday_decision_latency": _percentiles(decision["intraday"]),
        "session_open_decision_latency": _percentiles(decision["opening"]),
        "session_preparation_before_open": _percentiles(preparing),
        "all_cycles_p99_ms": round(float(np.percentile(wall["opening"] + wall["intraday"], 99)), 2),
        "orders_sent": orders,
        **(
            {
                "intraday_publish": _percentiles(publishing["intraday"]),
                "session_open_publish": _percentiles(publishing["opening"]),
            }
            if bus is not None
            else {}
        ),
    }


def _ledger(path: Path, bus_url: str | None):
    from agents.desk.ledger import DuckDBEventLog

    if bus_url is None:
        return DuckDBEventLog(path)
    import redis

    from agents.desk.bus import PublishingEventLog, StreamBus

    bus = StreamBus(redis.Redis.from_url(bus_url), f"bench_{uuid.uuid4().hex[:8]}")
    return PublishingEventLog(DuckDBEventLog(path), bus)


def time_bus_overhead(exports: Path, models, sessions: int, plain: dict) -> dict:
    """The 500-symbol cycles again with every event also published on Redis Streams (a
    private Redis this starts and deletes): what the production profile's bus adds."""
    from tests.support.services import PrivateRedis

    server = PrivateRedis.start_new()
    try:
        published = time_cycles(500, exports, models, sessions, bus_url=server.url)
    finally:
        server.remove()
    kinds = ("intraday_cycle", "session_open_cycle")
    return {
        **{kind: published[kind] for kind in kinds},
        "added_p50_ms": {
            kind: round(published[kind]["p50_ms"] - plain[kind]["p50_ms"], 2) for kind in kinds
        },
        "publish_ms": {
            "intraday_cycle": published["intraday_publish"],
            "session_open_cycle": published["session_open_publish"],
        },
        "target_added_ms": 5,
    }


def time_dagster_run(settings) -> dict:
    """`dagster job execute` of decision_cycle in a new process, as a schedule launches it,
    on a copy of the last `make run`'s home (the user's ledger is never touched)."""
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as home:
        for name in ("warehouse.duckdb", "exports", "feast", "mlflow"):
            source = settings.home / name
            copy = shutil.copytree if source.is_dir() else shutil.copy2
            copy(source, Path(home) / name)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("QUORUM_", "DAGSTER_"))},
            "QUORUM_HOME": home,
            "DAGSTER_HOME": str(Path(home) / "dagster"),
        }
        (Path(home) / "dagster").mkdir()
        command = [
            str(Path(sys.executable).parent / "dagster"),
            *("job", "execute", "-m", "orchestration.definitions", "-j", "decision_cycle"),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    return {"wall_seconds": round(wall, 2), "includes": "process start, code load, one run"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=8)
    args = parser.parse_args()
    settings = load_settings()
    if not (settings.exports_dir / "fct_daily_features.parquet").exists():
        raise SystemExit(f"no feature exports under {settings.exports_dir}: run `make run` first")
    from agents import model_registry
    from agents.desk.models import load_desk_models

    model_registry.configure(settings.mlflow_tracking_uri, "quorum")
    models = load_desk_models()
    report = {"what": "one in-process decision cycle, online read through orders written (ms)"}
    dagster_run = time_dagster_run(settings)
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as home:
        exports = Path(home) / "exports"
        shutil.copytree(settings.exports_dir, exports)
        os.environ["QUORUM_HOME"] = home
        os.environ["QUORUM_FEAST_PROJECT"] = f"bench_{uuid.uuid4().hex[:8]}"
        for size in (20, 500):
            report[f"{size}_symbols"] = time_cycles(size, exports, models, args.sessions)
        report["500_symbols_with_event_bus"] = time_bus_overhead(
            exports, models, args.sessions, report["500_symbols"]
        )
    report["dagster_scheduled_style_run"] = dagster_run
    from benchmarks.training import analyst_scoring

    report["analyst_scoring"] = analyst_scoring(models.signal_model, settings.exports_dir)
    report["target_p99_ms_500_symbols"] = 100
    report["aim_ms"] = 20
    report["meets_target_intraday"] = report["500_symbols"]["intraday_cycle"]["p99_ms"] < 100
    report["meets_target_all_cycles"] = report["500_symbols"]["all_cycles_p99_ms"] < 100
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
