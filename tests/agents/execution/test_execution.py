"""The Execution Agent: schedules, impact, fills and shortfall, on real index OHLCV (arch)."""

import numpy as np
import pytest

from agents.execution.agent import ExecutionAgent, ExecutionPolicy
from agents.execution.fills import ExecutionReport, Fill, simulate_fills
from agents.execution.impact import DEFAULT_ADV_USD, ImpactModel
from agents.execution.schedules import NYSE_HALF_HOUR_VOLUME_PROFILE, pov, twap, vwap
from agents.messages import Order
from features.ingestion.market_data import load_market_data


@pytest.fixture(scope="module")
def spx():
    prices = load_market_data("arch").prices
    return prices[prices["symbol"] == "SP500"].set_index("date").loc["2017"]


def test_twap_splits_the_order_into_equal_whole_slices_that_sum_to_it():
    schedule = twap(1003, 13)
    assert schedule.sum() == 1003 and schedule.max() - schedule.min() <= 1


def test_vwap_follows_the_volume_profile_and_sums_to_the_order():
    schedule = vwap(10_000)
    assert schedule.sum() == 10_000
    np.testing.assert_allclose(schedule / 10_000, NYSE_HALF_HOUR_VOLUME_PROFILE, atol=1e-4)
    assert schedule[0] > schedule[6] < schedule[-1]  # U-shaped: open and close heavier


def test_pov_never_exceeds_its_participation_and_stops_when_done():
    volumes = np.array([1000, 2000, 500, 4000, 4000])
    schedule = pov(900, 0.2, volumes)
    assert (schedule <= 0.2 * volumes).all() and schedule.sum() == 900
    assert schedule.tolist() == [200, 400, 100, 200, 0]
    short = pov(5000, 0.1, volumes)  # the market cannot absorb it at 10%
    assert short.sum() == int(0.1 * volumes.sum())


def test_impact_is_calibrated_from_real_volume_and_grows_concavely_with_size(spx):
    returns = spx["close"].pct_change().dropna()
    model = ImpactModel.calibrate(returns, spx["volume"])
    assert model.calibrated_from_volume
    assert model.adv_shares == pytest.approx(spx["volume"].mean())
    assert model.daily_volatility == pytest.approx(returns.std())
    small, large = (
        model.temporary(0.01 * model.adv_shares, 1),
        model.temporary(0.04 * model.adv_shares, 1),
    )
    assert large == pytest.approx(small * 4**0.6)  # beta = 0.6: 4x the size, 2.3x the impact
    fallback = ImpactModel.calibrate(returns, None, price=250.0)
    assert not fallback.calibrated_from_volume
    assert fallback.adv_shares == pytest.approx(DEFAULT_ADV_USD / 250.0)


def test_buys_fill_above_mid_sells_below_and_a_capped_slice_fills_partly(spx):
    model = ImpactModel.calibrate(spx["close"].pct_change().dropna(), spx["volume"])
    mids = np.full(4, 100.0)
    volumes = np.array([10_000, 10_000, 10_000, 10_000])
    buys = simulate_fills(
        1,
        np.array([500, 500, 3000, 0]),
        mids,
        volumes,
        model,
        half_spread=0.0002,
        max_participation=0.1,
    )
    assert all(f.price > 100.0 for f in buys)
    # Bucket 2 wants 3000 but may take 1000 (10% of 10k); 1000 carries, 1000 is left over.
    assert [f.quantity for f in buys] == [500, 500, 1000, 1000]
    sells = simulate_fills(
        -1,
        np.array([500, 0, 0, 0]),
        mids,
        volumes,
        model,
        half_spread=0.0002,
        max_participation=0.1,
    )
    assert sells[0].price < 100.0


def test_implementation_shortfall_counts_fills_and_the_unfilled_move():
    report = ExecutionReport(
        side=1,
        ordered=1000,
        decision_price=100.0,
        end_price=104.0,
        fills=[Fill(0, 400, 101.0), Fill(1, 400, 102.0)],
    )
    # fills: 400*1 + 400*2 = 1200; unfilled 200 * (104 - 100) = 800; over 1000 * 100.
    assert report.implementation_shortfall == pytest.approx(0.02)
    perfect = ExecutionReport(1, 100, [Fill(0, 100, 100.0)], 100.0, 90.0)
    assert perfect.implementation_shortfall == 0.0


def test_the_agent_executes_a_real_day_and_reports_its_cost(spx):
    day = spx.iloc[-1]
    model = ImpactModel.calibrate(
        spx["close"].pct_change().dropna().iloc[:-1], spx["volume"].iloc[:-1]
    )
    mids = np.linspace(day["open"], day["close"], 13)  # a straight path through the day
    volumes = day["volume"] * NYSE_HALF_HOUR_VOLUME_PROFILE
    agent = ExecutionAgent(ExecutionPolicy(half_spread=0.0001))
    order = Order(symbol="SP500", action="BUY", quantity=50_000, urgency="MEDIUM")
    report = agent.execute(order, float(day["open"]), mids, volumes, model)
    assert report.filled == 50_000
    # All filled: the shortfall is the average price paid against the decision price...
    assert report.implementation_shortfall == pytest.approx(report.average_price / day["open"] - 1)
    # ...which is the volume-weighted mid plus a small positive cost (a tiny share of ADV).
    weights = np.array([f.quantity for f in report.fills]) / report.filled
    vwap_mid = float(weights @ mids[[f.bucket for f in report.fills]])
    cost = report.average_price / vwap_mid - 1
    assert 0.0001 <= cost < 0.0005
