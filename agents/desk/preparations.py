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

import contextlib
import functools
import hashlib
import importlib.util
import pickle
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from agents.desk.session import SessionPreparation
from features.parquet_store import S3_SCHEME, resolve, write_whole

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
    """One pickle per (session, desk identity) under ``root``: a folder, or (the distributed
    profile) an ``s3://`` prefix on the store at ``endpoint_url``, which the runs on every
    worker reach. A reader sees a whole file or none: a local file is written beside and
    renamed over; an S3 object appears whole when its upload completes."""

    def __init__(self, root: Path | str, endpoint_url: str | None = None) -> None:
        self.on_s3 = str(root).startswith(S3_SCHEME)
        self.root: Path | str = str(root).rstrip("/") if self.on_s3 else Path(root)
        self.endpoint_url = endpoint_url

    def path(self, day: date, identity: str) -> Path | str:
        name = f"{day.isoformat()}-{identity}.pkl"
        return f"{self.root}/{name}" if self.on_s3 else Path(self.root) / name

    def load(self, day: date, identity: str) -> SessionPreparation | None:
        """The stored preparation, or None when there is none to read (never prepared, a
        write that died half way, or a file this code cannot read). A store that cannot be
        reached raises its own error: the run fails saying so rather than quietly preparing
        on every cycle."""
        filesystem, path = resolve(str(self.path(day, identity)), self.endpoint_url)
        try:
            with filesystem.open_input_stream(path) as handle:
                prepared = pickle.load(handle)
        except (FileNotFoundError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            return None
        return prepared if isinstance(prepared, SessionPreparation) else None

    def save(self, prepared: SessionPreparation, identity: str) -> Path | str:
        target = self.path(prepared.day, identity)
        write_whole(
            str(target),
            self.endpoint_url,
            lambda out: pickle.dump(prepared, out, protocol=pickle.HIGHEST_PROTOCOL),
        )
        self._prune(keeping=str(target))
        return target

    def stored(self) -> list[str]:
        """The stored preparations' paths on their filesystem, oldest first."""
        from pyarrow import fs

        filesystem, path = resolve(str(self.root), self.endpoint_url)
        found = filesystem.get_file_info(fs.FileSelector(path, allow_not_found=True))
        files = [f for f in found if f.type == fs.FileType.File and f.path.endswith(".pkl")]
        return [f.path for f in sorted(files, key=lambda f: f.mtime)]

    def _prune(self, keeping: str) -> None:
        """Deletes the oldest files beyond KEEP_FILES, never ``keeping`` (the one just
        written: an S3 store's times are whole seconds, so it may tie with older ones)."""
        filesystem, kept = resolve(keeping, self.endpoint_url)
        others = [path for path in self.stored() if path != kept]
        for stale in others[: max(0, len(others) - (KEEP_FILES - 1))]:
            with contextlib.suppress(FileNotFoundError):  # another process pruned it first
                filesystem.delete_file(stale)
