"""The consensus engine's rules, on hand-made ballots."""

import numpy as np
import pytest

from agents.consensus.engine import DESIGN_WEIGHTS, Ballot, ConsensusConfig, ConsensusEngine


def ballot(analyst, risk, optimizer, execution, reduces=(False,)) -> Ballot:
    n = len(analyst)
    return Ballot(
        symbols=[f"S{i}" for i in range(n)],
        direction=np.ones(n),
        reduces_position=np.array(reduces * n if len(reduces) == 1 else reduces),
        support={
            "market_analyst": np.array(analyst, dtype=float),
            "risk_manager": np.array(risk, dtype=float),
            "portfolio_optimizer": np.array(optimizer, dtype=float),
            "execution_agent": np.array(execution, dtype=float),
        },
    )


def test_starting_weights_are_the_designs():
    engine = ConsensusEngine()
    assert (
        engine.weights(None)
        == DESIGN_WEIGHTS
        == {
            "market_analyst": 0.4,
            "risk_manager": 0.3,
            "portfolio_optimizer": 0.2,
            "execution_agent": 0.1,
        }
    )


def test_a_confident_analyst_against_can_outvote_the_rest_and_ties_fail():
    engine = ConsensusEngine()
    # 0.4 * -0.9 + 0.3 * 0.5 + 0.2 * 0.5 + 0.1 * 0.5 = -0.06: refused.
    against = engine.decide(ballot([-0.9], [0.5], [0.5], [0.5]), DESIGN_WEIGHTS, [])
    assert not against.approved[0] and against.net_support[0] == pytest.approx(-0.06)
    # Abstaining analyst: 0.3 * 0.5 + 0.2 * 0.5 + 0.1 * 0.5 = 0.3 > 0: approved.
    assert engine.decide(ballot([0], [0.5], [0.5], [0.5]), DESIGN_WEIGHTS, []).approved[0]
    # Exactly zero support is no trade.
    tie = engine.decide(ballot([-0.5], [0.0], [1.0], [0.0]), DESIGN_WEIGHTS, [])
    assert tie.net_support[0] == pytest.approx(0.0) and not tie.approved[0]


def test_a_veto_blocks_trades_that_add_risk_but_not_those_that_shrink_a_position():
    engine = ConsensusEngine()
    votes = ballot([0.8, 0.8], [1, 1], [1, 1], [1, 1], reduces=(False, True))
    decision = engine.decide(votes, DESIGN_WEIGHTS, ["AAPL weight 0.07 > max 0.05"])
    assert decision.veto and decision.veto_reasons == ["AAPL weight 0.07 > max 0.05"]
    assert list(decision.approved) == [False, True]
    assert list(decision.blocked_by_veto) == [True, False]


def test_weights_move_toward_the_agent_whose_calls_came_true_and_stay_floored():
    engine = ConsensusEngine(ConsensusConfig(min_weight=0.05))
    scores: dict[str, float] = {}
    weights = DESIGN_WEIGHTS
    for _ in range(30):
        # Prices rose on every trade; the analyst backed them, the optimizer opposed them.
        votes = {
            "market_analyst": {"A": 0.8, "B": 0.6},
            "portfolio_optimizer": {"A": -1.0, "B": -1.0},
            "risk_manager": {},
            "execution_agent": {"A": 0.0},
        }
        scores, weights, accuracy = engine.rescore(
            scores, votes, {"A": 1, "B": 1}, {"A": 0.01, "B": 0.02}
        )
    assert accuracy == {"market_analyst": 1.0, "portfolio_optimizer": -1.0}
    assert weights["market_analyst"] > 0.4 and weights["portfolio_optimizer"] < 0.2
    assert weights["portfolio_optimizer"] >= 0.05 - 1e-12
    # Abstainers keep their score; their weight changes only through normalisation.
    assert scores["risk_manager"] == 0.0 and scores["execution_agent"] == 0.0
    assert sum(weights.values()) == pytest.approx(1.0)
    floor = 0.05
    assert (weights["risk_manager"] - floor) / (weights["execution_agent"] - floor) == (
        pytest.approx(3.0)
    )


def test_votes_size_a_passed_trade_and_only_full_support_trades_it_whole():
    engine = ConsensusEngine(ConsensusConfig(full_size_support=0.5))
    votes = ballot([0.9, -0.5, 0.0, -0.9], [1, 1, 1, 0.5], [1, 1, 1, 0.5], [1, 1, 1, 0.5])
    decision = engine.decide(votes, DESIGN_WEIGHTS, [])
    # Net support 0.96, 0.4, 0.6 and -0.06: whole, 80%, whole (capped), refused.
    assert decision.net_support == pytest.approx([0.96, 0.4, 0.6, -0.06])
    assert decision.size == pytest.approx([1.0, 0.8, 1.0, 0.0])
    # The analyst's vote moves the size of a trade the others carry.
    assert decision.size[1] < decision.size[2]
    whole = ConsensusEngine(ConsensusConfig(full_size_support=0.0)).decide(
        votes, DESIGN_WEIGHTS, []
    )
    assert list(whole.size) == [1.0, 1.0, 1.0, 0.0]
