"""The whole desk walked forward over history, with the code that trades live.

Every decision goes through ``Desk.run_cycle``: the same Market Analyst, Portfolio Optimizer,
Risk Manager (limits, veto), execution plan, consensus, circuit breakers and paper broker
(commission, spread, market impact) as the intraday schedule, on the replay feed. What a
backtest adds is only the clock and the retraining:

- the Market Analyst retrains every ``retrain_months`` on an expanding window, using only
  rows whose label had matured by the previous close (``horizon_days`` sessions after the
  row's day), so no decision sees a return after its own moment;
- a cycle runs at the opening bar of every ``decision_every``-th session, reading the
  features of the previous close as the live desk would (``HistoricalFeatureReader``);
- nobody clears a halt in a backtest, so a halt is cleared at the next decision session,
  recorded in the ledger as a backtest's act.

The book's daily value is a projection of the ledger's fills on the closes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from agents.backtest.training_worker import (
    THREADS_SIDE_BY_SIDE,
    forget,
    limit_threads,
    share,
    train_through,
)
from agents.desk.controls import clear_halt
from agents.desk.cycle import Desk, DeskConfig
from agents.desk.feed import ReplayFeed
from agents.desk.ledger import EventLog
from agents.desk.models import DeskModels
from agents.desk.state import current
from agents.desk.steps import CycleResult
from agents.execution.agent import RLScheduler
from agents.market_analyst.training import AnalystTraining
from agents.portfolio_optimizer.optimizer import OptimizerConfig
from agents.risk_manager.agent import RiskLimits
from features.history import HistoricalFeatureReader

MIN_TEST_BLOCK_DAYS = 63  # a quarter: the shortest walk-forward test block worth scoring


@dataclass(frozen=True)
class WalkForward:
    first_day: str  # the first decision session (on or after), if the data allow it
    last_day: str | None = None
    retrain_months: int = 12  # yearly, on an expanding window
    decision_every: int = 5  # sessions between decision cycles (weekly)
    horizon_days: int = 5  # the signal model's label horizon
    n_splits: int = 3
    min_train_days: int = 1260
    model_params: dict = field(default_factory=lambda: {"n_estimators": 100})
    # Processes training the next blocks while the desk trades; 0: in turn. Two, on two
    # cores: the desk's cycles use a core a third of the time, and one worker left the
    # other idle while the desk waited for it (docs/speed.md, the walk-forward backtest).
    training_workers: int = 2


@dataclass(frozen=True)
class DeskPolicies:
    risk_limits: RiskLimits = field(default_factory=RiskLimits)
    optimizer_config: OptimizerConfig = field(default_factory=OptimizerConfig)
    rl_to_compare: RLScheduler | None = None  # compared post-trade, never trades


@dataclass(frozen=True)
class DeskRun:
    cycles: list[CycleResult]
    nav: pd.Series  # daily, closes x positions + cash, from the ledger's fills and financing
    fills: pd.DataFrame  # the ledger's fills, one row each (``ledger_fills``)
    retrained: list[dict]  # when each model took over, and what it was trained on
    models: list[AnalystTraining] = field(default_factory=list)  # one per retraining block
    values: pd.DataFrame | None = None  # each position's signed value at each close
    financing: pd.DataFrame | None = None  # the shorts' financing (``ledger_financing``)
    hedge_instrument: str | None = None  # the symbol the hedge trades (None: no hedge)


def first_decision_day(sessions: list[date], walk: WalkForward) -> date:
    """The first decision session: ``walk.first_day``, or later when the data start too late
    for it. The signal model needs, counted from the data's first session, its first training
    window, ``n_splits`` test blocks of a quarter, and the label horizon twice (the purge
    before each test block, and the maturity of the last label before the decision)."""
    warmup = walk.min_train_days + walk.n_splits * MIN_TEST_BLOCK_DAYS + 2 * walk.horizon_days
    if len(sessions) <= warmup:
        raise ValueError(
            f"the data hold {len(sessions)} sessions ({sessions[0]}..{sessions[-1]}); the "
            f"signal model needs {warmup} before its first decision (a {walk.min_train_days}-"
            f"session first training window, {walk.n_splits} test blocks of "
            f"{MIN_TEST_BLOCK_DAYS}, the {walk.horizon_days}-session label twice): bring a "
            "longer history or lower min_train_days"
        )
    return max(pd.Timestamp(walk.first_day).date(), sessions[warmup])


def decision_sessions(feed: ReplayFeed, every: int) -> list[date]:
    return feed.sessions[::every]


def trained_through(sessions: list[date], day: date, horizon_days: int) -> date | None:
    """The last row day whose ``horizon_days`` label is known at ``day``'s open: its label
    closes on the previous session at the latest."""
    earlier = [s for s in sessions if s < day]
    if len(earlier) <= horizon_days:
        return None
    return earlier[-1 - horizon_days]


def retrain_days(sessions: list[date], months: int) -> list[date]:
    """The first decision session of each ``months``-month block."""
    out, next_start = [], None
    for day in sessions:
        if next_start is None or day >= next_start:
            out.append(day)
            next_start = (pd.Timestamp(day) + pd.DateOffset(months=months)).date()
    return out


def _training_options(walk: WalkForward) -> dict:
    """What ``train_through`` needs of the walk, as plain values: a worker unpickles them
    without importing this module (and with it the desk)."""
    return {
        "horizon_days": walk.horizon_days,
        "n_splits": walk.n_splits,
        "min_train_days": walk.min_train_days,
        "model_params": walk.model_params,
    }


def run_desk_backtest(
    prices: pd.DataFrame,
    feature_rows: pd.DataFrame,
    training_rows: pd.DataFrame,
    market_returns: pd.Series,
    sectors: dict[str, str],
    log: EventLog,
    walk: WalkForward,
    *,
    index_symbol: str | None = None,
    config: DeskConfig | None = None,
    policies: DeskPolicies | None = None,
    trained: list[AnalystTraining] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DeskRun:
    """``prices``: long daily OHLCV; ``feature_rows``: the analyst's features per close;
    ``training_rows``: Feast's training set (features and labels per symbol and day);
    ``policies``: the risk manager's limits and budget and the optimizer's settings (the
    defaults when None; the ablation switches pieces off through them); ``trained``: the
    models of an earlier run on the same data and walk (``DeskRun.models``), reused instead
    of retraining: they depend only on the data, never on the desk's decisions."""
    policies = policies or DeskPolicies()
    config = config or DeskConfig(feed_name="backtest")
    all_sessions = sorted(pd.to_datetime(prices["date"]).dt.date.unique())
    first = first_decision_day(all_sessions, walk)
    feed = ReplayFeed(prices, start=str(first), end=walk.last_day)
    decisions = decision_sessions(feed, walk.decision_every)
    reader = HistoricalFeatureReader(feature_rows)
    starts = retrain_days(decisions, walk.retrain_months)
    throughs = [trained_through(all_sessions, start, walk.horizon_days) for start in starts]
    if throughs[0] is None:
        raise ValueError(f"no labelled history before the first decision session {starts[0]}")
    row_days = pd.to_datetime(training_rows["event_timestamp"]).dt.tz_localize(None).dt.date
    shared = (training_rows, row_days, market_returns)
    options = _training_options(walk)
    pool = None
    if trained is not None:
        if len(trained) != len(starts):
            raise ValueError(f"{len(trained)} trained models for {len(starts)} retrainings")
        models = iter(trained)
    elif walk.training_workers:
        # Each block's model depends only on the data, not on the desk: the next ones train
        # in other processes while this one trades. Spawned, not forked: LightGBM's OpenMP
        # runtime does not survive a fork of a process that has used it.
        pool = ProcessPoolExecutor(
            max_workers=walk.training_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=share,
            initargs=(*shared, THREADS_SIDE_BY_SIDE),
        )
        futures = [pool.submit(train_through, t, **options) for t in throughs]
        models = (f.result() for f in futures)
    else:
        share(*shared)
        models = (train_through(t, **options) for t in throughs)
    cycles, retrained, used, hedge_instrument = [], [], [], None
    # The desk on one thread too while workers train beside it; its limits come back after.
    threads = limit_threads(THREADS_SIDE_BY_SIDE if pool is not None else None)
    try:
        for block, (start, result) in enumerate(zip(starts, models, strict=False)):
            used.append(result)
            end = starts[block + 1] if block + 1 < len(starts) else None
            retrained.append(
                {"from": str(start), "trained_through": str(result.last_date.date()),
                 "rows": int((row_days <= throughs[block]).sum())}
            )  # fmt: skip
            desk = Desk(
                DeskModels(
                    result.model,
                    result.regime,
                    sectors,
                    risk_limits=policies.risk_limits,
                    optimizer_config=policies.optimizer_config,
                    execution_rl_to_compare=policies.rl_to_compare,
                ),
                feed,
                reader,
                log,
                config,
                index_symbol=index_symbol,
            )
            hedge_instrument = desk.hedge_instrument
            for day in (d for d in decisions if d >= start and (end is None or d < end)):
                if current(log).halted:
                    clear_halt(
                        log,
                        requested_by="backtest",
                        reason="no person in a backtest: cleared at the next decision session",
                        reference=f"backtest-{day}",
                    )
                cycles.append(desk.run_cycle(feed.cycle_times(day)[0]))
            if progress:
                progress(f"{start}: {len(cycles)} cycles")
    finally:
        threads.restore_original_limits()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        forget()
    fills, financing = ledger_fills(log), ledger_financing(log)
    opening_cash = sum(e.payload["cash_cents"] for e in log.read(event_types=["account_opened"]))
    values, cash = daily_values(fills, prices, feed.sessions, financing)
    nav = (values.sum(axis=1) + cash + opening_cash / 100).astype(float).rename("nav")
    return DeskRun(cycles, nav, fills, retrained, used, values, financing, hedge_instrument)


