"""The desk's shadow records, after a cycle's fills: the analyst's forecasts (``shadow_signals``,
``agents.desk.shadow``) and the other agents' champions and challengers (``shadow_agents``,
``agents.desk.shadow_agents``), for the live gates and the rollback checks. Nothing in them
trades, and they are outside the decision's latency. A mixin of ``agents.desk.cycle.Desk``,
whose ``submit`` step calls it. No Dagster import."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from agents.desk.config import BARS_PER_DAY
from agents.desk.shadow import EVENT as SHADOW_EVENT
from agents.desk.shadow import shadow_payload
from agents.desk.shadow_agents import AGENTS, shadow_agents_payload, shadow_parts
from agents.desk.shadow_agents import EVENT as AGENTS_SHADOW_EVENT
from agents.desk.steps import Snapshot

if TYPE_CHECKING:
    from agents.desk.config import DeskConfig
    from agents.desk.models import DeskModels
    from agents.desk.recording import CycleRecorder
    from agents.desk.session import SessionPreparation
    from agents.messages import TradingSignal


class ShadowSteps:
    models: DeskModels
    config: DeskConfig
    recorder: CycleRecorder

    if TYPE_CHECKING:  # the desk's and its other mixins' (declared only: a stub would shadow)

        def session(self, snap: Snapshot) -> SessionPreparation: ...
        def anchor_weights(self, snap: Snapshot) -> pd.Series: ...
        def _analyst_views(self, snap: Snapshot) -> list[TradingSignal]: ...
        def _challenger_views(self, snap: Snapshot) -> list[TradingSignal] | None: ...
        def _shadow_books(self, snap: Snapshot, events: dict[str, dict]) -> dict | None: ...

    def _record_shadow(self, snap: Snapshot, events: dict[str, dict]) -> None:
        """After the cycle's fills: the analyst's forecasts as a ``shadow_signals`` event,
        the challenger's beside the champion's when one runs in shadow
        (``agents.desk.shadow``), for the live gate and the rollback check. Nothing in it
        trades; it is outside the decision's latency."""
        if snap.refused or snap.features is None:
            return
        payload = shadow_payload(
            snap, self._analyst_views(snap), self.models.versions.get("market_analyst"),
            self.models.shadow_analyst, self._challenger_views(snap),
            self._shadow_books(snap, events),
        )  # fmt: skip
        if payload is not None:
            self.recorder.emit(snap, SHADOW_EVENT, payload)

    def _record_agents_shadow(
        self, snap: Snapshot, events: dict[str, dict], fills: list[dict]
    ) -> None:
        """A registry's desk: what the risk, optimizer and execution champions forecast on
        this cycle, and each challenger registered beside its champion, as a
        ``shadow_agents`` event (``agents.desk.shadow_agents``) for the live gates and the
        rollback checks. Nothing in it trades."""
        registered = any(agent in self.models.versions for agent in AGENTS)
        if not registered or snap.refused or snap.features is None:
            return
        parts = shadow_parts(
            snap, self.session(snap), self.models, events,
            self._analyst_views(snap), fills, self.config.optimizer_lookback_days,
            1.0 / BARS_PER_DAY, self.anchor_weights(snap),
        )  # fmt: skip
        payload = shadow_agents_payload(snap, parts)
        if payload is not None:
            self.recorder.emit(snap, AGENTS_SHADOW_EVENT, payload)
