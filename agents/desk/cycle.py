"""One decision cycle of the desk, as steps: snapshot -> signals -> proposal -> risk ->
execution plan -> consensus decision -> orders and fills.

The Dagster assets call one step each, and each step appends its own events;
``Desk.run_cycle`` calls them in order (the benchmark and the backtest use it) and writes
its events in two transactions, decisions and orders before any fill. Either way a step that
fails leaves the audit trail of the steps before it. Every event id is derived from the cycle
id, and a cycle reads the desk's state without its own events: running a cycle id again
writes nothing new and sends no order twice.

Work that depends only on the day (the risk model's draws, the regime, impact calibration)
is a ``SessionPreparation`` (``agents.desk.session``), prepared once per session and kept in
memory; recomputing it gives the same numbers, so keeping it changes speed, never decisions.
The optimizer's target is recorded in the ledger and reused while the analyst's signals are
unchanged (they move with the daily features). This module holds the first steps and the
cycle's order; the rest lives beside it: the consensus decision and the submission in
``agents.desk.decision_steps``, the desk's settings in ``agents.desk.config``, the target in
``agents.desk.targeting``, the sessions and their preparation in ``agents.desk.session_steps``,
the shadow records in ``agents.desk.shadow_steps``, the canary in ``agents.desk.canary_steps``,
recording in ``agents.desk.recording``, the session's opening in ``agents.desk.opening``, the
breakers in ``agents.desk.breakers``.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from agents.consensus.engine import ConsensusEngine
from agents.desk.breakers import CircuitBreakers
from agents.desk.broker import PaperBroker
from agents.desk.canary_steps import CanarySteps
from agents.desk.config import BARS_PER_DAY, REBALANCE_ANCHORS, DeskConfig
from agents.desk.decision_steps import DecisionSteps
from agents.desk.feed import MarketDataFeed
from agents.desk.hedging import hedge_instrument_of
from agents.desk.ledger import Event, EventLog
from agents.desk.models import DeskModels
from agents.desk.open_solve import OpeningSolve
from agents.desk.opening import SessionHook, load_features, open_session, score_agents
from agents.desk.payloads import risk_payload, signals_payload
from agents.desk.preparations import PreparationStore
from agents.desk.recording import CycleRecorder
from agents.desk.session import FeatureReader, SessionPreparation
from agents.desk.session_steps import SessionSteps
from agents.desk.shadow_steps import ShadowSteps
from agents.desk.state import DeskState, current
from agents.desk.steps import (
    CycleDecision,
    CycleResult,
    ExecutionPlan,
    RiskView,
    Snapshot,
    Target,
    timed_step,
)
from agents.desk.targeting import TargetSteps
from agents.execution.agent import ExecutionAgent
from agents.execution.venues import load_venues
from agents.market_analyst.agent import MarketAnalyst
from agents.messages import Envelope, MessageType, TradingSignal
from agents.portfolio_optimizer.optimizer import PortfolioOptimizer, Proposal
from agents.risk_manager.agent import RiskManager
from agents.universe_limits import position_cap


def cycle_id_for(feed_name: str, at: datetime) -> str:
    return f"{feed_name}-{at:%Y%m%dT%H%MZ}"


class Desk(SessionSteps, TargetSteps, DecisionSteps, ShadowSteps, CanarySteps, OpeningSolve):
    def __init__(
        self,
        models: DeskModels,
        feed: MarketDataFeed,
        reader: FeatureReader,
        log: EventLog,
        config: DeskConfig | None = None,
        index_symbol: str | None = None,
        on_session_open: SessionHook | None = None,
        preparations: PreparationStore | None = None,
        before_open: SessionHook | None = None,
    ) -> None:
        """``on_session_open(day)`` runs before the first cycle of each session reads its
        features; the replay publishes the previous close's features there.
        ``preparations``: where session preparations are kept for other processes (each
        decision run through the daemon is its own process); None keeps them in memory.
        ``before_open(day)`` runs when a session is prepared: the replay reads there the
        features it publishes at the open."""
        self.preparations = preparations
        self.before_open = before_open
        self.models = models
        self.on_session_open = on_session_open
        self.feed = feed
        self.reader = reader
        self.log = log
        self.recorder = CycleRecorder(log)
        self.config = config or DeskConfig()
        self.index_symbol = index_symbol
        self.hedge_instrument = hedge_instrument_of(models, feed.symbols, index_symbol)
        self.symbols = [s for s in feed.symbols if s not in (index_symbol, self.hedge_instrument)]
        self.analyst = MarketAnalyst(models.signal_model, models.signal_policy)
        self.optimizer = PortfolioOptimizer(models.optimizer_config)
        self.risk_manager = RiskManager(models.risk_limits)
        limits = models.risk_limits
        self.position_cap = position_cap(
            len(self.symbols), limits.max_weight, limits.position_multiple
        )
        self.breakers = CircuitBreakers(self.config.breakers, self.position_cap)
        self.consensus = ConsensusEngine(self.config.consensus)
        self.broker = PaperBroker(
            ExecutionAgent(
                models.execution_policy,
                models.execution_rl,
                counterfactuals=self.config.execution_counterfactuals,
                rl_to_compare=models.execution_rl_to_compare,
            ),
            self.config.commission,
        )
        self.venues = load_venues(self.config.venues_file) if self.config.venues_file else None
        self._session: SessionPreparation | None = None
        self._views: tuple[bytes, list[TradingSignal]] | None = None  # memoised per features
        self._sent_signals: tuple[tuple[Envelope, ...], list[dict]] | None = None  # as sent
        self._challenger_memo: tuple[bytes, list[TradingSignal]] | None = None  # likewise
        self._settled: DeskState | None = None  # the state the last completed cycle left
        self._solved: tuple[tuple, Proposal] | None = None  # the last proposal, by its inputs
        self._published_for: date | None = None  # the session published before its open
        if self.config.rebalance_anchor not in REBALANCE_ANCHORS:
            raise ValueError(
                f"DeskConfig.rebalance_anchor={self.config.rebalance_anchor!r}: "
                f"expected one of {REBALANCE_ANCHORS}"
            )

    # ---- the cycle's steps -------------------------------------------------------------

    @timed_step
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
        snap.marks = pd.Series(bar.open, index=self.feed.symbols)
        snap.prices = snap.marks.reindex(self.symbols)
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
            self.recorder.record(snap, [Event("account/opened", "account", "account_opened", at,
                                              {"cash_cents": cash})])  # fmt: skip
        financing = self.models.risk_limits.short_financing_annual
        # Published before the open by this desk: the open cycle does not write it again.
        publish = None if self.published_before_open(day) else self.on_session_open
        open_session(snap, self.recorder, publish, financing)
        score_agents(snap, self.recorder, self.consensus)
        load_features(snap, self.reader, self.on_session_open, self.config.min_feature_coverage)
        snap.regime = self.session(snap).regime
        return snap

    @timed_step
    def signals(self, snap: Snapshot) -> list[Envelope]:
        """The analyst's trading_signal messages, one per name; none when the cycle refused
        to trade on its features."""
        if snap.completed is not None:
            return []
        signals = [] if snap.refused else self._analyst_views(snap)
        version = self.models.versions.get("market_analyst")
        messages = self.analyst.send(signals, snap.at, snap.cycle_id, version)
        forms = self.recorder.sent(snap, MessageType.TRADING_SIGNAL, messages)
        self._sent_signals = (tuple(messages), forms)
        mean = float(np.mean([s.confidence for s in signals])) if signals else None
        previous = snap.state.mean_confidence
        if mean is None or previous is None:
            smoothed = previous if mean is None else mean
        else:  # the confidence breaker compares a cycle with this slow average
            smoothed = 0.9 * previous + 0.1 * mean
        payload = signals_payload(snap, signals, mean, smoothed, version)
        self.recorder.emit(snap, "signals", payload)
        return messages

    @timed_step
    def propose(self, snap: Snapshot, messages: list[Envelope]) -> Target:
        """The optimizer's target, sized by the risk budget, and its rebalancing_order
        message: the orders from the book to the target."""
        if snap.refused or snap.completed is not None:  # hold the book: no new target
            return Target(snap.weights, "hold (cycle refused or completed)", 0.0, reused=True)
        return self.rebalancing(snap, self._target(snap, [m.payload for m in messages]))

    @timed_step
    def assess(self, snap: Snapshot, target: Target) -> RiskView:
        session = self.session(snap)
        hedged = None
        if session.hedge is not None:
            hedged = session.hedge.book(
                target.weights, session.risk.covariance, session.risk.symbols
            )
        assessment = session.risk.assess(target.weights, hedged)
        self.recorder.emit(snap, "risk_assessment", risk_payload(assessment))
        message = self.risk_manager.message(
            assessment, target.weights, snap.at, cycle_id=snap.cycle_id,
            position_cap=self.position_cap,
            model_version=self.models.versions.get("risk_manager"),
        )  # fmt: skip
        self.recorder.sent(snap, MessageType.RISK_ASSESSMENT, [message])
        return RiskView(assessment, message)

    @timed_step
    def plan_execution(self, snap: Snapshot, target: Target) -> ExecutionPlan:
        """The execution agent's expected cost of each order of the rebalancing order."""
        orders = target.message.payload.orders if target.message is not None else []
        symbols = [o.symbol for o in orders]
        shares = pd.Series([o.quantity for o in orders], index=symbols, dtype=float)
        prices = snap.prices
        impact = self.session(snap).impact
        half_spread = self.models.execution_policy.half_spread
        costs = np.array([
            impact[s].expected_cost(shares[s], 1.0 / BARS_PER_DAY, half_spread) for s in symbols
        ])  # fmt: skip
        plan = ExecutionPlan(
            symbols=symbols,
            direction=np.array([1.0 if o.action == "BUY" else -1.0 for o in orders]),
            shares=shares.to_numpy(dtype=int),
            expected_cost=costs,
        )
        notional = float((plan.shares * prices[symbols].to_numpy()).sum())
        self.recorder.emit(snap, "execution_plan", {
            "orders": len(symbols),
            "notional": notional,
            "expected_cost_bp": float(
                (costs * plan.shares * prices[symbols].to_numpy()).sum() / notional * 1e4
            ) if notional else 0.0,
            "algorithm": "chosen per order when it trades (each fill records its schedule)",
        })  # fmt: skip
        return plan

    # ---- running ------------------------------------------------------------------------

    def run_cycle(self, at: datetime) -> CycleResult:
        with self.recorder.one_append_per_phase():
            snap = self.snapshot(at)
            if snap.completed is not None:
                return self.submit(snap, CycleDecision(False, [], []))
            signals = self.signals(snap)
            target = self.propose(snap, signals)
            risk = self.assess(snap, target)
            plan = self.plan_execution(snap, target)
            decision = self.decide(snap, signals, target.message, risk.message, plan)
            return self.submit(snap, decision)

    # ---- helpers ------------------------------------------------------------------------

    def _analyst_views(self, snap: Snapshot) -> list[TradingSignal]:
        """Memoised on the feature values: intraday they change once a session."""
        key = snap.features.to_numpy().tobytes()
        if self._views is None or self._views[0] != key:
            self._views = (key, self.analyst.views(snap.features, snap.regime))
        return self._views[1]
