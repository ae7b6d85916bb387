"""The RL scheduler's environment scores an order exactly as the fill model does, and its
gate promotes only a policy better on the mean without a worse tail."""

import numpy as np

from agents.execution.fills import ExecutionReport, simulate_fills
from agents.execution.impact import ImpactModel
from agents.execution.rl_env import Episode, OrderSchedulingEnv
from agents.execution.rl_scheduler import gate
from agents.execution.schedules import twap

BUCKET_DAYS = 1 / 78


def episode(side: int = 1, quantity: int = 40_000) -> Episode:
    prices = np.array([100.0, 100.2, 99.9, 100.4, 100.6, 100.3])
    return Episode(side, quantity, 100.0, prices, np.full(6, 60_000.0),
                   ImpactModel(daily_volatility=0.02, adv_shares=5e6))  # fmt: skip


def test_an_episode_rewards_sum_to_minus_the_fill_models_implementation_shortfall():
    for side in (1, -1):
        e = episode(side)
        env = OrderSchedulingEnv([e], BUCKET_DAYS, half_spread=0.0002)
        env.play(e)
        total, done, slices = 0.0, False, twap(e.quantity, 6)
        for k in range(6):  # TWAP as actions, with what the cap held back carried on
            carried = slices[:k].sum() - (e.quantity - env._remaining)
            _, reward, done, _, _ = env.step([(slices[k] + carried) / env._remaining])
            total += reward
        assert done
        fills = simulate_fills(side, slices, e.bucket_prices, e.bucket_volumes, e.impact,
                               half_spread=0.0002, max_participation=0.1,
                               bucket_days=BUCKET_DAYS)  # fmt: skip
        report = ExecutionReport(side, e.quantity, fills, 100.0, float(e.bucket_prices[-1]))
        assert report.filled < e.quantity  # the cap bites: the unfilled move counts too
        np.testing.assert_allclose(-total, report.implementation_shortfall * 1e4, rtol=1e-9)


def test_the_gate_wants_a_better_mean_without_a_worse_tail():
    rng = np.random.default_rng(0)
    classical = {"vwap": rng.normal(3.0, 10.0, 500), "twap": rng.normal(3.5, 10.0, 500)}
    better = classical["vwap"] - 1.0
    assert gate(better, classical).promote
    fat_tail = np.where(better > np.percentile(better, 90), better * 3, better)
    verdict = gate(fat_tail, classical)
    assert not verdict.promote and "vwap" in verdict.reason
    assert not gate(classical["vwap"] + 0.5, classical).promote
