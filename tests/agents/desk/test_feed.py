"""The replay feed: NYSE sessions, Brownian-bridge bars through the real OHLC, no future."""

from datetime import date

import numpy as np
import pytest

from agents.desk.feed import BAR_MINUTES, SUB_BUCKETS, ReplayFeed, brownian_bridge
from features.ingestion.market_data import load_market_data


@pytest.fixture(scope="module")
def feed() -> ReplayFeed:
    return ReplayFeed(load_market_data("arch").prices, start="2018-11-20", end="2018-11-30")


def test_sessions_follow_the_nyse_calendar_with_its_holiday_and_half_day(feed):
    assert date(2018, 11, 22) not in feed.sessions  # Thanksgiving
    assert len(feed.cycle_times(date(2018, 11, 23))) == 7  # closes 13:00 ET
    full = feed.cycle_times(date(2018, 11, 26))
    assert len(full) == 13
    assert full[0].isoformat() == "2018-11-26T14:30:00+00:00"  # 09:30 ET
    assert feed.next_cycle_time(full[-1]) == feed.cycle_times(date(2018, 11, 27))[0]


def test_the_bridge_runs_through_the_days_real_open_high_low_close(feed):
    day = date(2018, 11, 26)
    paths, _, _ = feed._day_paths(day)
    bars = [feed.bar(t) for t in feed.cycle_times(day)]
    daily = {c: feed._daily[c].loc[str(day)].to_numpy() for c in ("open", "high", "low", "close")}
    np.testing.assert_allclose(bars[0].open, daily["open"])
    np.testing.assert_allclose(bars[-1].close, daily["close"])
    np.testing.assert_allclose(paths.max(axis=1), daily["high"])
    np.testing.assert_allclose(paths.min(axis=1), daily["low"])
    assert all(b.synthesized for b in bars)
    assert bars[0].bucket_prices.shape == (len(feed.symbols), SUB_BUCKETS)
    # Consecutive bars join, and the same bar is generated the same way every time.
    np.testing.assert_allclose(bars[0].close, bars[1].open)
    np.testing.assert_array_equal(feed.bar(bars[3].start).bucket_prices, bars[3].bucket_prices)


def test_history_stops_before_the_session(feed):
    day = date(2018, 11, 26)
    history = feed.history(day)
    assert history.index.max().date() == date(2018, 11, 23)


def test_without_high_and_low_the_bridge_still_joins_open_and_close():
    rng = np.random.default_rng(0)
    path = brownian_bridge(100.0, 103.0, None, None, 13 * BAR_MINUTES, 0.02, rng)
    assert path[0] == pytest.approx(100.0) and path[-1] == pytest.approx(103.0)
    assert np.all(path > 0) and path.std() > 0


def test_without_an_open_the_day_starts_at_the_last_close_before_it_and_ready_changes_no_bar():
    prices = load_market_data("arch").prices
    day = date(2018, 11, 26)
    # One name has no opens at all (a closes-only source), another no history before the day.
    symbols = sorted(prices["symbol"].unique())[:3]
    prices = prices[prices["symbol"].isin(symbols)].copy()
    prices.loc[prices["symbol"] == symbols[0], ["open", "high", "low"]] = np.nan
    young = (prices["symbol"] == symbols[1]) & (prices["date"] < str(day))
    prices.loc[young, ["open", "high", "low", "close"]] = np.nan
    prices.loc[prices["symbol"] == symbols[1], ["open", "high", "low"]] = np.nan
    readied, fresh = (ReplayFeed(prices, start="2018-11-20", end="2018-11-30") for _ in "ab")
    readied.ready(day)
    first = fresh.bar(fresh.cycle_times(day)[0])
    last_close = fresh.history(day)[symbols[0]].dropna().iloc[-1]
    close = fresh._daily["close"].loc[str(day), symbols[1]]
    assert first.open[0] == pytest.approx(last_close) and first.open[1] == pytest.approx(close)
    for at in fresh.cycle_times(day):
        np.testing.assert_array_equal(readied.bar(at).bucket_prices, fresh.bar(at).bucket_prices)
