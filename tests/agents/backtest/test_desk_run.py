"""The desk walked forward over real history: no decision sees the future, and the book's
value is the ledger's projection."""

from dataclasses import replace
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from agents.backtest.desk_run import (
    WalkForward,
    first_decision_day,
    run_desk_backtest,
    trained_through,
)
from agents.desk.config import DeskConfig
from agents.desk.ledger import DuckDBEventLog
from agents.desk.state import current
from features.names import ANALYST_FEATURES, ANALYST_INPUTS
from features.training import LABEL_COLUMNS
from features.vectors import analyst_feature_rows

WALK = WalkForward(
    first_day="2013-06-03",
    last_day="2013-09-30",
    retrain_months=2,
    decision_every=5,
    n_splits=3,
    min_train_days=500,
    model_params={"n_estimators": 30},
)
CUT = pd.Timestamp("2013-08-20")  # after the second retraining (early August)
COMPARED = ("order", "fill", "decision", "target_set", "risk_assessment")


@pytest.fixture(scope="module")
def inputs(real_universe) -> dict:
    space = real_universe
    with duckdb.connect(str(space.warehouse), read_only=True) as con:
        prices = con.execute("select * from staging.stg_prices order by date, symbol").df()
        symbols = con.execute("select symbol, sector, role from staging.stg_symbols").df()
    market = pd.read_parquet(space.exports / "fct_market_features.parquet")
    return {
        "prices": prices,
        "feature_rows": analyst_feature_rows(space.export_store),
        "training_rows": pd.read_parquet(space.root / "training" / "market_analyst_v2.parquet"),
        "market_returns": market.set_index(pd.to_datetime(market["date"]))["market_return_1d"],
        "sectors": dict(zip(symbols["symbol"], symbols["sector"], strict=True)),
        "index_symbol": symbols.loc[symbols["role"] == "benchmark", "symbol"].iloc[0],
    }


def altered_after(inputs: dict, cut: pd.Timestamp) -> dict:
    """Every price after ``cut`` scaled at random (one factor per bar, so OHLC stay
    consistent), and everything computed from those prices with it: the features of later
    closes, the labels whose window ends after ``cut``, the market's later returns."""
    rng = np.random.default_rng(7)
    prices = inputs["prices"].copy()
    later = pd.to_datetime(prices["date"]) > cut
    factor = rng.uniform(0.7, 1.3, later.sum())
    for column in ("open", "high", "low", "close"):
        prices.loc[later, column] = prices.loc[later, column] * factor
    features = inputs["feature_rows"].copy()
    stamps = features["event_timestamp"].dt.tz_localize(None).dt.normalize()
    noise = rng.normal(1.0, 0.5, (int((stamps > cut).sum()), len(ANALYST_INPUTS)))
    features.loc[stamps > cut, ANALYST_INPUTS] *= noise  # the served windows too
    training = inputs["training_rows"].copy()
    days = pd.to_datetime(training["event_timestamp"]).dt.tz_localize(None).dt.normalize()
    sessions = sorted(pd.to_datetime(inputs["prices"]["date"]).unique())
    label_known = sessions[sessions.index(cut) - WALK.horizon_days]  # its label ends at cut
    unknown = days > label_known
    training.loc[unknown, LABEL_COLUMNS] *= rng.normal(1.0, 0.5, (unknown.sum(), 6))
    later_rows = days > cut
    training.loc[later_rows, ANALYST_FEATURES] *= rng.normal(
        1.0, 0.5, (int(later_rows.sum()), len(ANALYST_FEATURES))
    )
    market = inputs["market_returns"].copy()
    market[market.index > cut] = rng.normal(0.0, 0.02, int((market.index > cut).sum()))
    return {**inputs, "prices": prices, "feature_rows": features, "training_rows": training,
            "market_returns": market}  # fmt: skip


def decisions(log: DuckDBEventLog, until=None) -> list[tuple]:
    return [
        (e.event_type, e.market_time.isoformat(), sorted(e.payload.items()))
        for e in log.read(event_types=list(COMPARED))
        if until is None or pd.Timestamp(e.market_time).tz_localize(None) <= until
    ]


