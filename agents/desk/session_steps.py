"""The desk's sessions: the paper day (every cycle of the replay clock's next session), the
clock itself, and the session's preparation (``agents.desk.session``), prepared or loaded
once a session, before its open when the caller can (``before_the_open``), with the rest of
what depends only on the previous close. A mixin of ``agents.desk.cycle.Desk``. No Dagster
import."""

from __future__ import annotations

import gc
from datetime import date, datetime
from typing import TYPE_CHECKING

from agents.desk.preparations import desk_identity, frame_digest
from agents.desk.session import SessionPreparation, prepare_session
from agents.desk.state import current
from agents.desk.steps import Snapshot

if TYPE_CHECKING:
    import pandas as pd

    from agents.desk.feed import MarketDataFeed
    from agents.desk.ledger import EventLog
    from agents.desk.models import DeskModels
    from agents.desk.opening import SessionHook
    from agents.desk.preparations import PreparationStore
    from agents.desk.steps import CycleResult
    from agents.portfolio_optimizer.optimizer import PortfolioOptimizer
    from agents.risk_manager.agent import RiskManager


class SessionSteps:
    models: DeskModels
    feed: MarketDataFeed
    log: EventLog
    optimizer: PortfolioOptimizer
    risk_manager: RiskManager
    preparations: PreparationStore | None
    before_open: SessionHook | None
    symbols: list[str]
    index_symbol: str | None
    hedge_instrument: str | None
    _session: SessionPreparation | None

    if TYPE_CHECKING:  # the desk's and its other mixins' (declared only: a stub would shadow)

        def run_cycle(self, at: datetime) -> CycleResult: ...
        def _optimizer_window(self, session: SessionPreparation) -> pd.DataFrame: ...
        def solve_before_open(self, day: date, preparation: SessionPreparation) -> bool: ...

    def run_session(self) -> list[CycleResult]:
        """A paper day: every remaining cycle of the replay clock's next session, prepared
        before its open."""
        at = self.next_cycle_time()
        if at is None:
            return []
        day = self.feed.session_of(at)
        self.before_the_open(day)
        times = self.feed.cycle_times(day)
        return [self.run_cycle(t) for t in times if t >= at]

    def next_cycle_time(self) -> datetime | None:
        """The replay clock: a cycle whose orders were recorded but never filled (its run
        died) if there is one, else the first decision time after the last completed cycle."""
        state = current(self.log)
        if state.open_cycles:
            return datetime.fromisoformat(min(state.open_cycles.values()))
        last = datetime.fromisoformat(state.last_market_time) if state.last_market_time else None
        return self.feed.next_cycle_time(last)

    def session(self, snap: Snapshot) -> SessionPreparation:
        return self.prepare(snap.day)

    def before_the_open(self, day: date) -> SessionPreparation:
        """The session's preparation, the optimizer's covariance on its window, the feed's
        day (``ready``: the replay's bars), the open's rebalance solved (its features
        published) and the ledger's checkpoint, then a full garbage collection, after which
        everything alive (models, preparation, feature store) is frozen out of later
        collections. Why: a full collection scans every object the process holds; at 500
        names each took 270-290 ms and landed inside an intraday cycle now and then. During
        the session only the session's own objects are scanned; unfreezing first lets the
        previous session's objects go."""
        preparation = self.prepare(day)
        self.optimizer.prepare(self._optimizer_window(preparation))
        ready = getattr(self.feed, "ready", None)  # optional for a feed (see MarketDataFeed)
        if ready is not None:
            ready(day)
        self.solve_before_open(day, preparation)
        self.log.checkpoint()  # the ledger's upkeep, here rather than inside a cycle's append
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        return preparation

    def prepare(self, day: date) -> SessionPreparation:
        """The session's preparation (a pure function of the data before it): held for the
        session, loaded from ``preparations`` when a process prepared it already, else
        prepared and stored. Called before the open, it leaves the open cycle the work of
        an intraday cycle; a cycle that finds none prepares it itself."""
        if self._session is not None and self._session.day == day:
            return self._session
        if self.before_open is not None:
            self.before_open(day)
        history, volumes = self.feed.history(day), self.feed.history(day, "volume")
        identity = None
        if self.preparations is not None:
            identity = desk_identity(
                frame_digest([history, volumes]), self.symbols, self.index_symbol,
                self.hedge_instrument, self.models.versions, self.models.risk_limits,
                self.models.sectors,
            )  # fmt: skip
        stored = self.preparations.load(day, identity) if identity else None
        self._session = stored or prepare_session(
            day, history, volumes, self.symbols, self.index_symbol,
            self.models, self.risk_manager, self.hedge_instrument,
        )  # fmt: skip
        if identity and stored is None:
            self.preparations.save(self._session, identity)
        return self._session
