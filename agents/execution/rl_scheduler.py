"""The RL order scheduler: PPO (Stable-Baselines3) trained in ``OrderSchedulingEnv`` on orders
drawn from training sessions, scored on held-out sessions against the classical schedules on
the same orders and bars, and promoted only through its gate.

The gate: a lower mean implementation shortfall than the best classical schedule on the
held-out orders, without a worse tail (95th percentile). Sessions are split by date inside
the research window: the last fifth of the sessions up to 2018 (or the data's end, if
earlier) are held out, the rest train; the sessions after 2018 are never used here (data
that start after 2018 are split the same way over all their sessions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.desk.feed import BAR_DAYS, ReplayFeed
from agents.execution.agent import ExecutionAgent
from agents.execution.fills import ExecutionReport, simulate_fills
from agents.execution.impact import ImpactModel
from agents.execution.rl_env import OrderSchedulingEnv
from agents.execution.rl_policy import Episode

RESEARCH_END = "2018-12-31"
HELD_OUT_SHARE = 0.2
LOOKBACK = 63
CLASSICAL = ("vwap", "twap", "almgren_chriss", "pov")


def draw_episodes(feed: ReplayFeed, symbols: list[str], days: list, orders_per_day: int,
                  rng: np.random.Generator) -> list[Episode]:  # fmt: skip
    """Orders from 0.01% to 5% of the ADV (log-uniform), either side, on a random bar of
    each session, with an impact model calibrated on the sessions before it."""
    episodes = []
    for day in days:
        closes, volumes = feed.history(day), feed.history(day, "volume")
        times = feed.cycle_times(day)
        for _ in range(orders_per_day):
            symbol = symbols[int(rng.integers(len(symbols)))]
            recent = closes[symbol].tail(LOOKBACK + 1)
            impact = ImpactModel.calibrate(recent.pct_change().dropna(),
                                           volumes[symbol].tail(LOOKBACK),
                                           price=float(recent.iloc[-1]))  # fmt: skip
            bar = feed.bar(times[int(rng.integers(len(times)))])
            i = feed.symbols.index(symbol)
            quantity = max(1, int(impact.adv_shares * 10 ** rng.uniform(-4, np.log10(0.05))))
            episodes.append(Episode(1 if rng.random() < 0.5 else -1, quantity,
                                    float(bar.open[i]), bar.bucket_prices[i],
                                    bar.bucket_volumes[i], impact))  # fmt: skip
    return episodes


def make_env(episodes: list[Episode], agent: ExecutionAgent) -> OrderSchedulingEnv:
    buckets = len(episodes[0].bucket_prices)
    return OrderSchedulingEnv(episodes, BAR_DAYS / buckets, agent.policy.half_spread)


def train(episodes: list[Episode], agent: ExecutionAgent, timesteps: int, seed: int = 0):
    """A PPO policy (two hidden layers of 32); undiscounted, an episode is one order."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger

    model = PPO(
        "MlpPolicy", make_env(episodes, agent), n_steps=600, batch_size=100, gamma=1.0,
        learning_rate=3e-4, policy_kwargs={"net_arch": [32, 32]}, seed=seed, device="cpu",
        verbose=0,
    )  # fmt: skip
    # A logger with no output: SB3's default makes an empty SB3-<time> folder in the
    # system's temporary directory at every training, outside Quorum's home.
    model.set_logger(Logger(folder=None, output_formats=[]))
    return model.learn(total_timesteps=timesteps)


def rl_shortfall_bp(model, episodes: list[Episode], agent: ExecutionAgent) -> np.ndarray:
    env = make_env(episodes, agent)
    out = []
    for episode in episodes:
        observation, total, done = env.play(episode), 0.0, False
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, done, _, _ = env.step(action)
            total += reward
        out.append(-total)
    return np.array(out)