def run(inputs: dict, path) -> tuple:
    log = DuckDBEventLog(path)
    result = run_desk_backtest(log=log, walk=WALK, **inputs)
    return result, log


def pool_sizes() -> set[int]:
    """The threads of every BLAS and OpenMP pool loaded in this process."""
    return {pool["num_threads"] for pool in threadpool_info()}


@pytest.fixture(scope="module")
def desk_threads() -> dict[str, list[set[int]]]:
    """``pool_sizes`` in the desk's process during ``walked`` (at each block's end) and after."""
    return {"during": [], "after": []}


@pytest.fixture(scope="module")
def walked(inputs, tmp_path_factory, desk_threads):
    """The walk on the real data, once for the module: its result and its ledger. It runs
    under a two-thread limit (the tests' workers default to one), so ``desk_threads`` can
    tell the desk's own limit beside its training workers from the one it was given."""
    log = DuckDBEventLog(tmp_path_factory.mktemp("walked") / "ledger.duckdb")
    with threadpool_limits(limits=2):
        result = run_desk_backtest(
            log=log, walk=WALK, progress=lambda _: desk_threads["during"].append(pool_sizes()),
            **inputs,
        )  # fmt: skip
        desk_threads["after"].append(pool_sizes())
    yield result, log
    log.close()


def test_the_desk_trades_on_one_thread_beside_its_training_workers(walked, desk_threads):
    """Two workers train on one thread each beside the desk: a desk with pools as wide as the
    machine would be a third and fourth thread on two cores. Its limits come back after."""
    assert len(desk_threads["during"]) == len(walked[0].retrained) > 1
    assert all(sizes == {1} for sizes in desk_threads["during"]), desk_threads
    assert desk_threads["after"] == [{2}]


def test_reused_models_give_the_same_decisions_as_training_them(inputs, walked, tmp_path):
    trained, trained_log = walked
    reused_log = DuckDBEventLog(tmp_path / "reused.duckdb")
    run_desk_backtest(log=reused_log, walk=WALK, trained=trained.models, **inputs)
    assert decisions(reused_log) == decisions(trained_log) and decisions(trained_log)
    with pytest.raises(ValueError, match="trained models for"):
        run_desk_backtest(log=reused_log, walk=WALK, trained=trained.models[:1], **inputs)


def test_training_beside_the_desk_on_one_thread_decides_as_training_in_turn(
    inputs, walked, tmp_path
):
    """The walk's workers (two by default, training blocks side by side) each train with one
    BLAS, OpenMP and LightGBM thread (they share the cores with the desk); the same walk
    trained in turn in the desk's own process on two threads of each (named here: the tests'
    workers default to one) trades the same book."""
    assert WALK.training_workers == 2  # the default: each block's model from either worker
    beside, beside_log = walked
    log = DuckDBEventLog(tmp_path / "in-turn.duckdb")
    two = replace(WALK, training_workers=0, model_params={**WALK.model_params, "n_jobs": 2})
    try:
        with threadpool_limits(limits=2):
            in_turn = run_desk_backtest(log=log, walk=two, **inputs)
        assert decisions(log) == decisions(beside_log)
    finally:
        log.close()
    assert [m.model.members["lightgbm"].n_jobs for m in beside.models] == [1] * len(beside.models)
    assert [m.model.members["lightgbm"].n_jobs for m in in_turn.models] == [2] * len(in_turn.models)
    pd.testing.assert_series_equal(in_turn.nav, beside.nav)


def test_post_trade_counterfactuals_are_recorded_beside_fills_and_change_none(
    inputs, walked, tmp_path
):
    """Why the ablation's variants may skip them: with every fill re-priced by each schedule,
    the book trades the same shares at the same prices."""
    plain, _ = walked
    log = DuckDBEventLog(tmp_path / "counterfactuals.duckdb")
    try:
        config = DeskConfig(feed_name="backtest", execution_counterfactuals=True)
        priced = run_desk_backtest(
            log=log, walk=WALK, config=config, trained=plain.models, **inputs
        )
        recorded = [e.payload.get("counterfactual_bp") for e in log.read(event_types=["fill"])]
    finally:
        log.close()
    assert any(recorded)  # the counterfactuals were priced...
    pd.testing.assert_frame_equal(priced.fills, plain.fills)  # ...and moved no fill
    pd.testing.assert_series_equal(priced.nav, plain.nav)