def ledger_fills(log: EventLog) -> pd.DataFrame:
    """Every fill in the ledger: its session, symbol, signed shares, cash moved, notional,
    commission and implementation shortfall (dollars against the decision price)."""
    rows = [
        {
            "day": pd.Timestamp(e.market_time.date()),
            "symbol": p["symbol"],
            "shares": p["signed_quantity"],
            "cash": p["cash_delta_cents"] / 100,
            "notional": p["quantity"] * (p["average_price"] or 0.0),
            "commission": p["commission_cents"] / 100,
            "shortfall": p["implementation_shortfall"] * p["ordered"] * (p["average_price"] or 0.0),
        }
        for e in log.read(event_types=["fill"])
        if (p := e.payload)["quantity"]
    ]
    columns = ["day", "symbol", "shares", "cash", "notional", "commission", "shortfall"]
    return pd.DataFrame(rows, columns=columns)


def ledger_financing(log: EventLog) -> pd.DataFrame:
    """Every financing charge in the ledger: the session it was booked and the cash paid."""
    rows = [
        {"day": pd.Timestamp(e.market_time.date()), "cash": e.payload["cash_delta_cents"] / 100}
        for e in log.read(event_types=["financing"])
    ]
    return pd.DataFrame(rows, columns=["day", "cash"])


