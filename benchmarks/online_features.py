"""Milliseconds of one online read of every market-analyst feature, printed as JSON.

For 20 and 500 symbols, on the SQLite (embedded) and Redis (production) online stores:
Quorum's OnlineFeatureReader against plain `get_online_features(...).to_df()` on the same
store, same keys, same run. The 500-symbol universe is the real latest rows of the shipped
20 stocks copied under 25 names each (RESAMPLED: values are real, names are synthetic).

    python -m benchmarks.online_features [--reads N]
Needs Redis at QUORUM_REDIS_URL (default redis://127.0.0.1:6379) for the Redis rows.
"""

import argparse
import json
import os
import shutil
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from features.names import ANALYST_SERVICE
from features.parquet_store import ParquetStore
from features.settings import load_settings

SERVICE = ANALYST_SERVICE


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(samples_ms, 50)), 3),
        "p99_ms": round(float(np.percentile(samples_ms, 99)), 3),
    }


def _timed(fn, reads: int) -> list[float]:
    fn()  # warm caches (registry, keys, connections)
    out = []
    for _ in range(reads):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def _plain_read(store, service, entity_rows) -> pd.DataFrame:
    return store.get_online_features(features=service, entity_rows=entity_rows).to_df()


def _universe(exports: Path, size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    daily = pd.read_parquet(exports / "fct_daily_features.parquet")
    latest = daily[daily["event_timestamp"] == daily["event_timestamp"].max()]
    copies = -(-size // len(latest))
    rows = pd.concat([latest.assign(symbol=latest["symbol"] + f"_{i:02d}") for i in range(copies)])
    market = pd.read_parquet(exports / "fct_market_features.parquet")
    return rows.head(size), market[market["event_timestamp"] == market["event_timestamp"].max()]


def run(profile: str, exports: Path, reads: int) -> dict:
    from features.names import ANALYST_VECTOR_VIEW
    from features.store import OnlineFeatureReader, apply_definitions, open_store
    from features.vectors import pack_analyst_vectors

    store = open_store(profile)
    apply_definitions(store, ParquetStore(str(exports)))
    results = {}
    for size in (20, 500):
        rows, market = _universe(exports, size)
        for view in ("technical_indicators", "volatility_risk"):
            store.write_to_online_store(view, rows)
        store.write_to_online_store("market_context", market)
        store.write_to_online_store(ANALYST_VECTOR_VIEW, pack_analyst_vectors(rows, market))
        symbols = rows["symbol"].tolist()
        reader = OnlineFeatureReader(store, SERVICE)
        as_of = rows["event_timestamp"].max().to_pydatetime().replace(tzinfo=None)
        service = store.get_feature_service(SERVICE)
        entity_rows = [{"symbol": s, "market_id": "market"} for s in symbols]
        ours = _timed(partial(reader.read, symbols, as_of=as_of), reads)
        baseline = _timed(partial(_plain_read, store, service, entity_rows), reads)
        results[f"{size}_symbols"] = {
            "features": len(reader.features),
            "online_feature_reader": _percentiles(ours),
            "get_online_features_to_df": _percentiles(baseline),
            "speedup_p50": round(float(np.median(baseline) / np.median(ours)), 1),
        }
    store.teardown()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    report = {
        "what": "one online read of every market_analyst_v2 feature (ms)",
        "reads": args.reads,
    }
    source = load_settings().exports_dir  # the real exports of the last `make run`
    if not (source / "fct_daily_features.parquet").exists():
        raise SystemExit(f"no feature exports under {source}: run `make run` first")
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as home:
        # A throwaway home and Feast project: the user's own stores are never written.
        exports = Path(home) / "exports"
        shutil.copytree(source, exports)
        os.environ["QUORUM_HOME"] = home
        os.environ["QUORUM_FEAST_PROJECT"] = f"bench_{uuid.uuid4().hex[:8]}"
        report["sqlite"] = run("embedded", exports, args.reads)
        try:
            report["redis"] = run("production", exports, args.reads)
        except Exception as error:  # Redis or PostgreSQL down: say so, keep the SQLite figures
            report["redis"] = {"error": f"{type(error).__name__}: {error}"}
    report["target_p99_ms_500_symbols"] = 10
    report["meets_target"] = any(
        isinstance(store, dict)
        and store.get("500_symbols", {}).get("online_feature_reader", {}).get("p99_ms", 1e9) < 10
        for store in (report["sqlite"], report["redis"])
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
