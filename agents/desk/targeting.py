"""The desk's target: the optimizer's book for the analyst's views (solved once for the same
inputs, ``agents.desk.open_solve``), blended with the canary's when one trades, recorded as
``target_set`` and reused while the views are unchanged; sized by the Risk Manager's budget;
and the rebalancing_order message from the book to it. A mixin of ``agents.desk.cycle.Desk``,
whose ``propose`` step calls it. No Dagster import."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from agents.desk import canary as canary_book
from agents.desk.payloads import budget_payload, target_payload
from agents.desk.steps import Snapshot, Target
from agents.messages import MessageType, TradingSignal

if TYPE_CHECKING:
    from agents.desk.config import DeskConfig
    from agents.desk.models import DeskModels
    from agents.desk.recording import CycleRecorder
    from agents.desk.session import SessionPreparation
    from agents.portfolio_optimizer.optimizer import PortfolioOptimizer, Proposal


def _fingerprint(day: date, signals: list[TradingSignal]) -> str:
    text = "|".join(
        f"{s.symbol}:{s.signal}:{s.confidence:.6f}:{s.expected_return:.8f}" for s in signals
    )
    return hashlib.sha256(f"{day}|{text}".encode()).hexdigest()[:16]


class TargetSteps:
    models: DeskModels
    config: DeskConfig
    optimizer: PortfolioOptimizer
    recorder: CycleRecorder
    symbols: list[str]

    if TYPE_CHECKING:  # the desk's and its other mixins' (declared only: a stub would shadow)

        def session(self, snap: Snapshot) -> SessionPreparation: ...
        def anchor_weights(self, snap: Snapshot) -> pd.Series: ...
        def _canary_views(self, snap: Snapshot) -> tuple[str, float, list] | None: ...
        def _canary_shape(self, snap: Snapshot, returns, *views) -> canary_book.CanaryShape: ...
        def _proposal(self, day: date, returns, signals, anchor) -> Proposal: ...

    def rebalancing(self, snap: Snapshot, target: Target) -> Target:
        """The target with the optimizer's rebalancing_order to it, sent (recorded)."""
        held = pd.Series(snap.state.positions, dtype=float).reindex(self.symbols).fillna(0.0)
        message = self.optimizer.orders(
            target.weights, snap.weights, held, snap.prices, snap.nav, snap.at,
            cycle_id=snap.cycle_id, method=target.method, conviction=target.conviction,
            model_version=self.models.versions.get("portfolio_optimizer"),
        )  # fmt: skip
        self.recorder.sent(snap, MessageType.REBALANCING_ORDER, [message])
        return replace(target, message=message)

    def _target(self, snap: Snapshot, signals: list[TradingSignal]) -> Target:
        fingerprint = _fingerprint(snap.day, signals)
        canary = self._canary_views(snap)
        if canary is not None:
            views = {v.symbol: v.expected_return for v in canary[2]}
            fingerprint = canary_book.fingerprint(fingerprint, canary[0], canary[1], views)
        target = snap.state.target
        if target.get("fingerprint") == fingerprint:
            shape = pd.Series(target["weights"], dtype=float).reindex(self.symbols).fillna(0.0)
            return self._sized(snap, Target(shape, target["method"], target["conviction"], True))
        returns = self._optimizer_window(self.session(snap))
        proposal = self._proposal(snap.day, returns, signals, self.anchor_weights(snap))
        active = [s for s in signals if s.signal != "HOLD" and s.symbol in returns.columns]
        conviction = (
            float(np.mean([s.confidence for s in active]))
            if proposal.method == "black_litterman_mean_risk"
            else 0.5
        )
        weights = proposal.weights.reindex(self.symbols).fillna(0.0)
        main = weights
        if canary is not None:  # the whole book: the champion's shape blended with the canary's
            shape = self._canary_shape(snap, returns, *canary)
            weights = canary_book.blend(main, shape).reindex(self.symbols).fillna(0.0)
        version = self.models.versions.get("portfolio_optimizer")
        payload = target_payload(snap, fingerprint, proposal, weights, conviction, version)
        if canary is not None:
            payload["canary"] = {
                "version": shape.version, "share": shape.share,
                "weights": {s: float(w) for s, w in shape.weights.items() if w},
                "main_weights": {s: float(w) for s, w in main.items() if w},
            }  # fmt: skip
        self.recorder.emit(snap, "target_set", payload)
        return self._sized(snap, Target(weights, proposal.method, conviction, reused=False))

    def _optimizer_window(self, session: SessionPreparation) -> pd.DataFrame:
        """The daily returns the optimizer reads: the lookback's days before the session,
        the names with a return on every one of them."""
        window = session.returns[self.symbols].tail(self.config.optimizer_lookback_days)
        return window.dropna(axis=1)

    def _sized(self, snap: Snapshot, shape: Target) -> Target:
        """The Risk Manager's budget on the optimizer's shape: the size at which the book's
        forecast volatility meets the target, cut in a stressed regime and in a drawdown.
        It depends only on the session (its covariance, regime and opening drawdown), so
        every cycle of a session sizes the same shape the same way."""
        budget = self.session(snap).budget(shape.weights, snap.regime, snap.state.drawdown)
        self.recorder.emit(snap, "risk_budget", budget_payload(budget))
        return replace(shape, weights=shape.weights * budget.scale, budget=budget)
