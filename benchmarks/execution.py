"""Implementation shortfall of each classical schedule, of the execution agent's choice and of
the registered RL scheduler on the same held-out orders; the venue router's regret; the
choice's and the RL policy's time per decision. Printed as JSON.

Orders (0.01% to 5% of the ADV, either side, MEDIUM urgency) are drawn, seeded, on sessions
of 2015-2018 of the configured data (``agents.execution.rl_scheduler.draw_episodes``): inside
the research window and inside the RL scheduler's held-out fifth of it. Nothing here chooses
a parameter. Each order trades over one half-hour bar, SYNTHESIZED by the replay feed's
Brownian bridge through the day's real OHLC, in its six five-minute buckets, against an
impact model calibrated on the 63 sessions before. Where the data have no volume, the ADV
is assumed (``DEFAULT_ADV_USD`` at the price) and the report says so. The router routes
``--children`` child orders over the SIMULATED venues of ``--venues``. The RL scheduler is
the registry's ``quorum-execution_rl@challenger`` (train it with ``make run``).

    python -m benchmarks.execution [--days 200] [--venues PATH]
"""

import argparse
import json
import time

import numpy as np

from agents.desk.feed import ReplayFeed
from agents.execution.agent import ExecutionAgent
from agents.execution.rl_policy import OBSERVATION
from agents.execution.rl_scheduler import (
    classical_shortfall_bp,
    draw_episodes,
    rl_shortfall_bp,
)
from agents.execution.routing import ThompsonRouter, simulate_routing
from agents.execution.venues import DEFAULT_VENUES, load_venues
from agents.messages import Order
from features.ingestion.market_data import load_market_data
from features.settings import load_settings


def stats(values: np.ndarray) -> dict[str, float]:
    return {"mean_bp": round(float(np.mean(values)), 3),
            "p95_bp": round(float(np.percentile(values, 95)), 3)}  # fmt: skip


def milliseconds(call, repeats: int = 300) -> dict[str, float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e3)
    return {"p50": round(float(np.median(samples)), 4),
            "p99": round(float(np.percentile(samples, 99)), 4)}  # fmt: skip


def registered_policy(settings):
    """The registry's RL challenger's PPO policy, or None when none is registered."""
    import mlflow

    from agents import model_registry

    model_registry.configure(settings.mlflow_tracking_uri, "quorum")
    try:
        model = mlflow.pyfunc.load_model("models:/quorum-execution_rl@challenger")
    except mlflow.exceptions.MlflowException:
        return None
    return model.unwrap_python_model().policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=200, help="sessions, ten orders each")
    parser.add_argument("--venues", default=str(DEFAULT_VENUES), help="YAML or CSV venue file")
    parser.add_argument("--children", type=int, default=5000, help="child orders to route")
    args = parser.parse_args()
    settings = load_settings()
    data = load_market_data(settings.market_data)
    feed = ReplayFeed(data.prices, start="2015-01-01", end="2018-12-31")
    symbols = [s for s in feed.symbols if s != data.benchmark_symbol]
    rng = np.random.default_rng(20151231)
    days = sorted(rng.choice(np.array(feed.sessions, dtype=object), args.days, replace=False))
    episodes = draw_episodes(feed, symbols, days, 10, rng)
    agent = ExecutionAgent()
    classical = classical_shortfall_bp(episodes, agent)
    e = episodes[0]
    order = Order(symbol="X", action="BUY", quantity=e.quantity)
    report = {
        "what": "implementation shortfall against the decision price, same orders and bars",
        "orders": len(episodes),
        "sessions": f"{days[0]} to {days[-1]}",
        "data": settings.market_data,
        "bars": "synthesized: Brownian bridge through each day's real OHLC",
        "volume_assumed": any(not x.impact.calibrated_from_volume for x in episodes),
        "schedules": {name: stats(values) for name, values in classical.items()},
        "choice_ms_per_order": milliseconds(
            lambda: agent.choose(order, e.decision_price, e.impact, 6, 1 / 13)
        ),
    }
    policy = registered_policy(settings)
    if policy is None:
        report["rl_scheduler"] = "none registered: run `make run` first"
    else:
        observation = np.zeros(len(OBSERVATION), dtype=np.float32)
        report["schedules"]["rl_scheduler"] = stats(rl_shortfall_bp(policy, episodes, agent))
        report["rl_ms_per_decision"] = milliseconds(
            lambda: policy.predict(observation, deterministic=True)
        )
    report["router"] = simulate_routing(ThompsonRouter(load_venues(args.venues)), args.children)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
