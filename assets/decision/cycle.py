"""The decision cycle as assets: thin glue over ``agents.desk.cycle.Desk``, one step each,
with what a quant wants to see at a glance as metadata."""

import time
from datetime import datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from agents.desk.steps import (
    CycleDecision,
    CycleResult,
    ExecutionPlan,
    RiskView,
    Snapshot,
    Target,
)
from agents.messages import Envelope
from assets.resources import Alerting, TradingDesk

GROUP = "decision"


class CycleConfig(dg.Config):
    at: str | None = Field(
        default=None,
        description="Decision time, ISO 8601 in UTC (e.g. 2022-12-01T14:30:00+00:00); "
        "default: the replay clock's next half-hour bar.",
    )


@dg.asset(group_name=GROUP, kinds={"feast", "duckdb"})
def market_snapshot(
    context: dg.AssetExecutionContext, config: CycleConfig, trading_desk: TradingDesk
) -> dg.Output[Snapshot]:
    """Online features from Feast (TTL-checked at the cycle's time), the bar's price (bars
    are SYNTHESIZED by a Brownian bridge through each day's real OHLC), and the desk's state
    projected from its ledger."""
    trading_desk.desk()  # built first (imports, champions, stores), beside another decision
    waited = time.perf_counter()
    desk = trading_desk.held_desk()  # then the lease: the ledger's state is read under it
    lease_wait_ms = round((time.perf_counter() - waited) * 1000, 1)
    at = datetime.fromisoformat(config.at) if config.at else desk.next_cycle_time()
    if at is None:
        raise dg.Failure("the replay has no session left: set QUORUM_REPLAY_START earlier")
    # Before the cycle: the session's preparation, loaded when a run of this session (or
    # the run before its open) prepared it already; only the first run of a session pays.
    started = time.perf_counter()
    desk.before_the_open(desk.feed.session_of(at))
    preparation_ms = round((time.perf_counter() - started) * 1000, 1)
    snap = desk.snapshot(at)
    metadata = {
        "cycle_id": snap.cycle_id,
        "market_time": at.isoformat(),
        "session": str(snap.day),
        "session_preparation_ms": preparation_ms,
        "desk_lease_wait_ms": lease_wait_ms,
    }
    if snap.completed is not None:
        context.log.info(f"cycle {snap.cycle_id} already completed: nothing new will be sent")
        return dg.Output(snap, metadata={**metadata, "already_completed": True})
    return dg.Output(
        snap,
        metadata={
            **metadata,
            "symbols": len(snap.symbols),
            "feature_coverage": snap.feature_coverage,
            "features_as_of": str(snap.features_newest),
            "regime": str(snap.regime),
            "nav": snap.nav,
            "cash": snap.state.cash_cents / 100,
            "positions": len(snap.state.positions),
            "halted": snap.state.halted,
            "refused": str(snap.refused),
            "bar": "synthesized: Brownian bridge through the day's real OHLC",
        },
    )


@dg.asset(group_name=GROUP, kinds={"lightgbm"})
def analyst_signals(
    market_snapshot: Snapshot, trading_desk: TradingDesk
) -> dg.Output[list[Envelope]]:
    """The Market Analyst's champion: one trading_signal message per symbol, with confidence
    and expected return."""
    messages = trading_desk.held_desk().signals(market_snapshot)
    signals = [m.payload for m in messages]
    counts = pd.Series([s.signal for s in signals], dtype=str).value_counts()
    active = sorted(
        (s for s in signals if s.signal != "HOLD"), key=lambda s: -abs(s.expected_return)
    )
    table = pd.DataFrame(
        [(s.symbol, s.signal, s.confidence, s.expected_return) for s in active[:20]],
        columns=["symbol", "signal", "confidence", "expected_return"],
    )
    return dg.Output(
        messages,
        metadata={
            "schema_version": messages[0].schema_version if messages else None,
            **{f"signals_{k}": int(counts.get(k, 0)) for k in ("BUY", "SELL", "HOLD")},
            "mean_confidence": float(pd.Series([s.confidence for s in signals]).mean())
            if signals
            else 0.0,
            "regime": str(market_snapshot.regime),
            "strongest": dg.MetadataValue.md(table.round(5).to_markdown(index=False)),
        },
    )


@dg.asset(group_name=GROUP, kinds={"skfolio"})
def optimizer_proposal(
    market_snapshot: Snapshot, analyst_signals: list[Envelope], trading_desk: TradingDesk
) -> dg.Output[Target]:
    """Target weights: the optimizer's shape (Black-Litterman mean-risk on the signals, or
    risk parity when they are weak), reused while the signals are unchanged, sized by the
    Risk Manager's budget (volatility target, regime, drawdown); and its rebalancing_order
    message, the orders from the book to the target, which the consensus reads."""
    target = trading_desk.held_desk().propose(market_snapshot, analyst_signals)
    turnover = float((target.weights - market_snapshot.weights).abs().sum())
    return dg.Output(
        target,
        metadata={
            "method": target.method,
            "reused_from_earlier_cycle": target.reused,
            "conviction": target.conviction,
            "proposed_turnover": turnover,
            "names": int((target.weights > 0).sum()),
            "invested": float(target.weights.sum()),
            "budget_scale": target.budget.scale if target.budget else 1.0,
            "forecast_volatility": target.budget.forecast_volatility if target.budget else 0.0,
            "budget_reasons": "; ".join(target.budget.reasons) if target.budget else "held",
            "rebalancing_orders": len(target.message.payload.orders) if target.message else 0,
        },
    )


