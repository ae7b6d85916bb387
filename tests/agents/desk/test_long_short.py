"""The long-short option on the paper desk: a short target becomes a short sale, its limits
are the long-short book's, and a long-only desk never sells what it does not hold."""

from dataclasses import replace

import pandas as pd

from agents.desk.models import long_short_limits, with_long_short
from agents.desk.steps import Target
from agents.portfolio_optimizer.optimizer import OptimizerConfig
from agents.risk_manager.agent import PreparedRisk, RiskLimits
from tests.support.desk import make_desk


def short_one_name(desk) -> tuple:
    snap = desk.snapshot(desk.next_cycle_time())
    weights = pd.Series(0.0, index=desk.symbols)
    weights.iloc[0], weights.iloc[1] = -0.2, 0.5
    target = desk.rebalancing(snap, Target(weights, "test", 0.5, reused=False))
    return snap, desk.plan_execution(snap, target)


def test_a_long_short_desk_sells_short_what_a_long_only_desk_cannot(desk_parts, tmp_path):
    long_short = make_desk(
        desk_parts, tmp_path / "ls.duckdb", models=with_long_short(desk_parts[0], 0.3)
    )
    snap, plan = short_one_name(long_short)
    shorted = long_short.symbols[0]
    assert shorted in plan.symbols
    i = plan.symbols.index(shorted)
    assert plan.direction[i] < 0
    assert plan.shares[i] == int(0.2 * snap.nav // snap.prices[shorted])

    long_only = make_desk(desk_parts, tmp_path / "lo.duckdb")
    _, plan = short_one_name(long_only)
    assert shorted not in plan.symbols  # nothing held: nothing to sell


def test_the_long_short_limits_allow_its_gross_and_veto_a_net_above_one(desk_parts):
    limits, optimizer = long_short_limits(RiskLimits(), OptimizerConfig(), 0.3)
    assert optimizer.max_short == 0.3
    assert limits.max_gross_exposure == limits.budget.max_gross == 1.6
    _, prices, _, _ = desk_parts
    closes = prices.pivot(index="date", columns="symbol", values="close").drop(columns="SP500")
    risk = PreparedRisk(replace(limits, min_effective_positions=1, max_weight=0.8), closes, {})
    names = list(closes.columns)
    book = pd.Series([0.8, 0.6, -0.4], index=names)  # gross 1.8, net 1.0
    assert any("gross exposure" in r for r in risk.assess(book).veto_reasons)
    book = pd.Series([0.8, 0.5, 0.0], index=names)  # gross and net 1.3
    assert any("net exposure" in r for r in risk.assess(book).veto_reasons)
    book = pd.Series([0.7, 0.6, -0.3], index=names)  # 130/30: gross 1.6, net 1.0
    reasons = risk.assess(book).veto_reasons
    assert not any("gross exposure" in r or "net exposure" in r for r in reasons)
