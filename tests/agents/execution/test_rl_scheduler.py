"""The RL scheduler's environment scores an order exactly as the fill model does, and its
gate promotes only a policy better on the mean without a worse tail."""

import numpy as np

from agents.desk.feed import BAR_DAYS
from agents.execution.agent import ExecutionAgent, RLScheduler
from agents.execution.fills import ExecutionReport, simulate_fills
from agents.execution.rl_env import OrderSchedulingEnv
from agents.execution.rl_policy import trade_with_policy
from agents.execution.rl_scheduler import gate, rl_shortfall_bp
from agents.execution.schedules import twap
from agents.messages import Order
from tests.agents.execution.conftest import episode

BUCKET_DAYS = 1 / 78


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


def test_training_leaves_no_sb3_log_folder_in_the_temporary_directory(tmp_path, monkeypatch):
    import tempfile

    from agents.execution.rl_scheduler import train

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    train([episode(1)], ExecutionAgent(), timesteps=600)
    assert list(tmp_path.glob("SB3-*")) == []


def test_a_policy_trading_live_fills_as_its_environment_scores_it(trained_policy):
    agent = ExecutionAgent()
    for side in (1, -1):
        e = episode(side)
        (in_env,) = rl_shortfall_bp(trained_policy, [e], agent)
        fills = trade_with_policy(trained_policy, e, BAR_DAYS / 6, agent.policy.half_spread, 0.1)
        report = ExecutionReport(side, e.quantity, fills, 100.0, float(e.bucket_prices[-1]))
        np.testing.assert_allclose(report.implementation_shortfall * 1e4, in_env, rtol=1e-9)


def test_the_rl_champion_trades_patient_orders_and_urgent_ones_keep_their_schedule(
    trained_policy,
):
    agent = ExecutionAgent(rl=RLScheduler(trained_policy, "3"))
    e = episode()
    for urgency, algorithm in (("MEDIUM", "rl"), ("HIGH", None)):
        order = Order(symbol="X", action="BUY", quantity=e.quantity, urgency=urgency)
        report = agent.execute(order, 100.0, e.bucket_prices, e.bucket_volumes, e.impact,
                               BAR_DAYS)  # fmt: skip
        payload = report.schedule.payload()
        if algorithm == "rl":
            assert payload["algorithm"] == "rl" and "quorum-execution_rl v3" in payload["why"]
            expected = trade_with_policy(trained_policy, e, BAR_DAYS / 6, 0.0002, 0.1)
            assert report.fills == expected
        else:
            assert payload["algorithm"] in ("vwap", "twap", "almgren_chriss", "pov")


def counted(monkeypatch, name: str) -> list:
    """Records each call of agents.execution.agent's ``name`` and passes it on."""
    import agents.execution.agent as agent_module

    calls, original = [], getattr(agent_module, name)

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(agent_module, name, counting)
    return calls


def test_counterfactuals_score_the_schedule_that_traded_by_its_own_fills(
    trained_policy, monkeypatch
):
    e = episode()
    order = Order(symbol="X", action="BUY", quantity=e.quantity, urgency="MEDIUM")
    simulated = counted(monkeypatch, "simulate_fills")
    compared = ExecutionAgent(counterfactuals=True, rl_to_compare=RLScheduler(trained_policy, "3"))
    report = compared.execute(order, 100.0, e.bucket_prices, e.bucket_volumes, e.impact, BAR_DAYS)
    chosen = report.schedule.chosen.algorithm
    classical = [name for name in report.counterfactual_bp if name != "rl"]
    assert chosen in classical and "rl" in report.counterfactual_bp
    assert len(simulated) == len(classical)  # each once: the chosen one is not traded again
    assert report.counterfactual_bp[chosen] == round(report.implementation_shortfall * 1e4, 4)
    # The same figures as an agent that reports no counterfactual trading each one alone.
    rl_alone = ExecutionAgent(rl=RLScheduler(trained_policy, "3"))
    rl_report = rl_alone.execute(order, 100.0, e.bucket_prices, e.bucket_volumes, e.impact,
                                 BAR_DAYS)  # fmt: skip
    assert report.counterfactual_bp["rl"] == round(rl_report.implementation_shortfall * 1e4, 4)

    rolled_out = counted(monkeypatch, "trade_with_policy")
    rl_compared = ExecutionAgent(rl=RLScheduler(trained_policy, "3"), counterfactuals=True)
    by_rl = rl_compared.execute(order, 100.0, e.bucket_prices, e.bucket_volumes, e.impact,
                                BAR_DAYS)  # fmt: skip
    assert len(rolled_out) == 1  # the champion traded; its counterfactual is those fills
    assert by_rl.fills == rl_report.fills
    assert by_rl.counterfactual_bp["rl"] == report.counterfactual_bp["rl"]
    assert {k: v for k, v in by_rl.counterfactual_bp.items() if k != "rl"} == {
        k: v for k, v in report.counterfactual_bp.items() if k != "rl"
    }