def classical_shortfall_bp(episodes: list[Episode], agent: ExecutionAgent) -> dict:
    """Each classical candidate's shortfall on each episode, as the agent would schedule it
    (MEDIUM urgency), filled by the same model on the same bar; and under ``agent_choice``
    the shortfall of the candidate the agent chose."""
    from agents.messages import Order

    out = {name: [] for name in (*CLASSICAL, "agent_choice")}
    for e in episodes:
        order = Order(symbol="X", action="BUY" if e.side > 0 else "SELL", quantity=e.quantity)
        buckets = len(e.bucket_prices)
        choice = agent.choose(order, e.decision_price, e.impact, buckets, BAR_DAYS)
        for candidate in choice.scores:
            fills = simulate_fills(
                e.side, candidate.slices, e.bucket_prices, e.bucket_volumes, e.impact,
                half_spread=agent.policy.half_spread,
                max_participation=order.max_participation, bucket_days=BAR_DAYS / buckets,
            )  # fmt: skip
            report = ExecutionReport(e.side, e.quantity, fills, e.decision_price,
                                     float(e.bucket_prices[-1]))  # fmt: skip
            out[candidate.algorithm].append(report.implementation_shortfall * 1e4)
        out["agent_choice"].append(out[choice.chosen.algorithm][-1])
    return {name: np.array(values) for name, values in out.items()}


@dataclass(frozen=True)
class GateVerdict:
    promote: bool
    reason: str
    metrics: dict[str, float]


def gate(rl: np.ndarray, classical: dict[str, np.ndarray]) -> GateVerdict:
    metrics = {"rl_mean_bp": float(rl.mean()), "rl_p95_bp": float(np.percentile(rl, 95))}
    for name, values in classical.items():
        metrics[f"{name}_mean_bp"] = float(values.mean())
        metrics[f"{name}_p95_bp"] = float(np.percentile(values, 95))
    best = min(classical, key=lambda n: classical[n].mean())
    mean_ok = metrics["rl_mean_bp"] < metrics[f"{best}_mean_bp"]
    tail_ok = metrics["rl_p95_bp"] <= metrics[f"{best}_p95_bp"]
    reason = (
        f"mean shortfall {metrics['rl_mean_bp']:.3f} bp against {best}'s "
        f"{metrics[f'{best}_mean_bp']:.3f} bp, 95th percentile {metrics['rl_p95_bp']:.3f} "
        f"against {metrics[f'{best}_p95_bp']:.3f} on held-out orders"
    )
    return GateVerdict(mean_ok and tail_ok, reason, metrics)


@dataclass(frozen=True)
class TrainedScheduler:
    model: object  # the PPO model
    verdict: GateVerdict
    training_orders: int
    held_out_orders: int
    held_out_sessions: str
    trained_through: str  # the last session any training order came from


def fit_and_judge(prices, exclude: set[str], timesteps: int, orders_per_day: int = 10,
                  seed: int = 0) -> TrainedScheduler:  # fmt: skip
    """Train on orders of the training sessions, judge on the held-out sessions' orders."""
    feed = ReplayFeed(prices)
    symbols = [s for s in feed.symbols if s not in exclude]
    sessions = feed.sessions[LOOKBACK + 1 :]
    inside = [d for d in sessions if str(d) <= RESEARCH_END] or sessions
    split = int(len(inside) * (1 - HELD_OUT_SHARE))
    rng = np.random.default_rng(seed)
    training_days = _sample(inside[:split], 300, rng)
    held_out_days = _sample(inside[split:], 100, rng)
    training = draw_episodes(feed, symbols, training_days, orders_per_day, rng)
    held_out = draw_episodes(feed, symbols, held_out_days, orders_per_day, rng)
    agent = ExecutionAgent()
    model = train(training, agent, timesteps, seed)
    classical = classical_shortfall_bp(held_out, agent)
    classical.pop("agent_choice")
    verdict = gate(rl_shortfall_bp(model, held_out, agent), classical)
    span = f"{inside[split]} to {inside[-1]}"
    return TrainedScheduler(
        model, verdict, len(training), len(held_out), span, str(inside[split - 1])
    )


def _sample(days: list, count: int, rng: np.random.Generator) -> list:
    return sorted(rng.choice(np.array(days, dtype=object), min(count, len(days)), replace=False))
