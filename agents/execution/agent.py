"""The Execution Agent: chooses each order's schedule and executes it (on paper)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from agents.execution.choice import ScheduleChoice, choose_schedule
from agents.execution.fills import ExecutionReport, Fill, simulate_fills
from agents.execution.impact import ImpactModel
from agents.execution.rl_policy import Episode, trade_with_policy
from agents.execution.routing import VenueOutcomes
from agents.execution.schedules import NYSE_HALF_HOUR_VOLUME_PROFILE
from agents.messages import Order

AGENT_ID = "execution_agent_001"


@dataclass(frozen=True)
class ExecutionPolicy:
    half_spread: float = 0.0002  # 2 bp: a liquid large cap
    high_urgency_participation: float = 0.2  # POV's rate
    # Risk aversion per dollar of the order, by urgency (``agents.execution.choice``): a
    # patient order minimises expected cost; MEDIUM is Almgren and Chriss's own example;
    # an urgent one (the breakers' flatten and reduce) is a hundred times as averse.
    risk_aversion_per_usd: dict[str, float] = field(
        default_factory=lambda: {"LOW": 0.0, "MEDIUM": 1e-6, "HIGH": 1e-4}
    )
    # A non-VWAP schedule is chosen only when it is better by more than this: below it,
    # the difference is inside the cost model's own precision.
    min_improvement: float = 0.1e-4


def expected_volumes(impact: ImpactModel, buckets: int, duration_days: float) -> np.ndarray:
    """Each bucket's expected volume from the ADV: along the NYSE's U-shaped half-hour
    profile when the order spans the session in its 13 half hours, else evenly (within one
    bar the profile is flat enough)."""
    if buckets == len(NYSE_HALF_HOUR_VOLUME_PROFILE) and duration_days == 1.0:
        return impact.adv_shares * NYSE_HALF_HOUR_VOLUME_PROFILE
    return np.full(buckets, impact.adv_shares * duration_days / buckets)


class RLScheduler:
    """A promoted RL scheduling policy (``agents.execution.rl_scheduler``) and its registry
    version. It trades the orders it was trained on (LOW and MEDIUM urgency); an urgent
    order (a breaker's flatten or reduce) keeps its classical schedule.

    ``policy``: anything with ``predict(observation, deterministic=True)``, as
    Stable-Baselines3's; or ``load``, which returns it when an order first needs it, so a
    decision step that fills nothing never loads PyTorch. ``trained_through``: its last
    training session (later ones are unseen)."""

    def __init__(
        self,
        policy: object | None = None,
        version: str = "",
        trained_through: str | None = None,
        *,
        load: Callable[[], object] | None = None,
        urgencies: tuple[str, ...] = ("LOW", "MEDIUM"),
    ) -> None:
        if policy is None and load is None:
            raise ValueError("an RL scheduler needs its policy or a way to load it")
        self._policy, self._load = policy, load
        self.version, self.trained_through, self.urgencies = version, trained_through, urgencies

    @property
    def policy(self) -> object:
        if self._policy is None:
            self._policy = self._load()
        return self._policy


class ExecutionAgent:
    """``rl``: the promoted RL scheduler, which then trades the orders of its urgencies.
    ``counterfactuals``: also fill each order with every classical candidate and with
    ``rl_to_compare`` (or ``rl``) on the same bar and venues, for post-trade analysis (the
    backtest's; a live cycle does not pay for it)."""

    def __init__(
        self,
        policy: ExecutionPolicy | None = None,
        rl: RLScheduler | None = None,
        *,
        counterfactuals: bool = False,
        rl_to_compare: RLScheduler | None = None,
    ) -> None:
        self.policy = policy or ExecutionPolicy()
        self.rl = rl
        self.counterfactuals = counterfactuals
        self.rl_to_compare = rl_to_compare or rl

    def choose(
        self, order: Order, price: float, impact: ImpactModel, buckets: int, duration_days: float
    ) -> ScheduleChoice:
        """The order's schedule: the candidate with the lowest expected cost plus risk
        aversion x variance, from what is known when it is sent."""
        return choose_schedule(
            order.quantity, price, order.urgency, order.max_participation, impact,
            expected_volumes(impact, buckets, duration_days), bucket_days=duration_days / buckets,
            half_spread=self.policy.half_spread, min_improvement=self.policy.min_improvement,
            risk_aversion_per_usd=self.policy.risk_aversion_per_usd,
            pov_participation=self.policy.high_urgency_participation,
        )  # fmt: skip

    def execute(
        self,
        order: Order,
        decision_price: float,
        mid_prices: np.ndarray,
        bucket_volumes: np.ndarray,
        impact: ImpactModel,
        duration_days: float = 1.0,
        venues: VenueOutcomes | None = None,
    ) -> ExecutionReport:
        """Trade ``order`` over the buckets of ``duration_days`` (a whole session by
        default; the desk's orders trade over one bar); ``venues``: where each bucket's
        child order was routed (``ThompsonRouter.route_children``), None for no venue."""
        side = 1 if order.action == "BUY" else -1
        buckets = len(bucket_volumes)
        choice = self.choose(order, decision_price, impact, buckets, duration_days)
        episode = Episode(side, order.quantity, decision_price, np.asarray(mid_prices, float),
                          np.asarray(bucket_volumes, float), impact)  # fmt: skip
        slices = {s.algorithm: s.slices for s in choice.scores}

        def traded_by(schedule: str | RLScheduler) -> list[Fill]:
            if isinstance(schedule, RLScheduler):
                return trade_with_policy(
                    schedule.policy, episode, duration_days / buckets, self.policy.half_spread,
                    order.max_participation, venues,
                )  # fmt: skip
            return simulate_fills(
                side, slices[schedule], episode.bucket_prices, episode.bucket_volumes, impact,
                half_spread=self.policy.half_spread, max_participation=order.max_participation,
                bucket_days=duration_days / buckets, venues=venues,
            )  # fmt: skip

        def report(fills: list[Fill], schedule: ScheduleChoice | None = None) -> ExecutionReport:
            return ExecutionReport(side, order.quantity, fills, decision_price,
                                   float(episode.bucket_prices[-1]), schedule, venues)  # fmt: skip

        schedule: str | RLScheduler
        if self.rl is not None and order.urgency in self.rl.urgencies:
            why = f"the RL scheduler, quorum-execution_rl v{self.rl.version} (champion)"
            schedule = self.rl
            traded = report(traded_by(schedule), replace(choice, adaptive=why))
        else:
            schedule = choice.chosen.algorithm
            traded = report(traded_by(schedule), choice)
        if not self.counterfactuals:
            return traded
        candidates: dict[str, str | RLScheduler] = {a: a for a in slices}
        if self.rl_to_compare is not None:
            candidates["rl"] = self.rl_to_compare

        def shortfall_bp(candidate: str | RLScheduler) -> float:
            # The schedule that traded keeps its own fills: simulating it again gave the
            # same fills (the same deterministic arithmetic on the same bar and venues).
            same = candidate is schedule or (isinstance(candidate, str) and candidate == schedule)
            fills = traded.fills if same else traded_by(candidate)
            return round(report(fills).implementation_shortfall * 1e4, 4)

        counterfactual = {name: shortfall_bp(c) for name, c in candidates.items()}
        return replace(traded, counterfactual_bp=counterfactual)
