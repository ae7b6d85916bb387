"""The risk manager's, optimizer's and execution agent's challengers run in shadow: each
forecasts on the champion's own inputs, the record is scored by the agents' live evidence,
and nothing in it changes what the desk trades."""

from dataclasses import replace

import pytest

from agents.desk.shadow_agents import EVENT, AgentChallenger
from monitoring.agent_evidence import agent_scores
from tests.support.desk import make_desk


def challengers(fitted) -> dict[str, AgentChallenger]:
    """Real parameter sets other than the champion's: a faster-forgetting covariance, a
    more risk-averse optimizer, a wider half spread."""
    limits = fitted.risk_limits
    return {
        "risk_manager": AgentChallenger("risk_manager", "2", risk_limits=replace(
            limits, budget=replace(limits.budget, ewma_decay=0.8))),
        "portfolio_optimizer": AgentChallenger("portfolio_optimizer", "2", optimizer_config=replace(
            fitted.optimizer_config, risk_aversion=25.0, max_turnover=2.0)),
        "execution": AgentChallenger("execution", "2", half_spread=0.002),
    }  # fmt: skip


@pytest.fixture(scope="module")
def desks(desk_parts, tmp_path_factory):
    """Two sessions of the same desk, with the three challengers in shadow and without."""
    fitted = desk_parts[0]
    versions = {a: "1" for a in ("market_analyst", "risk_manager", "portfolio_optimizer",
                                 "execution")}  # fmt: skip
    shadowed = replace(fitted, versions=versions, shadow_agents=challengers(fitted))
    root = tmp_path_factory.mktemp("shadow_agents")
    with_shadow = make_desk(desk_parts, root / "shadow.duckdb", models=shadowed)
    alone = make_desk(desk_parts, root / "alone.duckdb", models=replace(fitted, versions=versions))
    for _ in range(2):
        with_shadow.run_session()
        alone.run_session()
    return with_shadow, alone


def test_challengers_in_shadow_never_change_what_the_desk_trades(desks):
    with_shadow, alone = desks

    def fills(desk):
        return [(e.event_id, e.payload["quantity"]) for e in desk.log.read(event_types=["fill"])]

    assert fills(with_shadow) and fills(with_shadow) == fills(alone)
    # Without challengers the champions' forecasts are still recorded, for their rollback.
    (first, *_) = [e.payload for e in alone.log.read(event_types=[EVENT])
                   if "risk_manager" in e.payload]  # fmt: skip
    assert first["risk_manager"]["version"] is None and first["risk_manager"]["champion_var_99"]
    assert first["portfolio_optimizer"]["challenger_weights"] is None


def test_each_record_holds_the_champions_own_forecasts_beside_the_challengers(desks):
    log = desks[0].log
    events = log.read(event_types=[EVENT])
    daily = [e for e in events if "risk_manager" in e.payload]
    assert len({e.payload["day"] for e in daily}) == 2  # once a session: when the target is set
    for event in daily:
        risk, optimizer = event.payload["risk_manager"], event.payload["portfolio_optimizer"]
        (assessed,) = log.read(cycle_id=event.cycle_id, event_types=["risk_assessment"])
        # The champion's number is the VaR the desk's risk manager forecast on that book.
        assert risk["champion_var_99"] == pytest.approx(assessed.payload["forecast_var_99"],
                                                        rel=1e-6)  # fmt: skip
        assert risk["challenger_var_99"] != pytest.approx(risk["champion_var_99"])
        # The book carries the index hedge, and its move is priced to score the VaR with.
        assert "SP500" in risk["book"] and set(risk["book"]) <= set(event.payload["prices"])
        assert optimizer["challenger_weights"] != optimizer["champion_weights"]
        assert sum(optimizer["challenger_weights"].values()) == pytest.approx(1.0, abs=1e-4)
    executed = [e for e in events if "execution" in e.payload]
    filled = {e.cycle_id for e in log.read(event_types=["fill"]) if e.payload["quantity"]}
    assert {e.cycle_id for e in executed} == filled
    for event in executed:
        for order in event.payload["execution"]["orders"]:
            assert order["challenger_cost"] > order["champion_cost"]  # 20 bp against 2 bp
            assert order["notional"] > 0


def test_the_live_evidence_scores_each_agent_on_the_record(desks):
    events = desks[0].log.read(event_types=[EVENT])
    risk = agent_scores(events, "risk_manager")
    optimizer = agent_scores(events, "portfolio_optimizer")
    execution = agent_scores(events, "execution")
    assert len(risk) == len(optimizer) == 1  # two sessions: one day-to-day move
    assert risk[["champion", "challenger"]].ge(0).all().all()  # a tick loss is never negative
    assert (optimizer["challenger"] != optimizer["champion"]).all()
    assert len(execution) == len([e for e in events if "execution" in e.payload])
    assert execution[["champion", "challenger"]].ge(0).all().all()  # absolute errors, bp
    assert (execution["challenger"] != execution["champion"]).all()
    assert set(execution["version"]) == {"2"} and set(execution["champion_version"]) == {"1"}


def test_the_desks_long_short_and_hedge_settings_reach_the_challengers_as_the_champions(desk_parts):
    from agents.desk.models import with_hedge, with_long_short

    fitted = desk_parts[0]
    models = with_hedge(
        with_long_short(replace(fitted, shadow_agents=challengers(fitted)), max_short=0.3),
        enabled=False, instrument=None,
    )  # fmt: skip
    risk = models.shadow_agents["risk_manager"].risk_limits
    optimizer = models.shadow_agents["portfolio_optimizer"].optimizer_config
    assert optimizer.max_short == models.optimizer_config.max_short == 0.3
    assert risk.max_gross_exposure == models.risk_limits.max_gross_exposure == 1.6
    assert not risk.hedge.enabled and not models.risk_limits.hedge.enabled
    # What was registered differently stays different.
    assert risk.budget.ewma_decay == 0.8 != models.risk_limits.budget.ewma_decay
    assert optimizer.risk_aversion == 25.0 != models.optimizer_config.risk_aversion
