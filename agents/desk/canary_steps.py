"""The desk's steps for the analyst's challenger: the canary's (``agents.desk.canary``) views
and shape, its record before the cycle and its settlement after the fills; and the book the
challenger would have traded to, for its shadow record (``agents.desk.shadow``). A mixin of
``agents.desk.cycle.Desk``, which calls them from its target and its submission; kept apart
so the cycle reads as its steps. No Dagster import."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from agents.desk import canary as canary_book
from agents.desk.shadow import would_be_book
from agents.desk.steps import Snapshot
from agents.messages import TradingSignal

if TYPE_CHECKING:
    from agents.desk.config import DeskConfig
    from agents.desk.ledger import EventLog
    from agents.desk.models import DeskModels
    from agents.desk.recording import CycleRecorder
    from agents.desk.session import SessionPreparation
    from agents.portfolio_optimizer.optimizer import PortfolioOptimizer


class CanarySteps:
    models: DeskModels
    config: DeskConfig
    optimizer: PortfolioOptimizer
    recorder: CycleRecorder
    log: EventLog
    symbols: list[str]
    hedge_instrument: str | None
    _challenger_memo: tuple[bytes, list[TradingSignal]] | None

    if TYPE_CHECKING:  # open_solve's and the desk's (declared only: a stub would shadow them)

        def anchor_weights(self, snap: Snapshot) -> pd.Series: ...
        def anchor_prices(self, snap: Snapshot) -> pd.Series: ...
        def session(self, snap: Snapshot) -> SessionPreparation: ...

    def _canary_views(self, snap: Snapshot) -> tuple[str, float, list[TradingSignal]] | None:
        """The canary's challenger version, share and views, when a canary runs."""
        challenger = self.models.shadow_analyst
        if not self.config.canary_share or challenger is None or snap.features is None:
            return None
        return challenger.version, self.config.canary_share, self._challenger_views(snap)

    def _challenger_views(self, snap: Snapshot) -> list[TradingSignal] | None:
        """The challenger's views, memoised on the feature values as the champion's are."""
        challenger = self.models.shadow_analyst
        if challenger is None or snap.features is None:
            return None
        key = snap.features.to_numpy().tobytes()
        if self._challenger_memo is None or self._challenger_memo[0] != key:
            self._challenger_memo = (key, challenger.analyst.views(snap.features, snap.regime))
        return self._challenger_memo[1]

    def _target_events(self, snap: Snapshot) -> dict[str, dict]:
        """This cycle's ``target_set`` (when it set one) and ``risk_budget`` payloads, by
        type, as the ledger holds them."""
        kinds = ["target_set", "risk_budget"]
        return {e.event_type: e.payload
                for e in self.log.read(cycle_id=snap.cycle_id, event_types=kinds)}  # fmt: skip

    def _canary_shape(
        self, snap: Snapshot, returns: pd.DataFrame, version: str, share: float,
        views: list[TradingSignal],
    ) -> canary_book.CanaryShape:  # fmt: skip
        """The optimizer's book on the challenger's views, anchored on the canary's own
        holdings (its turnover and costs are its own)."""
        book = self._canary_record(snap, version, share)
        prices = self.anchor_prices(snap)
        held = canary_book.held_weights(book, prices).reindex(self.symbols).fillna(0.0)
        proposal = self.optimizer.propose(returns, views, held, self.models.sectors)
        return canary_book.CanaryShape(
            version, share, proposal.weights.reindex(self.symbols).fillna(0.0)
        )

    def _canary_record(self, snap: Snapshot, version: str, share: float) -> dict:
        """The canary's record before this cycle: the ledger's, or a new one."""
        held = snap.state.canary
        if canary_book.is_current(held, version, share):
            return held
        return canary_book.opened(version, share, round(snap.nav * 100), snap.cycle_id)

    def _settle_canary(
        self, snap: Snapshot, events: dict[str, dict], fills: list[dict], closes: pd.Series
    ) -> None:
        """The canary's holdings after the fills, as a ``canary_book`` event; a canary whose
        challenger left (or whose share is now 0) closes, its holdings back in the main
        book."""
        held = snap.state.canary
        target = self._canary_target(snap, events)
        main = None
        if target is not None:
            book, wanted, main = target
        elif held and self._canary_runs(held):
            book, wanted = held, None  # no target this cycle: it follows the book pro rata
        elif held:
            why = "its challenger is no longer the registry's challenger, or the share is 0"
            book, wanted = canary_book.closed(held, why), None
        else:
            return
        if book.get("version") is not None:
            book = canary_book.settle(book, wanted, snap.state.positions, fills, snap.marks,
                                      self.hedge_instrument, main)  # fmt: skip
        nav_cents = snap.state.nav_cents(closes.to_dict())
        self.recorder.emit(snap, canary_book.EVENT,
                           canary_book.with_values(book, closes, nav_cents))  # fmt: skip

    def _canary_target(
        self, snap: Snapshot, events: dict[str, dict]
    ) -> tuple[dict, dict[str, int], dict[str, int]] | None:
        """The canary's record before the cycle, the shares it wants and those the main
        book wants (the book's target less the canary's), from this cycle's target and
        budget as the ledger holds them (``events``: the Dagster steps each load the
        snapshot as it was taken, so it carries neither)."""
        challenger, share = self.models.shadow_analyst, self.config.canary_share
        if not share or challenger is None or snap.refused:
            return None
        target = events.get("target_set") or snap.state.target  # or the one it reused
        canary = target.get("canary")
        if "risk_budget" not in events or not canary_book.is_current(
            canary or {}, challenger.version, share
        ):
            return None
        book = self._canary_record(snap, challenger.version, share)
        scale = float(events["risk_budget"]["scale"])
        wanted = canary_book.target_shares(
            book, pd.Series(canary["weights"], dtype=float), scale, snap.prices
        )
        whole = {"cash_cents": round(snap.nav * 100)}  # the book's target on its own value
        book_wanted = canary_book.target_shares(
            whole, pd.Series(target["weights"], dtype=float), scale, snap.prices
        )
        main = {s: q - wanted.get(s, 0) for s, q in book_wanted.items()}
        return book, wanted, main | {s: -q for s, q in wanted.items() if s not in main}

    def _shadow_books(self, snap: Snapshot, events: dict[str, dict]) -> dict | None:
        """When this cycle set the champion's target and a challenger runs in shadow: the
        book the challenger's views would have traded to (the canary's shape when a canary
        runs, else the optimizer on its views and the book's holdings) beside the
        champion's, at this cycle's budget (``agents.desk.shadow.would_be_book``)."""
        challenger = self.models.shadow_analyst
        if challenger is None:
            return None
        if len(events) < 2:
            return None
        target, scale = events["target_set"], float(events["risk_budget"]["scale"])
        canary = target.get("canary") or {}
        ours = pd.Series(canary.get("main_weights", target["weights"]), dtype=float)
        if canary.get("version") == challenger.version:
            theirs = pd.Series(canary["weights"], dtype=float)
        else:
            returns = self._optimizer_window(self.session(snap))
            views = self._challenger_views(snap)
            anchor = self.anchor_weights(snap)
            proposal = self.optimizer.propose(returns, views, anchor, self.models.sectors)
            theirs = proposal.weights
        names = self.symbols
        return would_be_book(snap, ours.reindex(names).fillna(0.0),
                             theirs.reindex(names).fillna(0.0), scale)  # fmt: skip

    def _canary_runs(self, book: dict) -> bool:
        challenger = self.models.shadow_analyst
        share = self.config.canary_share
        return challenger is not None and canary_book.is_current(book, challenger.version, share)