def test_altering_every_price_after_a_day_changes_no_decision_up_to_it(inputs, walked, tmp_path):
    real, real_log = walked
    other, other_log = run(altered_after(inputs, CUT), tmp_path / "altered.duckdb")
    try:
        before = decisions(real_log, CUT + pd.Timedelta(hours=23))
        assert before and any(kind == "fill" for kind, *_ in before)  # it did trade
        assert decisions(other_log, CUT + pd.Timedelta(hours=23)) == before
        # ...and the alteration did reach the decisions after it.
        assert decisions(other_log) != decisions(real_log)
        assert real.retrained == other.retrained
        pd.testing.assert_series_equal(real.nav.loc[:CUT], other.nav.loc[:CUT])
    finally:
        other_log.close()


def test_each_model_is_trained_only_on_labels_known_at_its_first_decision(inputs, walked):
    result, log = walked
    sessions = sorted(pd.to_datetime(inputs["prices"]["date"]).dt.date.unique())
    assert len(result.retrained) == 2
    for block in result.retrained:
        start = date.fromisoformat(block["from"])
        known = trained_through(sessions, start, WALK.horizon_days)
        assert date.fromisoformat(block["trained_through"]) <= known
        # the label of the newest row closes before the session it first trades
        assert sessions.index(known) + WALK.horizon_days < sessions.index(start)
    # The daily book is the ledger's projection: its last value is the desk's own state.
    state = current(log)
    closes = inputs["prices"].pivot(index="date", columns="symbol", values="close")
    closes.index = pd.to_datetime(closes.index)
    last = closes.ffill().loc[: result.nav.index[-1]].iloc[-1]
    assert state.positions, "the desk held nothing"
    # the ledger rounds each position's value to the cent: half a cent each, at most
    rounding = 0.005 * len(state.positions) + 1e-9
    assert result.nav.iloc[-1] == pytest.approx(state.nav_cents(last.to_dict()) / 100, abs=rounding)
    assert len(result.cycles) == len(range(0, len(result.nav), WALK.decision_every))


def test_the_first_decision_follows_the_data_for_a_universe_that_starts_late(inputs, tmp_path):
    """A user's file that starts after the configured first day (here 2006 against 1997):
    the desk decides first once the signal model's warm-up has passed, counted from the
    data's first session, instead of failing for want of labelled history."""
    sessions = sorted(pd.to_datetime(inputs["prices"]["date"]).dt.date.unique())
    walk = WalkForward(
        first_day="1997-01-02", min_train_days=500, n_splits=3, model_params={"n_estimators": 10}
    )
    first = first_decision_day(sessions, walk)
    warmup = 500 + 3 * 63 + 2 * walk.horizon_days
    assert first == sessions[warmup] and first > date(2008, 1, 1)
    short = WalkForward(
        first_day="1997-01-02",
        last_day=str(sessions[warmup + 25]),
        min_train_days=500,
        n_splits=3,
        model_params={"n_estimators": 10},
    )
    log = DuckDBEventLog(tmp_path / "late.duckdb")
    try:
        late = run_desk_backtest(log=log, walk=short, **inputs)
    finally:
        log.close()
    assert late.cycles and min(c.at.date() for c in late.cycles) == first
    assert late.retrained[0]["from"] == str(first)


def test_too_short_a_history_says_how_many_sessions_the_models_need():
    sessions = list(pd.bdate_range("2014-01-02", periods=300).date)
    with pytest.raises(ValueError, match=r"the data hold 300 sessions .* needs 1459"):
        first_decision_day(sessions, WalkForward(first_day="1997-01-02"))
