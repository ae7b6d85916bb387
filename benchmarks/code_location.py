"""Seconds and memory to import and to load Quorum's code location, printed as JSON.

What every Dagster process pays before it does any work: the webserver and daemon when they
load the location, each run at launch and, with the multiprocess executor, each step. Each
measurement is a fresh interpreter (the median of ``--repeats``):

- ``import_s``: ``import orchestration.definitions`` (what a step process imports);
- ``load_s``: that plus building the Definitions and every job (what a code server does);
  ``load_process_s`` adds the interpreter's own start and exit;
- ``heavy_modules_loaded``: which of the libraries steps load on demand were imported anyway;
- ``feast_import_s``: then ``import feast``, the first thing a step that reads features pays
  (with Feast's run-time type checks as the environment's settings leave them: off unless
  ``QUORUM_FEAST_TYPE_CHECKS=true``; features/feast_checks.py).

    python -m benchmarks.code_location [--repeats N]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

from features.settings import REPO_ROOT

# The libraries a step loads when it needs them; loading the location imports none of them.
HEAVY_MODULES = (
    "feast",
    "mlflow",
    "evidently",
    "great_expectations",
    "skfolio",
    "lightgbm",
    "statsmodels",
    "torch",
    "optuna",
    "ray",
    "sklearn",
    "scipy",
)

_PROBE = """
import json, resource, sys, time
start = time.perf_counter()
import orchestration.definitions as location
imported = time.perf_counter()
if {load}:
    location.defs().resolve_all_job_defs()
done = time.perf_counter()
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
import feast  # what a step that reads features pays first, after the location loaded
feast_done = time.perf_counter()
print(json.dumps({{"import_s": imported - start, "load_s": done - start,
                   "feast_import_s": feast_done - done,
                   "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "heavy_modules_loaded": heavy}}))
"""


def probe(load: bool) -> dict:
    """One fresh interpreter importing (and with ``load``, loading) the code location."""
    code = _PROBE.format(load=load, heavy=HEAVY_MODULES)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    wall_s = time.perf_counter() - start  # with the interpreter's start and exit
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    # The location's own process time: the Feast import after it is reported apart.
    return {**measured, "process_s": wall_s - measured["feast_import_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    imports = [probe(load=False) for _ in range(args.repeats)]
    loads = [probe(load=True) for _ in range(args.repeats)]
    print(
        json.dumps(
            {
                "repeats": args.repeats,
                "import_s_median": round(statistics.median(p["import_s"] for p in imports), 3),
                "load_s_median": round(statistics.median(p["load_s"] for p in loads), 3),
                "load_process_s_median": round(statistics.median(p["process_s"] for p in loads), 3),
                "feast_import_after_load_s_median": round(
                    statistics.median(p["feast_import_s"] for p in loads), 3
                ),
                "load_max_rss_mb_median": round(
                    statistics.median(p["max_rss_mb"] for p in loads), 1
                ),
                "target_s": 3.0,
                "heavy_modules_loaded": sorted(
                    {m for p in loads for m in p["heavy_modules_loaded"]}
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
