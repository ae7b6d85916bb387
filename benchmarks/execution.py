"""Implementation shortfall of each classical schedule and of the execution agent's choice on
the same orders, and the choice's time per order, printed as JSON.

Orders are drawn at random (seeded) on real sessions of the embedded data in 2015-2018, inside
the research window; nothing here chooses a parameter, it reports. Each order trades over one
half-hour bar, SYNTHESIZED by the replay feed's Brownian bridge through the day's real OHLC,
in its six five-minute buckets, against an impact model calibrated on the 63 sessions before.
Every schedule trades the same order on the same bar: the differences are the schedules'.
Where the data have no volume, the ADV is assumed (``DEFAULT_ADV_USD`` at the price) and the
report says so. The Thompson-sampling router routes ``--children`` child orders over the
SIMULATED venues of ``--venues`` (the shipped file by default) and reports its regret. The RL
scheduler is not built yet: it is not reported.

    python -m benchmarks.execution [--orders 2000] [--urgency MEDIUM] [--venues PATH]
"""

import argparse
import json
import time

import numpy as np

from agents.desk.feed import BAR_DAYS, ReplayFeed
from agents.execution.agent import ExecutionAgent
from agents.execution.fills import ExecutionReport, simulate_fills
from agents.execution.impact import ImpactModel
from agents.execution.routing import ThompsonRouter, simulate_routing
from agents.execution.venues import DEFAULT_VENUES, load_venues
from agents.messages import Order
from features.ingestion.market_data import load_market_data
from features.settings import load_settings

LOOKBACK = 63


def shortfall_bp(order, side, slices, bar_prices, bar_volumes, impact, agent, price) -> float:
    fills = simulate_fills(
        side, slices, bar_prices, bar_volumes, impact, half_spread=agent.policy.half_spread,
        max_participation=order.max_participation, bucket_days=BAR_DAYS / len(slices),
    )  # fmt: skip
    report = ExecutionReport(side, order.quantity, fills, price, float(bar_prices[-1]))
    return report.implementation_shortfall * 1e4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--urgency", default="MEDIUM", choices=["LOW", "MEDIUM", "HIGH"])
    parser.add_argument("--venues", default=str(DEFAULT_VENUES), help="YAML or CSV venue file")
    parser.add_argument("--children", type=int, default=5000, help="child orders to route")
    args = parser.parse_args()
    data = load_market_data(load_settings().market_data)
    feed = ReplayFeed(data.prices, start="2015-01-01", end="2018-12-31")
    symbols = [s for s in feed.symbols if s != data.benchmark_symbol]
    agent, rng = ExecutionAgent(), np.random.default_rng(20151231)
    results: dict[str, list[float]] = {n: [] for n in ("twap", "vwap", "pov", "almgren_chriss")}
    chosen, chosen_names, choice_ms, volume_assumed = [], [], [], False
    days = feed.sessions
    for _ in range(args.orders):
        day = days[rng.integers(len(days))]
        at = feed.cycle_times(day)[rng.integers(len(feed.cycle_times(day)))]
        symbol = symbols[rng.integers(len(symbols))]
        closes = feed.history(day)[symbol].tail(LOOKBACK + 1)
        volumes = feed.history(day, "volume")[symbol].tail(LOOKBACK)
        impact = ImpactModel.calibrate(
            closes.pct_change().dropna(), volumes, price=float(closes.iloc[-1])
        )
        volume_assumed |= not impact.calibrated_from_volume
        bar = feed.bar(at)
        i = feed.symbols.index(symbol)
        prices, bar_volumes, price = bar.bucket_prices[i], bar.bucket_volumes[i], float(bar.open[i])
        # From 0.01% to 5% of the ADV, log-uniform: the desk's orders and larger ones.
        quantity = max(1, int(impact.adv_shares * 10 ** rng.uniform(-4, np.log10(0.05))))
        side = 1 if rng.random() < 0.5 else -1
        order = Order(symbol=symbol, action="BUY" if side > 0 else "SELL", quantity=quantity,
                      urgency=args.urgency)  # fmt: skip
        started = time.perf_counter()
        choice = agent.choose(order, price, impact, len(prices), BAR_DAYS)
        choice_ms.append((time.perf_counter() - started) * 1e3)
        for candidate in choice.scores:  # every candidate's slices, on the same bar
            results[candidate.algorithm].append(shortfall_bp(
                order, side, candidate.slices, prices, bar_volumes, impact, agent, price
            ))  # fmt: skip
        chosen.append(results[choice.chosen.algorithm][-1])
        chosen_names.append(choice.chosen.algorithm)

    def stats(values: list[float]) -> dict[str, float]:
        return {"mean_bp": round(float(np.mean(values)), 3),
                "p95_bp": round(float(np.percentile(values, 95)), 3)}  # fmt: skip

    report = {
        "what": "implementation shortfall against the decision price, same orders and bars",
        "orders": args.orders,
        "urgency": args.urgency,
        "sessions": f"{days[0]} to {days[-1]}",
        "data": load_settings().market_data,
        "bars": "synthesized: Brownian bridge through each day's real OHLC",
        "volume_assumed": volume_assumed,
        "schedules": {name: stats(values) for name, values in results.items()},
        "agent_choice": {
            **stats(chosen),
            "chosen": {n: chosen_names.count(n) for n in sorted(set(chosen_names))},
        },
        "choice_ms_per_order": {
            "p50": round(float(np.median(choice_ms)), 3),
            "p99": round(float(np.percentile(choice_ms, 99)), 3),
        },
        "rl_scheduler": "not built yet (issue #17 item 2)",
        "router": simulate_routing(ThompsonRouter(load_venues(args.venues)), args.children),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
