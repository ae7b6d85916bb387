"""`make run`: the daily pipeline end to end on the embedded default, then a summary.

Runs through the Dagster instance under QUORUM_HOME, so the run, its materializations and
checks are there to inspect with `make ui` afterwards.
"""

from __future__ import annotations

import sys

import dagster as dg
import pyarrow.parquet as pq
from mlflow import MlflowClient

from assets.ingestion import price_store
from orchestration.definitions import defs, settings


def _summary() -> list[str]:
    with price_store.connect(str(settings.warehouse_path)) as con:

        def count(table: str) -> int:
            return con.execute(f"select count(*) from {table}").fetchall()[0][0]

        first, last, symbols = con.execute(
            "select min(date), max(date), count(distinct symbol) from raw.prices"
        ).fetchall()[0]
        return [
            f"market data        {settings.market_data}: {symbols} symbols, {first} to {last}",
            f"raw_prices         {count('raw.prices'):>10,} rows",
            f"rejected prices    {count('raw.rejected_prices'):>10,} rows (quarantined batches)",
            f"fct_daily_features {count('marts.fct_daily_features'):>10,} rows",
            f"fct_forward_returns{count('marts.fct_forward_returns'):>10,} rows",
            f"fct_market_features{count('marts.fct_market_features'):>10,} rows",
            f"training set       {_training_rows():>10,} rows (market_analyst_v1, point in time)",
        ]


def _models() -> list[str]:
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    out = []
    for model in client.search_registered_models():
        aliases = {a: v for a, v in model.aliases.items()} if model.aliases else {}
        out.append(f"{model.name} " + " ".join(f"@{a}=v{v}" for a, v in sorted(aliases.items())))
    return out or ["none"]


def _training_rows() -> int:
    path = settings.training_dir / "market_analyst_v1.parquet"
    return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0


def main() -> int:
    instance = dg.DagsterInstance.get()
    result = defs.get_job_def("daily_pipeline").execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    print(
        f"\nQuorum daily pipeline: {'SUCCESS' if result.success else 'FAILED'}"
        f" (run {result.run_id})"
    )
    if not result.success:
        for event in result.all_events:
            if event.is_failure:
                print(f"  {event.step_key}: {event.message}")
        return 1
    print("\n".join(_summary()))
    print(f"\nresults under {settings.home}:")
    print(f"  warehouse          {settings.warehouse_path}")
    print(f"  feature exports    {settings.exports_dir}")
    print(f"  feast registry     {settings.feast_dir}  (`make feast ARGS='feature-views list'`)")
    print(f"  training set       {settings.training_dir / 'market_analyst_v1.parquet'}")
    print(f"  dagster instance   {settings.dagster_home}  (browse with `make ui`)")
    print(f"  mlflow             {settings.mlflow_tracking_uri}")
    print(f"                     (browse with `make mlflow`: models {', '.join(_models())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
