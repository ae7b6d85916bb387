"""Where the drift and backtest reports are kept: a folder, or an S3 prefix every machine
reaches (the distributed profile), so a report made by a run on any worker, or by the
daemon's drift sensor, is found in one place rather than on the disk that made it.

The libraries that make the reports save them only to a path (Evidently's HTML, the
backtest's tear sheet), so a report is written to a local file first: in the root's folder
itself, or, when the root is on S3, in a folder of this process's own, deleted when it
exits, and then kept on the store whole.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from features.parquet_store import S3_SCHEME, StoreRoot, put_file


@dataclass(frozen=True)
class ReportStore(StoreRoot):
    """Report files under a folder (``/home/reports``) or an S3 prefix
    (``s3://bucket/reports``), see ``StoreRoot``."""

    def local_path(self, kind: str, name: str) -> Path:
        """The file a report of ``kind`` (``drift``, ``backtest``) named ``name`` is written
        to; its folder exists."""
        base = _process_scratch() if self.on_s3 else Path(self.root)
        path = base / kind / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def keep(self, path: Path, kind: str) -> str:
        """Where readers find the report written at ``path``: that path, or (S3) the URI it
        is moved to under the root (the local file is deleted once the object is whole, so a
        long-lived process, such as the daemon's sensor, does not pile reports up)."""
        if not self.on_s3:
            return str(path)
        uri = put_file(str(path), f"{self.root.rstrip('/')}/{kind}/{path.name}", self.endpoint_url)
        path.unlink()
        return uri


def report_link(kept: str) -> str:
    """A kept report as a link for the UI: its ``s3://`` URI, or its file's ``file://`` URI."""
    return kept if kept.startswith(S3_SCHEME) else Path(kept).resolve().as_uri()


@functools.cache
def _process_scratch() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="quorum-reports-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
