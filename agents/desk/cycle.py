"""One decision cycle of the desk, as steps: snapshot -> signals -> proposal -> risk ->
execution plan -> consensus decision -> orders and fills.

The Dagster assets call one step each, and each step appends its own events;
``Desk.run_cycle`` calls them in order (the benchmark and the backtest use it) and writes
its events in two transactions, decisions and orders before any fill. Either way a step that
fails leaves the audit trail of the steps before it. Every event id is derived from the cycle
id, and a cycle reads the desk's state without its own events: running a cycle id again
writes nothing new and sends no order twice.

Work that depends only on the day (the risk model's draws, the regime, impact calibration)
is prepared once per session and kept in memory; recomputing it gives the same numbers, so
the cache changes speed, never decisions. The optimizer's target is recorded in the ledger
and reused while the analyst's signals are unchanged (they move with the daily features).
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from agents.consensus.engine import AGENTS, Ballot, ConsensusConfig, ConsensusEngine
from agents.consensus.votes import (
    analyst_support,
    execution_support,
    optimizer_support,
    risk_support,
)
from agents.desk.broker import Commission, PaperBroker
from agents.desk.feed import MarketDataFeed
from agents.desk.ledger import Event, EventLog
from agents.desk.models import DeskModels
from agents.desk.state import DeskState, current
from agents.desk.steps import (
    CycleDecision,
    CycleResult,
    ExecutionPlan,
    RiskView,
    Snapshot,
    Target,
)
from agents.execution.agent import ExecutionAgent
from agents.execution.impact import ImpactModel
from agents.market_analyst.agent import MarketAnalyst
from agents.messages import Order, TradingSignal
from agents.portfolio_optimizer.optimizer import PortfolioOptimizer
from agents.risk_manager.agent import PreparedRisk, RiskManager
from monitoring.circuit_breakers import BookState, BreakerThresholds, CircuitBreakers

BARS_PER_DAY = 13  # an order's schedule spans one half-hour bar


class FeatureReader(Protocol):
    features: list[str]

    def read(self, symbols: list[str], as_of: datetime | None = None) -> Any:
        """An object with ``values`` (symbols x features) and ``newest_timestamp``."""


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


def _timed(step: Callable) -> Callable:
    """Adds the step's wall time to its snapshot's ``compute_seconds``."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        started = time.perf_counter()
        out = step(self, *args, **kwargs)
        snap = out if isinstance(out, Snapshot) else args[0]
        snap.compute_seconds += time.perf_counter() - started
        return out

    return wrapper


def _since(started: float) -> float:
    """Milliseconds since a ``time.perf_counter()`` reading."""
    return (time.perf_counter() - started) * 1000


def cycle_id_for(feed_name: str, at: datetime) -> str:
    return f"{feed_name}-{at:%Y%m%dT%H%MZ}"


def _fingerprint(day: date, signals: list[TradingSignal]) -> str:
    text = "|".join(
        f"{s.symbol}:{s.signal}:{s.confidence:.6f}:{s.expected_return:.8f}" for s in signals
    )
    return hashlib.sha256(f"{day}|{text}".encode()).hexdigest()[:16]


