"""The walk-forward's retraining, in a worker process beside the trading desk.

Each block's model depends only on the data, never on the desk's decisions, so the next
blocks train in another process while this one trades. The worker imports only the Market
Analyst's training (no desk, no Feast): a spawned process pays its imports before it reads
its first task, and the desk waits for the first year's model.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from agents.market_analyst.training import AnalystTraining, train_market_analyst

if TYPE_CHECKING:
    from threadpoolctl import threadpool_limits

# Threads of each process the backtest runs side by side on the two cores (a training worker
# beside the trading desk, the ablation's variant workers): limit_threads.
THREADS_SIDE_BY_SIDE = 1

# The training data of a run, set once per process (the run's own, or a training worker's).
_SHARED: dict = {}


def share(
    rows: pd.DataFrame,
    row_days: pd.Series,
    market_returns: pd.Series,
    threads: int | None = None,
) -> None:
    """``threads``: the BLAS, OpenMP and LightGBM threads of this process, when it shares
    the cores with other processes of the run (None: the libraries' own choice)."""
    _SHARED.update(rows=rows, row_days=row_days, market_returns=market_returns, threads=threads)
    if threads:
        limit_threads(threads)


def forget() -> None:
    _SHARED.clear()


def limit_threads(threads: int | None) -> threadpool_limits:
    """Caps this process's BLAS and OpenMP pools (threadpoolctl) until the returned
    limiter's ``restore_original_limits`` (a worker never calls it: for the rest of its
    life); None changes nothing. Processes that run side by side on the two cores (the desk
    trading while workers train, the ablation's variants) each spin a pool as wide as the
    machine otherwise; with one thread each the regime fit ran 1.5x and LightGBM 2x faster
    under that load, with the same parameters and trees (docs/speed.md;
    ``tests/agents/backtest/test_desk_run.py``)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads)


def train_through(
    through: date, horizon_days: int, n_splits: int, min_train_days: int, model_params: dict
) -> AnalystTraining:
    """The Market Analyst trained on every row labelled by ``through`` and nothing later."""
    rows, days, market = _SHARED["rows"], _SHARED["row_days"], _SHARED["market_returns"]
    threads = _SHARED.get("threads")
    params = {**model_params, "n_jobs": threads} if threads else model_params
    return train_market_analyst(
        rows[days <= through],
        market[market.index.date <= through],
        horizon_days=horizon_days,
        n_splits=n_splits,
        min_train_days=min_train_days,
        model_params=params,
    )
