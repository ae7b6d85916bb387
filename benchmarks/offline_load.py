"""Seconds to load the dbt exports into PostgreSQL for Feast's offline store (what the
distributed profile's ``feast_registry`` step does after each dbt build), printed as JSON.

It reads the exports of the last ``make run`` (the embedded profile's folder) and loads the
feature views' tables (``SOURCE_TABLES``) into a private PostgreSQL this starts itself
(loopback, fsync off; stopped and deleted after), ``--repeats`` times, each load replacing
the tables as the step does.

    python -m benchmarks.offline_load [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from features.definitions import SOURCE_TABLES
from features.offline_postgres import load_exports
from features.parquet_store import ParquetStore
from features.settings import load_settings
from tests.support.services import PrivatePostgres


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = load_settings().exports_dir
    if not (folder / "analyst_vectors.parquet").exists():
        raise SystemExit(f"no feature exports under {folder}: run `make run` first")
    server = PrivatePostgres.start_new()
    try:
        seconds, rows = [], {}
        for _ in range(args.repeats):
            started = time.perf_counter()
            rows = load_exports(
                ParquetStore(str(folder)), SOURCE_TABLES, f"{server.url}/postgres", "offline"
            )
            seconds.append(time.perf_counter() - started)
    finally:
        server.stop()
    report = {
        "exports": str(folder),
        "rows": rows,
        "load_seconds": [round(s, 2) for s in seconds],
        "load_seconds_median": round(statistics.median(seconds), 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
