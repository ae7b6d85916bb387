"""The desk's own settings (``DeskConfig``): its capital, costs, breakers, consensus and what
its cycles read; the agents' models and limits come with ``agents.desk.models``. No Dagster
import."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.consensus.engine import ConsensusConfig
from agents.desk.breakers import BreakerThresholds
from agents.desk.broker import Commission

BARS_PER_DAY = 13  # an order's schedule spans one half-hour bar
REBALANCE_ANCHORS = ("close", "open")


@dataclass(frozen=True)
class DeskConfig:
    initial_cash: float = 1_000_000.0
    commission: Commission = field(default_factory=Commission)
    breakers: BreakerThresholds = field(default_factory=BreakerThresholds)
    consensus: ConsensusConfig = field(default_factory=ConsensusConfig)
    cost_budget: float = 0.005  # the execution agent votes against trades costing more
    min_feature_coverage: float = 0.5  # below this share of symbols with fresh features: refuse
    optimizer_lookback_days: int = 504
    feed_name: str = "replay"
    max_message_age_seconds: float = 1800.0  # one bar: an older message is stale
    # The SIMULATED venues child orders are routed to (YAML or CSV,
    # ``agents.execution.venues``); None routes nothing (no venue cost, no hidden liquidity).
    venues_file: str | None = "simulated"
    # Post-trade analysis (the backtest's): each fill also records what every classical
    # schedule, and an RL scheduler, would have cost on the same bar and venues.
    execution_counterfactuals: bool = False
    # The canary split (``agents.desk.canary``): this share of the book's capital is traded
    # by a sub-book the Market Analyst's challenger drives, while one is registered; 0: none.
    canary_share: float = 0.0
    # What a session's rebalance starts from: "close", the book at the previous close (known
    # before the open, so the open's solve is done before it; docs/speed.md), or "open", the
    # book at the cycle's prices. Its turnover limit and costs are measured from this book.
    rebalance_anchor: str = "close"
