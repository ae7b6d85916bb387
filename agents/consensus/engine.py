"""The consensus engine: four agents vote on each proposed trade; the risk manager can veto.

Votes. For every trade the optimizer proposes (a symbol and a direction, buy or sell), each
agent casts a support s in [-1, 1]: the sign says for or against, the magnitude is the
agent's confidence. The agents' vote rules are in ``agents.consensus.votes``.

Decision. A trade passes when the weighted support sum_a w_a * s_a is above the approval
threshold (0 by default). Conflicts resolve in this order:
1. Risk veto first. When the risk manager vetoes the proposed book, no trade that adds risk
   passes, whatever the votes; a trade that only shrinks an existing position (toward zero)
   may still pass on its votes, because blocking it would keep the risk the veto is about.
2. Weighted vote. Otherwise, support above the threshold passes. An abstaining agent (s = 0,
   e.g. the analyst's HOLD) neither helps nor blocks, and the weights are not renormalised
   over the agents who voted, so abstentions make a trade harder to pass.
3. Ties fail. Support exactly at the threshold is no trade: doing nothing is the default.

Sizes. A trade that passes is not all or nothing: it trades ``size`` of its planned quantity,
its net support over ``full_size_support`` (clipped to [0, 1]). A trade the whole desk backs
with at least that support trades in full; one the analyst opposes but the others carry
trades a fraction; so every agent's vote moves the book's size, not only its yes or no.
``full_size_support=0`` restores all-or-nothing.

Adaptive weights. After a cycle, each agent's votes are scored against what the prices did
next: accuracy = sum_i s_i * sign(d_i * r_i) / sum_i |s_i|, in [-1, 1], where d_i is the
trade's direction and r_i the symbol's return until the next cycle. Its score is an
exponentially weighted average of accuracies (an agent that abstained keeps its score), and
its weight is min_weight plus its share of the rest in proportion to
base_weight * exp(learning_rate * score) (the Hedge rule): no agent is ever silenced, and the
weights sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

AGENTS = ("market_analyst", "risk_manager", "portfolio_optimizer", "execution_agent")
DESIGN_WEIGHTS = {
    "market_analyst": 0.4,
    "risk_manager": 0.3,
    "portfolio_optimizer": 0.2,
    "execution_agent": 0.1,
}


@dataclass(frozen=True)
class ConsensusConfig:
    base_weights: dict[str, float] = field(default_factory=lambda: dict(DESIGN_WEIGHTS))
    approval_threshold: float = 0.0
    learning_rate: float = 2.0
    score_decay: float = 0.9  # weight of the old score: a memory of about ten cycles
    min_weight: float = 0.05
    full_size_support: float = 0.5  # net support at which a trade goes through in full


@dataclass(frozen=True)
class Ballot:
    """The proposed trades and every agent's support for each (arrays in symbol order)."""

    symbols: list[str]
    direction: np.ndarray  # +1 buy, -1 sell
    reduces_position: np.ndarray  # bool: the trade shrinks an existing position
    support: dict[str, np.ndarray]


@dataclass(frozen=True)
class Decision:
    approved: np.ndarray  # bool per trade
    net_support: np.ndarray
    weights: dict[str, float]
    veto: bool
    veto_reasons: list[str]
    blocked_by_veto: np.ndarray  # bool per trade
    size: np.ndarray | None = None  # fraction of each trade's quantity (0 where refused)


class ConsensusEngine:
    def __init__(self, config: ConsensusConfig | None = None) -> None:
        self.config = config or ConsensusConfig()

    def weights(self, learned: dict[str, float] | None) -> dict[str, float]:
        """The weights in force: the learned ones once there are any, else the design's."""
        return dict(learned) if learned else dict(self.config.base_weights)

    def decide(
        self, ballot: Ballot, weights: dict[str, float], veto_reasons: list[str]
    ) -> Decision:
        net = np.zeros(len(ballot.symbols))
        for agent in AGENTS:
            net += weights[agent] * np.clip(ballot.support[agent], -1.0, 1.0)
        passes = net > self.config.approval_threshold
        veto = bool(veto_reasons)
        blocked = passes & ~ballot.reduces_position if veto else np.zeros_like(passes)
        approved = passes & ~blocked
        full = self.config.full_size_support
        size = np.clip(net / full, 0.0, 1.0) if full > 0 else np.ones(len(net))
        return Decision(
            approved=approved,
            size=np.where(approved, size, 0.0),
            net_support=net,
            weights=weights,
            veto=veto,
            veto_reasons=list(veto_reasons),
            blocked_by_veto=blocked,
        )

    def rescore(
        self,
        scores: dict[str, float],
        votes: dict[str, dict[str, float]],
        directions: dict[str, int],
        realised: dict[str, float],
    ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        """New (scores, weights, accuracies) from the last cycle's ``votes`` (agent -> symbol
        -> support), the trades' ``directions`` and each symbol's ``realised`` return since."""
        cfg = self.config
        new_scores, accuracies = {}, {}
        for agent in AGENTS:
            old = scores.get(agent, 0.0)
            cast = votes.get(agent, {})
            symbols = [s for s in cast if s in realised and cast[s] != 0]
            weight = sum(abs(cast[s]) for s in symbols)
            if not weight:
                new_scores[agent] = old
                continue
            right = sum(cast[s] * np.sign(directions[s] * realised[s]) for s in symbols)
            accuracies[agent] = float(right / weight)
            new_scores[agent] = cfg.score_decay * old + (1 - cfg.score_decay) * accuracies[agent]
        raw = {
            a: cfg.base_weights[a] * float(np.exp(cfg.learning_rate * new_scores[a]))
            for a in AGENTS
        }
        total = sum(raw.values())
        free = 1.0 - cfg.min_weight * len(AGENTS)
        weights = {a: cfg.min_weight + free * v / total for a, v in raw.items()}
        return new_scores, weights, accuracies