class Desk:
    def __init__(
        self,
        models: DeskModels,
        feed: MarketDataFeed,
        reader: FeatureReader,
        log: EventLog,
        config: DeskConfig | None = None,
        index_symbol: str | None = None,
        on_session_open: Callable[[date], None] | None = None,
    ) -> None:
        """``on_session_open(day)`` runs before the first cycle of each session reads its
        features; the replay publishes the previous close's features there."""
        self.models = models
        self.on_session_open = on_session_open
        self.feed = feed
        self.reader = reader
        self.log = log
        self.config = config or DeskConfig()
        self.index_symbol = index_symbol
        self.symbols = [s for s in feed.symbols if s != index_symbol]
        self.analyst = MarketAnalyst(models.signal_model, models.signal_policy)
        self.optimizer = PortfolioOptimizer(models.optimizer_config)
        self.risk_manager = RiskManager(models.risk_limits)
        self.breakers = CircuitBreakers(self.config.breakers)
        self.consensus = ConsensusEngine(self.config.consensus)
        self.broker = PaperBroker(ExecutionAgent(models.execution_policy), self.config.commission)
        self._day_cache: dict[date, dict[str, Any]] = {}
        self._signal_cache: tuple[bytes, list[TradingSignal]] | None = None
        self._pending: list[Event] | None = None  # queued events, inside run_cycle
        self._settled: DeskState | None = None  # the state the last completed cycle left

    # ---- the cycle's steps -------------------------------------------------------------

    @_timed
    def snapshot(self, at: datetime) -> Snapshot:
        cycle_id = cycle_id_for(self.config.feed_name, at)
        day = self.feed.session_of(at)
        done = self.log.read(cycle_id=cycle_id, event_types=["cycle_completed"])
        # The state the last cycle of this desk settled on saves re-reading the snapshot;
        # events appended since by anyone are folded on top either way.
        held, self._settled = (None if done else self._settled), None
        state = current(self.log, excluding_cycle=cycle_id, start=held)
        snap = Snapshot(cycle_id, at, day, self.symbols, state)
        bar = self.feed.bar(at)
        snap.prices = pd.Series(bar.open, index=self.feed.symbols).reindex(self.symbols)
        snap.history = self.feed.history(day)
        if done:
            snap.completed = done[0].payload
            return snap
        unfinished = sorted((t, c) for c, t in state.open_cycles.items())
        if unfinished:  # never trade past orders that are not filled yet: resume them first
            snap.refused = (
                f"cycle {unfinished[0][1]} has recorded orders without fills; it completes "
                "before any later cycle trades"
            )
        if not state.capital_cents:
            cash = round(self.config.initial_cash * 100)
            self._record(snap, [Event("account/opened", "account", "account_opened", at,
                                      {"cash_cents": cash})])  # fmt: skip
        self._open_session(snap)
        self._score_agents(snap)
        self._read_features(snap)
        if (
            snap.refused is None
            and snap.feature_coverage < self.config.min_feature_coverage
            and self.on_session_open is not None
        ):  # the store lost its keys (a restarted Redis keeps nothing): publish them again
            self._publish_session_features(snap, "republishing lost features")
            if snap.refused is None:
                snap.republished_features = True
                self._read_features(snap)
        if snap.refused is None and snap.feature_coverage < self.config.min_feature_coverage:
            snap.refused = (
                f"fresh online features for {snap.feature_coverage:.0%} of symbols at "
                f"{at.isoformat()} (< {self.config.min_feature_coverage:.0%}): missing or stale"
            )
        snap.regime = self._day(snap)["regime"]
        return snap

    @_timed
    def signals(self, snap: Snapshot) -> list[TradingSignal]:
        """The analyst's signals; none when the cycle refused to trade on its features."""
        if snap.completed is not None:
            return []
        signals = [] if snap.refused else self._analyst_signals(snap)
        mean = float(np.mean([s.confidence for s in signals])) if signals else None
        previous = snap.state.mean_confidence
        if mean is None or previous is None:
            smoothed = previous if mean is None else mean
        else:  # the confidence breaker compares a cycle with this slow average
            smoothed = 0.9 * previous + 0.1 * mean
        counts = pd.Series([s.signal for s in signals]).value_counts().to_dict()
        self._record(snap, [self._event(snap, "signals", {
            "regime": snap.regime,
            "counts": {k: int(v) for k, v in counts.items()},
            "mean_confidence": mean,
            "smoothed_mean_confidence": smoothed,
            "usual_confidence": previous,
            "model_version": self.models.versions.get("market_analyst"),
            "feature_coverage": snap.feature_coverage,
            "features_republished": snap.republished_features,
            "signals": {
                s.symbol: [s.signal, round(s.confidence, 6), round(s.expected_return, 8)]
                for s in signals if s.signal != "HOLD"
            },
        })])  # fmt: skip
        return signals

    @_timed
    def propose(self, snap: Snapshot, signals: list[TradingSignal]) -> Target:
        if snap.refused or snap.completed is not None:  # hold the book: no new target
            return Target(snap.weights, "hold (cycle refused or completed)", 0.0, reused=True)
        fingerprint = _fingerprint(snap.day, signals)
        target = snap.state.target
        if target.get("fingerprint") == fingerprint:
            weights = pd.Series(target["weights"], dtype=float).reindex(self.symbols).fillna(0.0)
            return Target(weights, target["method"], target["conviction"], reused=True)
        returns = (
            self._day(snap)["returns"][self.symbols]
            .tail(self.config.optimizer_lookback_days)
            .dropna(axis=1)
        )
        proposal = self.optimizer.propose(returns, signals, snap.weights, self.models.sectors)
        active = [s for s in signals if s.signal != "HOLD" and s.symbol in returns.columns]
        conviction = (
            float(np.mean([s.confidence for s in active]))
            if proposal.method == "black_litterman_mean_risk"
            else 0.5
        )
        weights = proposal.weights.reindex(self.symbols).fillna(0.0)
        self._record(snap, [self._event(snap, "target_set", {
            "fingerprint": fingerprint,
            "day": str(snap.day),
            "method": proposal.method,
            "conviction": conviction,
            "weights": {s: float(w) for s, w in weights.items() if w},
            "expected_daily_return": proposal.expected_daily_return,
            "expected_daily_volatility": proposal.expected_daily_volatility,
            "turnover": float((weights - snap.weights).abs().sum()),
            "views": proposal.views,
            "model_version": self.models.versions.get("portfolio_optimizer"),
        })])  # fmt: skip
        return Target(weights, proposal.method, conviction, reused=False)

    @_timed
    def assess(self, snap: Snapshot, target: Target) -> RiskView:
        prepared: PreparedRisk = self._day(snap)["risk"]
        assessment = prepared.assess(target.weights)
        headroom = 1.0 - assessment.historical.var_99 / self.models.risk_limits.max_var_99
        worst = min(assessment.stress, key=lambda s: s.portfolio_return, default=None)
        self._record(snap, [self._event(snap, "risk_assessment", {
            "approved": assessment.approved,
            "veto_reasons": assessment.veto_reasons,
            "var_95": assessment.historical.var_95,
            "var_99": assessment.historical.var_99,
            "es_95": assessment.historical.es_95,
            "es_99": assessment.historical.es_99,
            "mc_var_99": assessment.monte_carlo.var_99,
            "mc_es_99": assessment.monte_carlo.es_99,
            "beta": None if np.isnan(assessment.beta) else assessment.beta,
            "effective_positions": assessment.effective_positions,
            "sector_weights": assessment.sector_weights,
            "worst_stress": None if worst is None else [worst.scenario, worst.portfolio_return],
        })])  # fmt: skip
        return RiskView(assessment, headroom)

    @_timed
    def plan_execution(self, snap: Snapshot, target: Target) -> ExecutionPlan:
        nav = snap.nav
        change = (target.weights - snap.weights) * nav
        prices = snap.prices
        held = pd.Series(snap.state.positions, dtype=float).reindex(self.symbols).fillna(0.0)
        shares = (change.abs() // prices).fillna(0.0)
        selling = change < 0
        shares = shares.where(~selling, np.minimum(shares, held))  # long only: never short
        tradable = (shares > 0) & (change.abs() >= self.models.optimizer_config.min_trade_usd)
        symbols = list(shares.index[tradable])
        impact = self._day(snap)["impact"]
        half_spread = self.models.execution_policy.half_spread
        costs = np.array([
            impact[s].expected_cost(shares[s], 1.0 / BARS_PER_DAY, half_spread) for s in symbols
        ])  # fmt: skip
        plan = ExecutionPlan(
            symbols=symbols,
            direction=np.sign(change[symbols].to_numpy()),
            shares=shares[symbols].to_numpy(dtype=int),
            expected_cost=costs,
        )
        notional = float((plan.shares * prices[symbols].to_numpy()).sum())
        self._record(snap, [self._event(snap, "execution_plan", {
            "orders": len(symbols),
            "notional": notional,
            "expected_cost_bp": float(
                (costs * plan.shares * prices[symbols].to_numpy()).sum() / notional * 1e4
            ) if notional else 0.0,
            "algorithm": "VWAP over the bar (MEDIUM urgency)",
        })])  # fmt: skip
        return plan

    @_timed
    def decide(
        self,
        snap: Snapshot,
        signals: list[TradingSignal],
        target: Target,
        risk: RiskView,
        plan: ExecutionPlan,
    ) -> CycleDecision:
        state = snap.state
        if state.halted:
            return self._record_decision(snap, CycleDecision(True, state.halt_reasons, []), plan)
        mean_confidence = float(np.mean([s.confidence for s in signals])) if signals else None
        book = BookState(
            nav=snap.nav,
            session_start_nav=state.day_start_nav_cents / 100,
            position_values=snap.weights * snap.nav,
            recent_returns=self._day(snap)["returns"],
            mean_confidence=mean_confidence,
            usual_confidence=state.mean_confidence,
        )
        breaches = self.breakers.check(book)
        if breaches:
            reasons = [b.reason for b in breaches]
            policy = self.config.breakers.policy
            self._record(snap, [self._event(snap, "halt", {
                "reasons": reasons,
                "policy": policy,
                "breaches": {b.breaker: [b.value, b.threshold] for b in breaches},
            })])  # fmt: skip
            orders = self._flatten_orders(snap) if policy == "flatten" else []
            return self._record_decision(snap, CycleDecision(True, reasons, orders), plan)
        if snap.refused:
            return self._record_decision(snap, CycleDecision(False, [snap.refused], []), plan)

        reduces = np.array([
            snap.weights[s] > 0 and d < 0 for s, d in zip(plan.symbols, plan.direction, strict=True)
        ], dtype=bool)  # fmt: skip
        ballot = Ballot(
            symbols=plan.symbols,
            direction=plan.direction,
            reduces_position=reduces,
            support={
                "market_analyst": analyst_support(
                    {s.symbol: s for s in signals}, plan.symbols, plan.direction
                ),
                "risk_manager": risk_support(reduces, risk.var_headroom),
                "portfolio_optimizer": optimizer_support(len(plan.symbols), target.conviction),
                "execution_agent": execution_support(plan.expected_cost, self.config.cost_budget),
            },
        )
        weights = self.consensus.weights(state.agent_weights)
        consensus = self.consensus.decide(ballot, weights, risk.assessment.veto_reasons)
        orders = [
            Order(symbol=s, action="BUY" if d > 0 else "SELL", quantity=int(q))
            for s, d, q, ok in zip(
                plan.symbols, plan.direction, plan.shares, consensus.approved, strict=True
            )
            if ok
        ]
        decision = CycleDecision(False, list(risk.assessment.veto_reasons), orders, consensus)
        return self._record_decision(snap, decision, plan, ballot)

    def submit(self, snap: Snapshot, decision: CycleDecision) -> CycleResult:
        """Record the orders (ids from the cycle id), fill what is not filled yet, close the
        cycle. A retry uses the orders its first attempt recorded, never new ones."""
        submit_started = time.perf_counter()
        if snap.completed is not None:
            return self._result(snap, snap.completed, replayed=True)
        recorded = self.log.read(cycle_id=snap.cycle_id, event_types=["order", "fill"])
        orders = {e.payload["order_id"]: e.payload for e in recorded if e.event_type == "order"}
        filled = {e.payload["order_id"] for e in recorded if e.event_type == "fill"}
        if not orders:
            prices = snap.prices
            orders = {
                f"{snap.cycle_id}/{o.symbol}": {
                    "order_id": f"{snap.cycle_id}/{o.symbol}",
                    **o.model_dump(),
                    "decision_price": float(prices[o.symbol]),
                }
                for o in decision.orders
            }
            self._record(snap, [
                self._event(snap, "order", payload, key=order_id)
                for order_id, payload in orders.items()
            ])  # fmt: skip
        self._flush(snap)  # every decision and order is durable before the first fill
        bar = self.feed.bar(snap.at)
        row = {s: i for i, s in enumerate(self.feed.symbols)}
        impact = self._day(snap)["impact"]
        fills = []
        for order_id, payload in orders.items():
            if order_id in filled:
                continue
            order = Order(**{k: payload[k] for k in Order.model_fields})
            i = row[order.symbol]
            fills.append(self._event(snap, "fill", self.broker.execute(
                order_id, order, payload["decision_price"], bar.bucket_prices[i],
                bar.bucket_volumes[i], impact[order.symbol],
            ), key=order_id))  # fmt: skip
        self._record(snap, fills)
        closes = pd.Series(bar.close, index=self.feed.symbols).reindex(self.symbols)
        all_fills = [e.payload for e in fills] + [
            e.payload for e in recorded if e.event_type == "fill"
        ]
        nav = snap.state.nav_cents(closes.to_dict()) / 100
        summary = {
            "orders": len(orders),
            "filled_shares": int(sum(f["quantity"] for f in all_fills)),
            "notional": float(sum(p["quantity"] * p["decision_price"] for p in orders.values())),
            "nav_at_bar_close": nav,
            "halted": decision.halted,
            "refused": snap.refused,
            "bar_synthesized": bar.synthesized,
            "positions": dict(snap.state.positions),
            "cash": snap.state.cash_cents / 100,
            "latency_ms": round(snap.compute_seconds * 1000 + _since(submit_started), 3),
        }
        self._record(snap, [self._event(snap, "cycle_completed", summary)])
        self._flush(snap)
        # The snapshot is what the log holds now: if another writer (a clear-halt job)
        # appended meanwhile, the state is re-read to include it.
        foreign = self.log.read(after_sequence=snap.state.sequence)
        settled = current(self.log) if foreign else snap.state
        self.log.save_snapshot(settled.sequence, settled.to_dict())
        self._settled = settled
        return self._result(snap, summary, replayed=False)

    # ---- running ------------------------------------------------------------------------

    def run_cycle(self, at: datetime) -> CycleResult:
        with self._one_append_per_phase():
            snap = self.snapshot(at)
            if snap.completed is not None:
                return self.submit(snap, CycleDecision(False, [], []))
            signals = self.signals(snap)
            target = self.propose(snap, signals)
            risk = self.assess(snap, target)
            plan = self.plan_execution(snap, target)
            decision = self.decide(snap, signals, target, risk, plan)
            return self.submit(snap, decision)

    def run_session(self) -> list[CycleResult]:
        """A paper day: every remaining cycle of the replay clock's next session."""
        at = self.next_cycle_time()
        if at is None:
            return []
        times = self.feed.cycle_times(self.feed.session_of(at))
        return [self.run_cycle(t) for t in times if t >= at]

    def next_cycle_time(self) -> datetime | None:
        """The replay clock: a cycle whose orders were recorded but never filled (its run
        died) if there is one, else the first decision time after the last completed cycle."""
        state = current(self.log)
        if state.open_cycles:
            return datetime.fromisoformat(min(state.open_cycles.values()))
        last = datetime.fromisoformat(state.last_market_time) if state.last_market_time else None
        return self.feed.next_cycle_time(last)

    # ---- helpers ------------------------------------------------------------------------

    def _event(self, snap: Snapshot, kind: str, payload: dict, key: str | None = None) -> Event:
        event_id = f"{snap.cycle_id}/{kind}" + (f"/{key}" if key else "")
        return Event(event_id, snap.cycle_id, kind, snap.at, payload)

    def _record(self, snap: Snapshot, events: list[Event]) -> None:
        """Append (or, inside ``run_cycle``, queue for one append), then apply to the
        cycle's state. Events another attempt of this cycle already wrote are applied too:
        the state was read without them. A completed cycle records nothing more."""
        if not events or snap.completed is not None:
            return
        if self._pending is None:
            self._written(snap, self.log.append(events))
        else:
            self._pending.extend(events)
        for event in events:
            snap.state.apply(event)

    def _flush(self, snap: Snapshot | None = None) -> None:
        if self._pending:
            written = self.log.append(self._pending)
            self._pending = []
            if snap is not None:
                self._written(snap, written)

    @staticmethod
    def _written(snap: Snapshot, written: list[Event]) -> None:
        """The state covers the log up to the newest event this cycle wrote."""
        if written:
            snap.state.sequence = max(snap.state.sequence, written[-1].sequence)

    @contextmanager
    def _one_append_per_phase(self) -> Iterator[None]:
        """Queue a cycle's events and write them in as few transactions as its order
        guarantees allow (decisions and orders before any fill; fills with the cycle's
        close). Whatever happens, the queue is written: a failure keeps its audit trail."""
        self._pending = []
        try:
            yield
        finally:
            try:
                self._flush()
            finally:
                self._pending = None

    def _record_decision(
        self,
        snap: Snapshot,
        decision: CycleDecision,
        plan: ExecutionPlan,
        ballot: Ballot | None = None,
    ) -> CycleDecision:
        consensus = decision.consensus
        votes = (
            {a: dict(zip(ballot.symbols, map(float, ballot.support[a]), strict=True))
             for a in AGENTS}
            if ballot is not None
            else {}
        )  # fmt: skip
        self._record(snap, [self._event(snap, "decision", {
            "halted": decision.halted,
            "reasons": decision.reasons,
            "proposed": len(plan.symbols),
            "approved": [o.symbol for o in decision.orders],
            "veto": bool(consensus and consensus.veto),
            "blocked_by_veto": [
                s for s, b in zip(plan.symbols, consensus.blocked_by_veto, strict=True) if b
            ] if consensus else [],
            "agent_weights": consensus.weights if consensus else {},
            "net_support": dict(zip(plan.symbols, map(float, consensus.net_support), strict=True))
            if consensus else {},
            "votes": votes,
            "directions": dict(zip(plan.symbols, map(int, plan.direction), strict=True)),
            "prices": {s: float(snap.prices[s]) for s in plan.symbols},
        })])  # fmt: skip
        return decision

    def _flatten_orders(self, snap: Snapshot) -> list[Order]:
        return [
            Order(symbol=s, action="SELL", quantity=int(q), urgency="HIGH")
            for s, q in sorted(snap.state.positions.items())
            if q > 0 and s in snap.prices and np.isfinite(snap.prices[s])
        ]

    def _analyst_signals(self, snap: Snapshot) -> list[TradingSignal]:
        """Memoised on the feature values: intraday they change once a session."""
        key = snap.features.to_numpy().tobytes()
        if self._signal_cache is None or self._signal_cache[0] != key:
            envelopes = self.analyst.signals(snap.features, snap.regime, snap.at)
            self._signal_cache = (key, [e.payload for e in envelopes])
        return self._signal_cache[1]

    def _read_features(self, snap: Snapshot) -> None:
        try:
            read = self.reader.read(self.symbols, as_of=snap.at.replace(tzinfo=None))
        except Exception as error:  # the online store is down: no features, no trading
            snap.features = pd.DataFrame(np.nan, index=self.symbols, columns=self.reader.features)
            snap.refused = snap.refused or (  # the first reason found is the one recorded
                f"online feature store unreadable: {type(error).__name__}: {error}"
            )
        else:
            snap.features = pd.DataFrame(
                read.values, index=self.symbols, columns=self.reader.features
            )
            snap.features_newest = read.newest_timestamp
        snap.feature_coverage = float(snap.features.notna().any(axis=1).mean())

    def _publish_session_features(self, snap: Snapshot, when: str = "at session open") -> bool:
        """Run the session-open hook; if the online store cannot take the writes, refuse
        this cycle (the reason goes into its decision) instead of failing the run."""
        try:
            self.on_session_open(snap.day)
        except Exception as error:
            snap.refused = snap.refused or (  # the first reason found is the one recorded
                f"online feature store unwritable {when}: {type(error).__name__}: {error}"
            )
            return False
        return True

    def _open_session(self, snap: Snapshot) -> None:
        """The daily loss limit's baseline: NAV at the previous close when a session opens,
        and NAV now after a person clears a halt (the loss behind it is acknowledged).
        A session whose features could not be published is not opened: the next cycle
        tries again, and takes the same baseline (the previous close's)."""
        state = snap.state
        if state.day != str(snap.day):
            if self.on_session_open is not None and not self._publish_session_features(snap):
                return
            closes = snap.history.ffill().iloc[-1].reindex(list(state.positions)).to_dict()
            nav = state.nav_cents(closes) if state.positions else state.cash_cents
            self._record(snap, [self._event(snap, "loss_baseline", {
                "day": str(snap.day), "nav_cents": nav, "reason": "session open"
            })])  # fmt: skip
        elif state.rebase_pending:
            self._record(snap, [self._event(snap, "loss_baseline", {
                "day": str(snap.day), "nav_cents": state.nav_cents(snap.prices.to_dict()),
                "reason": "halt cleared",
            })])  # fmt: skip

    def _score_agents(self, snap: Snapshot) -> None:
        last = snap.state.last_decision
        if not last or not last.get("votes"):
            return
        realised = {
            s: float(snap.prices[s] / p - 1)
            for s, p in last["prices"].items()
            if s in snap.prices and np.isfinite(snap.prices[s])
        }
        scores, weights, accuracy = self.consensus.rescore(
            snap.state.agent_scores, last["votes"], last["directions"], realised
        )
        self._record(snap, [self._event(snap, "agents_scored", {
            "scores": scores, "weights": weights, "accuracy": accuracy,
            "scored_cycle": last["cycle_id"],
        })])  # fmt: skip

    def _day(self, snap: Snapshot) -> dict[str, Any]:
        """Per-session preparations (pure functions of the data before the session)."""
        if snap.day not in self._day_cache:
            self._day_cache.clear()
            history = snap.history
            index = history.get(self.index_symbol)
            regime = None
            if self.models.regime_model is not None and index is not None:
                regime = str(self.models.regime_model.label(index.pct_change().iloc[1:]).iloc[-1])
            returns = history.pct_change(fill_method=None).iloc[1:]
            recent = history[self.symbols].tail(64)
            volumes = self.feed.history(snap.day, "volume")[self.symbols].tail(63)
            impact = {
                s: ImpactModel.calibrate(
                    recent[s].pct_change().dropna(),
                    volumes[s].to_numpy(),
                    price=float(recent[s].dropna().iloc[-1]),
                )
                for s in self.symbols
            }
            self._day_cache[snap.day] = {
                "risk": self.risk_manager.prepare(
                    history[self.symbols], self.models.sectors, index
                ),
                "regime": regime,
                "impact": impact,
                "returns": returns,
            }
        return self._day_cache[snap.day]

    def _result(self, snap: Snapshot, summary: dict, replayed: bool) -> CycleResult:
        return CycleResult(
            cycle_id=snap.cycle_id,
            at=snap.at,
            orders=summary["orders"],
            filled=summary["filled_shares"],
            notional=summary["notional"],
            nav=summary["nav_at_bar_close"],
            halted=summary["halted"],
            refused=summary["refused"],
            replayed=replayed,
            latency_ms=summary.get("latency_ms"),
        )
