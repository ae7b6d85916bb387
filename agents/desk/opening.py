"""What a cycle's snapshot does before any decision: open the session (the daily loss
baseline, the session's features published), score the agents on what the prices did since
the last decision, and read the features. Each records its own events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np

from agents.consensus.engine import ConsensusEngine
from agents.desk.financing import financing_payload
from agents.desk.recording import CycleRecorder
from agents.desk.session import FeatureRead, FeatureReader, read_features
from agents.desk.steps import Snapshot

SessionHook = Callable[[date], None]


def publish_session_features(snap: Snapshot, hook: SessionHook, when: str) -> bool:
    """Run the session-open hook; if the online store cannot take the writes, refuse this
    cycle (the reason goes into its decision) instead of failing the run."""
    try:
        hook(snap.day)
    except Exception as error:
        snap.refused = snap.refused or (  # the first reason found is the one recorded
            f"online feature store unwritable {when}: {type(error).__name__}: {error}"
        )
        return False
    return True


def open_session(
    snap: Snapshot,
    recorder: CycleRecorder,
    hook: SessionHook | None,
    short_financing_annual: float = 0.0,
) -> None:
    """The daily loss limit's baseline: NAV at the previous close when a session opens,
    and NAV now after a person clears a halt (the loss behind it is acknowledged).
    A session whose features could not be published is not opened: the next cycle
    tries again, and takes the same baseline (the previous close's). Opening a session
    first books the financing of any short over the closes since the last opened session."""
    state = snap.state
    if state.day != str(snap.day):
        if hook is not None and not publish_session_features(snap, hook, "at session open"):
            return
        financing = financing_payload(
            state.positions, snap.history, state.day, snap.day, short_financing_annual
        )
        if financing is not None:
            recorder.emit(snap, "financing", financing)
        closes = snap.closes.reindex(list(state.positions)).to_dict()
        nav = state.nav_cents(closes) if state.positions else state.cash_cents
        recorder.emit(snap, "loss_baseline", {
            "day": str(snap.day), "nav_cents": nav, "reason": "session open"
        })  # fmt: skip
    elif state.rebase_pending:
        recorder.emit(snap, "loss_baseline", {
            "day": str(snap.day), "nav_cents": state.nav_cents(snap.marks.to_dict()),
            "reason": "halt cleared",
        })  # fmt: skip


def score_agents(snap: Snapshot, recorder: CycleRecorder, consensus: ConsensusEngine) -> None:
    """Each agent's last votes scored by the price moves since (the adaptive weights)."""
    last = snap.state.last_decision
    if not last or not last.get("votes"):
        return
    realised = {
        s: float(snap.prices[s] / p - 1)
        for s, p in last["prices"].items()
        if s in snap.prices and np.isfinite(snap.prices[s])
    }
    scores, weights, accuracy = consensus.rescore(
        snap.state.agent_scores, last["votes"], last["directions"], realised
    )
    recorder.emit(snap, "agents_scored", {
        "scores": scores, "weights": weights, "accuracy": accuracy,
        "scored_cycle": last["cycle_id"],
    })  # fmt: skip


def load_features(
    snap: Snapshot, reader: FeatureReader, hook: SessionHook | None, min_coverage: float
) -> None:
    """The snapshot's features; when too few are fresh and the desk can publish them (the
    store lost its keys: a restarted Redis keeps nothing), publish once and read again;
    still too few, and the cycle refuses to trade."""
    _apply(snap, read_features(reader, snap.symbols, snap.at))
    if snap.refused is None and snap.feature_coverage < min_coverage and hook is not None:
        publish_session_features(snap, hook, "republishing lost features")
        if snap.refused is None:
            snap.republished_features = True
            _apply(snap, read_features(reader, snap.symbols, snap.at))
    if snap.refused is None and snap.feature_coverage < min_coverage:
        snap.refused = (
            f"fresh online features for {snap.feature_coverage:.0%} of symbols at "
            f"{snap.at.isoformat()} (< {min_coverage:.0%}): missing or stale"
        )


def _apply(snap: Snapshot, read: FeatureRead) -> None:
    snap.features = read.features
    if read.error is None:
        snap.features_newest = read.newest
    snap.feature_coverage = read.coverage
    if read.error:
        snap.refused = snap.refused or read.error  # the first reason found is recorded
