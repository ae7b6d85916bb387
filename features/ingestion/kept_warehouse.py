"""The warehouse's DuckDB file handed from step to step through a store, for a profile whose
steps share no disk (distributed: each Celery worker, on any machine, has its own folder).

Ingestion appends to the warehouse and dbt transforms it: two steps, which may run on two
workers. Each fetches the kept file into its own folder before it writes and keeps its result
after it succeeded, so a failed step leaves the last good warehouse on the store. The file
moves whole: DuckDB 2.0 (the lock's) cannot load ``httpfs`` offline to attach it on S3
(docs/operations.md). Concurrent writers are not merged: the run queue's limit on the tag
``quorum/batch`` runs one batch at a time (``orchestration/instance.py``).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from features.parquet_store import get_file, put_file


def _wal(path: Path) -> Path:
    return path.with_name(f"{path.name}.wal")


def fetch_warehouse(path: Path, uri: str, endpoint_url: str | None = None) -> bool:
    """The kept warehouse at ``uri`` copied to ``path``, replacing what is there; False when
    nothing is kept yet, and then ``path`` (a warehouse carried over, or none) is left as it
    is, so that switching a home to a store loses nothing."""
    if not get_file(uri, str(path), endpoint_url):
        return False
    # A log left by an unclean close of the replaced file: replayed onto the fetched one it
    # would apply the old file's writes to the new file.
    _wal(path).unlink(missing_ok=True)
    return True


def keep_warehouse(path: Path, uri: str, endpoint_url: str | None = None) -> str:
    """``path`` kept whole at ``uri``; returns ``uri``. Checkpointed first, so the kept file
    holds every committed write and no write-ahead log is needed beside it."""
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path} to keep at {uri}")
    with duckdb.connect(str(path)) as con:
        con.execute("checkpoint")
    if _wal(path).exists():
        raise RuntimeError(f"{_wal(path)} outlived a checkpoint: another process holds {path}")
    return put_file(str(path), uri, endpoint_url)
