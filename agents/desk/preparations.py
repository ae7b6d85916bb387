"""Session preparations kept between processes: prepared once before a session opens, loaded
by every cycle of it, whichever process runs the cycle.

Through the daemon every decision cycle is its own run and process, so a preparation held in
memory lives for one cycle only. A ``PreparationStore`` keeps each one as a file named by its
session and by the identity of everything it was prepared from (the feed's prices and
volumes, the universe, the models' registry versions, the risk limits, and the source of the
code that prepares it, so an upgrade never reads an older version's file): a file can only be
read back by a desk that would prepare exactly the same thing, so loading it changes speed,
never decisions. A desk whose models carry no registry version (built in code, as in
tests) has no identity to check and keeps its preparations in memory only.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pickle
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from agents.desk.session import SessionPreparation

# The modules whose code computes a preparation: any change to them is a new identity.
PREPARING_MODULES = (
    "agents.desk.preparations",
    "agents.desk.session",
    "agents.execution.impact",
    "agents.market_analyst.regime",
    "agents.risk_manager.agent",
    "agents.risk_manager.budget",
    "agents.risk_manager.hedge",
    "agents.risk_manager.measures",
    "agents.risk_manager.stress",
    "agents.universe_limits",
)
KEEP_FILES = 8  # the newest sessions' files; older ones are deleted as new ones are written


def frame_digest(frames: Sequence[pd.DataFrame]) -> str:
    """A digest of frames' labels and values (the feed's closes and volumes)."""
    digest = hashlib.blake2b(digest_size=16)
    for frame in frames:
        digest.update(repr((list(frame.columns), frame.shape)).encode())
        digest.update(frame.index.to_numpy().tobytes())
        digest.update(frame.to_numpy(dtype=float, na_value=float("nan")).tobytes())
    return digest.hexdigest()


@functools.cache
def code_digest() -> str:
    """A digest of the preparing modules' source (read once per process)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in PREPARING_MODULES:
        digest.update(Path(importlib.util.find_spec(name).origin).read_bytes())
    return digest.hexdigest()


def desk_identity(
    data_digest: str,
    symbols: Sequence[str],
    index_symbol: str | None,
    hedge_instrument: str | None,
    versions: dict[str, str],
    limits: object,
    sectors: dict[str, str],
) -> str | None:
    """What a preparation depends on besides its day; None when the models carry no
    registry versions (nothing identifies them)."""
    if not versions:
        return None
    parts = (
        code_digest(),
        data_digest,
        list(symbols),
        index_symbol,
        hedge_instrument,
        sorted(versions.items()),
        repr(limits),
        sorted(sectors.items()),
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


class PreparationStore:
    """One pickle per (session, desk identity) under ``root``; written atomically."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, day: date, identity: str) -> Path:
        return self.root / f"{day.isoformat()}-{identity}.pkl"

    def load(self, day: date, identity: str) -> SessionPreparation | None:
        try:
            with self.path(day, identity).open("rb") as handle:
                prepared = pickle.load(handle)
        except (FileNotFoundError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            return None  # never prepared, a write that died half way, or unreadable: prepare
        return prepared if isinstance(prepared, SessionPreparation) else None

    def save(self, prepared: SessionPreparation, identity: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(prepared.day, identity)
        handle, temporary = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            pickle.dump(prepared, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, target)  # a reader sees the whole file or none
        self._prune()
        return target

    def _prune(self) -> None:
        files = sorted(self.root.glob("*.pkl"), key=lambda p: p.stat().st_mtime)
        for stale in files[:-KEEP_FILES]:
            stale.unlink(missing_ok=True)