@dg.asset(group_name=GROUP)
def risk_assessment(
    market_snapshot: Snapshot, optimizer_proposal: Target, trading_desk: TradingDesk
) -> dg.Output[RiskView]:
    """VaR and ES (historical and Monte Carlo), limits and crises on the proposed book; its
    risk_assessment message (verdict, position limits, forecast VaR against the limit) is
    what the consensus reads."""
    view = trading_desk.held_desk().assess(market_snapshot, optimizer_proposal)
    a = view.assessment
    return dg.Output(
        view,
        metadata={
            "approved": a.approved,
            "var_95": a.historical.var_95,
            "var_99": a.historical.var_99,
            "forecast_var_99": a.forecast_var_99,
            "es_99": a.historical.es_99,
            "monte_carlo_var_99": a.monte_carlo.var_99,
            "beta": a.beta,
            "effective_positions": a.effective_positions,
            "veto_reasons": "; ".join(a.veto_reasons) or "none",
        },
    )


@dg.asset(group_name=GROUP)
def execution_plan(
    market_snapshot: Snapshot, optimizer_proposal: Target, trading_desk: TradingDesk
) -> dg.Output[ExecutionPlan]:
    """Whole-share trades from the book to the target, each with its expected cost."""
    plan = trading_desk.held_desk().plan_execution(market_snapshot, optimizer_proposal)
    prices = market_snapshot.prices.reindex(plan.symbols).to_numpy()
    notional = float((plan.shares * prices).sum())
    return dg.Output(
        plan,
        metadata={
            "trades": len(plan.symbols),
            "notional": notional,
            "expected_cost_bp": float((plan.expected_cost * plan.shares * prices).sum())
            / notional
            * 1e4
            if notional
            else 0.0,
        },
    )


@dg.asset(group_name=GROUP)
def consensus_decision(
    market_snapshot: Snapshot,
    analyst_signals: list[Envelope],
    optimizer_proposal: Target,
    risk_assessment: RiskView,
    execution_plan: ExecutionPlan,
    trading_desk: TradingDesk,
) -> dg.Output[CycleDecision]:
    """Circuit breakers first, then the confidence-weighted vote with the risk veto, read
    from the agents' messages (each validated on the way in: a malformed or stale one is
    refused with its field, and the ledger records why) and the execution agent's costs."""
    decision = trading_desk.held_desk().decide(
        market_snapshot,
        analyst_signals,
        optimizer_proposal.message,
        risk_assessment.message,
        execution_plan,
    )
    consensus = decision.consensus
    return dg.Output(
        decision,
        metadata={
            "halted": decision.halted,
            "reasons": "; ".join(decision.reasons) or "none",
            "proposed": len(execution_plan.symbols),
            "approved": len(decision.orders),
            "vetoed": bool(consensus and consensus.veto),
            "blocked_by_veto": int(consensus.blocked_by_veto.sum()) if consensus else 0,
            "agent_weights": dg.MetadataValue.json(consensus.weights if consensus else {}),
            "hedge": dg.MetadataValue.json(decision.hedge.payload() if decision.hedge else {}),
        },
    )


@dg.asset(group_name=GROUP, kinds={"duckdb"})
def orders(
    market_snapshot: Snapshot, consensus_decision: CycleDecision, trading_desk: TradingDesk
) -> dg.Output[CycleResult]:
    """Orders with ids from the cycle id, filled by the paper broker against the bar; the
    fills update positions and cash in the ledger."""
    desk = trading_desk.held_desk()
    result = desk.submit(market_snapshot, consensus_decision)
    positions = pd.Series(market_snapshot.state.positions, dtype=int, name="shares")
    return dg.Output(
        result,
        metadata={
            "cycle_id": result.cycle_id,
            "orders": result.orders,
            "filled_shares": result.filled,
            "notional": result.notional,
            "nav": result.nav,
            "halted": result.halted,
            "already_completed": result.replayed,
            "positions": dg.MetadataValue.md(
                positions.rename_axis("symbol").reset_index().to_markdown(index=False)
            ),
        },
    )


@dg.asset_check(asset=orders, description="The design's alert thresholds after this cycle.")
def desk_alerts(
    context: dg.AssetCheckExecutionContext, trading_desk: TradingDesk, alerting: Alerting
) -> dg.AssetCheckResult:
    """Drawdown 5%, decision latency 100 ms, error rate 1%, model drift 0.15, read from the
    ledger; a breach fails this check (WARN) and goes to the webhook, the log and the ledger."""
    from monitoring.alerts import desk_health, evaluate

    log = trading_desk.held_desk().log
    health = desk_health(log, alerting.thresholds())
    alerts = evaluate(health, alerting.thresholds())
    alerting.sink(log).send(
        alerts, subject=f"cycle {health.last_cycle_id}", reference=context.run.run_id
    )
    return dg.AssetCheckResult(
        passed=not alerts,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(a.message for a in alerts) or "within every threshold",
        metadata={
            "cycle_id": str(health.last_cycle_id),
            "drawdown": health.drawdown,
            "decision_latency_ms": health.decision_latency_ms,
            "error_rate": health.error_rate,
            "model_drift": health.model_drift,
            "alerts": len(alerts),
        },
    )
