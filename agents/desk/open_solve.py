"""The session's rebalance, anchored on the previous close and solved before the open.

The open is the one cycle of a session with new signals, so it is the one that solves the
mean-risk book again (about 1 s at 500 names: Clarabel, cvxpy's compilation and the
Black-Litterman prior). The solve reads the views (from the previous close's features and
the session's regime), the return window (to the previous close) and the book it starts
from, whose turnover limit and costs it weighs. With ``DeskConfig.rebalance_anchor``
"close", that book is the one that stood at the previous close, so everything the solve reads
is known before the open: ``Desk.before_the_open`` solves it then, as a desk that rebalances
overnight does, and the open cycle finds it by its inputs.

The open cycle looks the proposal up by everything it was solved from (the session, the
signals and the anchor's weights, exactly); on any difference (features that
changed, a canary's views, a book moved since) it solves afresh. So solving early changes
the open's latency, never its decision. "open" anchors on the book at the cycle's prices, as
the desk did before; it cannot be solved before the open. A mixin of
``agents.desk.cycle.Desk``. No Dagster import."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from agents.desk.session import read_features
from agents.desk.state import current
from agents.desk.steps import Snapshot

if TYPE_CHECKING:
    from agents.desk.config import DeskConfig
    from agents.desk.feed import MarketDataFeed
    from agents.desk.ledger import EventLog
    from agents.desk.models import DeskModels
    from agents.desk.opening import SessionHook
    from agents.desk.session import FeatureReader, SessionPreparation
    from agents.messages import TradingSignal
    from agents.portfolio_optimizer.optimizer import PortfolioOptimizer, Proposal


class OpeningSolve:
    models: DeskModels
    config: DeskConfig
    optimizer: PortfolioOptimizer
    log: EventLog
    feed: MarketDataFeed
    reader: FeatureReader
    symbols: list[str]
    on_session_open: SessionHook | None
    _solved: tuple[tuple, Proposal] | None
    _published_for: date | None

    if TYPE_CHECKING:  # the desk's (declared only: a stub here would shadow them)

        def _optimizer_window(self, session: SessionPreparation) -> pd.DataFrame: ...
        def _analyst_views(self, snap: Snapshot) -> list[TradingSignal]: ...

    def anchor_weights(self, snap: Snapshot) -> pd.Series:
        """The book the session's rebalance starts from (``DeskConfig.rebalance_anchor``)."""
        return snap.closing_shape if self.config.rebalance_anchor == "close" else snap.weights

    def anchor_prices(self, snap: Snapshot) -> pd.Series:
        """The prices that book is valued at."""
        if self.config.rebalance_anchor == "close" and snap.closes is not None:
            return snap.closes
        return snap.prices

    def _proposal(
        self, day: date, returns: pd.DataFrame, signals: list[TradingSignal], anchor: pd.Series
    ) -> Proposal:
        """The optimizer's proposal, solved once for the same inputs. The window is the
        session's (a function of ``day`` for this desk), so the key holds the session, the
        signals and the anchor, each exactly."""
        views = tuple((s.symbol, s.signal, s.confidence, s.expected_return) for s in signals)
        key = (day, views, tuple(anchor.index), anchor.to_numpy().tobytes())
        if self._solved is None or self._solved[0] != key:
            proposal = self.optimizer.propose(returns, signals, anchor, self.models.sectors)
            self._solved = (key, proposal)
        return self._solved[1]

    def published_before_open(self, day: date) -> bool:
        """Whether this desk published the session's features before its open; its open
        cycle then reads them without writing the same rows again (about 25 ms at 500
        names)."""
        return self._published_for == day

    def solve_before_open(self, day: date, preparation: SessionPreparation) -> bool:
        """Solve the session's first rebalance before its open, as the open cycle will
        (the same features read, views and anchor), when the desk anchors on the close and
        the session has not opened yet. False when it was not solved: the open cycle then
        solves it itself. Without a canary only (its views and book are its own)."""
        if self.config.rebalance_anchor != "close" or self.config.canary_share:
            return False
        state = current(self.log)
        if state.day == str(day) or state.open_cycles:  # opened already, or a cycle to resume
            return False
        at = self.feed.cycle_times(day)[0]
        snap = Snapshot("before the open", at, day, self.symbols, state)
        snap.history = self.feed.history(day)
        if self.on_session_open is not None:
            try:  # the features the open publishes: the previous close's, published early
                self.on_session_open(day)
            except Exception:  # the open cycle publishes again and refuses if it still fails
                return False
            self._published_for = day
        read = read_features(self.reader, self.symbols, at)
        if read.error or read.coverage < self.config.min_feature_coverage:
            return False
        snap.features, snap.regime = read.features, preparation.regime
        signals = self._analyst_views(snap)
        self._proposal(day, self._optimizer_window(preparation), signals, snap.closing_shape)
        return True
