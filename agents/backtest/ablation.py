"""The ablation table: the desk with one agent's influence or one overlay switched off at a
time, on the same days, data, trained models and costs, so a quant sees what each piece adds.

Every variant reuses the models the full desk trained (they depend only on the data, never
on the desk's decisions), so a variant costs only its decision cycles. Variants run in
separate processes (spawned: LightGBM's OpenMP runtime does not survive a fork), each with
its own throwaway ledger.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from agents.backtest.desk_run import DeskPolicies, WalkForward, run_desk_backtest
from agents.backtest.metrics import performance, period_masks
from agents.backtest.training_worker import THREADS_SIDE_BY_SIDE, limit_threads
from agents.desk.breakers import BreakerThresholds
from agents.desk.config import DeskConfig
from agents.desk.ledger import DuckDBEventLog
from agents.desk.models import long_short_limits
from agents.market_analyst.training import AnalystTraining

INF = float("inf")
LONG_SHORT_OPTION = 0.3  # the long-short book a long-only desk is compared with: 130/30


@dataclass(frozen=True)
class Variant:
    name: str
    switched_off: str
    config: DeskConfig
    policies: DeskPolicies


def _without_vote(config: DeskConfig, agent: str) -> DeskConfig:
    """The consensus with ``agent``'s vote at weight zero (and no floor that would give it
    one back through the adaptive weights)."""
    weights = {a: (0.0 if a == agent else w) for a, w in config.consensus.base_weights.items()}
    return replace(config, consensus=replace(config.consensus, base_weights=weights, min_weight=0))


def ablation_variants(config: DeskConfig, policies: DeskPolicies) -> list[Variant]:
    """One piece of the desk as configured switched off at a time (the desk itself is the
    run they are compared with)."""
    risk, optimizer = policies.risk_limits, policies.optimizer_config
    no_limits = replace(
        risk,
        max_var_99=INF,
        max_stress_loss=INF,
        min_effective_positions=0.0,
        max_weight=1.0,
        max_sector_weight=1.0,
        budget=replace(risk.budget, enabled=False),
        hedge=replace(risk.hedge, enabled=False),
    )
    never = BreakerThresholds(
        daily_loss_limit=INF, position_concentration=INF, correlation_spike=INF,
        model_confidence_drop=INF,
    )  # fmt: skip
    no_views = replace(optimizer, min_view_confidence=INF)
    return [
        Variant(
            "no_market_analyst",
            "the analyst's views in the optimizer and its vote",
            _without_vote(config, "market_analyst"),
            replace(policies, optimizer_config=no_views),
        ),
        Variant(
            "no_risk_manager",
            "the risk budget, the hedge, the veto and limits, and the risk manager's vote",
            _without_vote(config, "risk_manager"),
            replace(policies, risk_limits=no_limits),
        ),
        Variant(
            "no_optimizer_vote",
            "the optimizer's vote (its book is the proposal itself)",
            _without_vote(config, "portfolio_optimizer"),
            policies,
        ),
        Variant(
            "no_execution_vote",
            "the execution agent's vote on costs",
            _without_vote(config, "execution_agent"),
            policies,
        ),
        Variant(
            "no_risk_budget",
            "the risk budget (volatility target, regime cut, drawdown control)",
            config,
            replace(
                policies, risk_limits=replace(risk, budget=replace(risk.budget, enabled=False))
            ),
        ),
        Variant(
            "no_hedge",
            "the index hedge (and its financing)",
            config,
            replace(policies, risk_limits=replace(risk, hedge=replace(risk.hedge, enabled=False))),
        ),
        Variant(
            "no_consensus_sizing",
            "sizes from the votes: a passed trade goes through in full",
            replace(config, consensus=replace(config.consensus, full_size_support=0.0)),
            policies,
        ),
        _shorts_variant(config, policies),
        _anchor_variant(config, policies),
        Variant("no_breakers", "the circuit breakers", replace(config, breakers=never), policies),
        *[
            Variant(
                f"breakers_{policy}",
                f"the breakers' policy {config.breakers.policy} (replaced by {policy})",
                replace(config, breakers=replace(config.breakers, policy=policy)),
                policies,
            )
            for policy in ("hold", "reduce", "flatten")
            if policy != config.breakers.policy
        ],
    ]


def _anchor_variant(config: DeskConfig, policies: DeskPolicies) -> Variant:
    """The rebalance anchored on the other book (``DeskConfig.rebalance_anchor``): for a
    desk anchored on the previous close, the book at the open's prices (solved in the open
    cycle, as the desk did before), and the other way round."""
    other = "open" if config.rebalance_anchor == "close" else "close"
    return Variant(
        f"rebalance_from_{other}",
        f"the rebalance from the book at the {config.rebalance_anchor} "
        f"(replaced by the book at the {other})",
        replace(config, rebalance_anchor=other),
        policies,
    )


def _shorts_variant(config: DeskConfig, policies: DeskPolicies) -> Variant:
    """A long-short desk without its shorts; a long-only desk with the 130/30 option on (what
    the option would have done, on the same days)."""
    short = policies.optimizer_config.max_short
    limits, optimizer = long_short_limits(
        policies.risk_limits, policies.optimizer_config, 0.0 if short else LONG_SHORT_OPTION
    )
    if short:
        return Variant("no_shorts", f"the shorts (max {short:g}): long only", config,
                       DeskPolicies(limits, optimizer))  # fmt: skip
    return Variant(
        "long_short_130_30",
        "long only (replaced by a 130/30 book: shorts to 0.3, gross 1.6, net at most 1)",
        config,
        DeskPolicies(limits, optimizer),
    )


# The data of a run, set once per process.
_INPUTS: dict = {}


def _share(inputs: dict, threads: int | None = None) -> None:
    _INPUTS.update(inputs)
    if threads:  # variants side by side on the cores: one BLAS/OpenMP thread each
        limit_threads(threads)


def _run(variant: Variant, walk: WalkForward, trained: list[AnalystTraining]) -> pd.Series:
    """The variant's daily net returns, from its own throwaway ledger. A variant is read
    only for its NAV, so it skips the post-trade counterfactuals (every fill re-priced with
    each schedule and the RL policy): they are recorded beside a fill and never change it."""
    with tempfile.TemporaryDirectory(prefix="quorum-ablation-") as folder:
        log = DuckDBEventLog(Path(folder) / "ledger.duckdb")
        try:
            run = run_desk_backtest(
                log=log,
                walk=replace(walk, training_workers=0),
                config=replace(variant.config, execution_counterfactuals=False),
                policies=replace(variant.policies, rl_to_compare=None),
                trained=trained,
                **_INPUTS,
            )
        finally:
            log.close()
    return run.nav.pct_change().fillna(0.0)


def run_ablation(
    variants: list[Variant],
    walk: WalkForward,
    trained: list[AnalystTraining],
    inputs: dict,
    *,
    workers: int = 2,
) -> dict[str, pd.Series]:
    """Each variant's daily net returns, by name. ``inputs``: ``run_desk_backtest``'s data
    keywords (prices, feature_rows, training_rows, market_returns, sectors, index_symbol)."""
    if workers <= 0:
        _share(inputs)
        try:
            return {v.name: _run(v, walk, trained) for v in variants}
        finally:
            _INPUTS.clear()
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_share,
        initargs=(inputs, THREADS_SIDE_BY_SIDE),
    ) as pool:
        futures = {v.name: pool.submit(_run, v, walk, trained) for v in variants}
        return {name: future.result() for name, future in futures.items()}


def ablation_table(
    desk: pd.Series,
    variants: list[Variant],
    returns: dict[str, pd.Series],
    holdout_start: str | None,
) -> dict:
    """Per variant and period, Sharpe, maximum drawdown, CAGR and volatility, and the desk's
    Sharpe and drawdown minus the variant's (what the piece switched off adds)."""
    keys = ("sharpe", "max_drawdown", "cagr", "volatility")

    def measured(daily: pd.Series) -> dict[str, dict[str, float]]:
        return {
            period: {k: v for k, v in performance(daily[mask]).items() if k in keys}
            for period, mask in period_masks(daily.index, holdout_start).items()
        }

    base = measured(desk)
    rows = {"desk": {"switched_off": "nothing", **base}}
    for variant in variants:
        m = measured(returns[variant.name])
        for period, values in m.items():
            values["desk_sharpe_minus_this"] = base[period]["sharpe"] - values["sharpe"]
            values["desk_drawdown_minus_this"] = (
                base[period]["max_drawdown"] - values["max_drawdown"]
            )
        rows[variant.name] = {"switched_off": variant.switched_off, **m}
    return {"variants": rows}