def daily_values(
    fills: pd.DataFrame,
    prices: pd.DataFrame,
    sessions: list[date],
    financing: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Per session's close: each position's value (signed), and the cash moved by fills and
    financing since the account opened."""
    closes = prices.pivot(index="date", columns="symbol", values="close")
    closes.index = pd.to_datetime(closes.index)
    days = pd.to_datetime(sessions)
    closes = closes.ffill().reindex(days).fillna(0.0)
    flows = fills[["day", "cash"]]
    if financing is not None and len(financing):
        flows = pd.concat([flows, financing[["day", "cash"]]])
    cash = flows.groupby("day")["cash"].sum().reindex(days, fill_value=0.0).cumsum()
    held = (
        fills.pivot_table(index="day", columns="symbol", values="shares", aggfunc="sum")
        .reindex(index=days, columns=closes.columns, fill_value=0.0)
        .fillna(0.0)
        .cumsum()
    )
    return held * closes, cash


def daily_exposure(run: DeskRun) -> pd.DataFrame:
    """At each close, as fractions of NAV: the names' gross (sum of |values|) and net (sum
    of values) exposure, the hedge's (signed: negative when short), and the whole book's
    net exposure with the hedge."""
    values = run.values
    hedge = (
        values[run.hedge_instrument]
        if run.hedge_instrument in values.columns
        else pd.Series(0.0, index=values.index)
    )
    names = values.drop(columns=[run.hedge_instrument], errors="ignore")
    return pd.DataFrame({
        "gross": names.abs().sum(axis=1) / run.nav,
        "net": names.sum(axis=1) / run.nav,
        "hedge": hedge / run.nav,
        "net_with_hedge": (names.sum(axis=1) + hedge) / run.nav,
    })  # fmt: skip
