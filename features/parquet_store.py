"""Named Parquet frames under a root that is a local folder or an S3 prefix.

The daily batch hands its training sets to the steps that train on them (the analyst, its
search and sector models, the promotion gate, the drift sensor, the backtest) through one of
these. In the distributed profile the root is ``s3://bucket/prefix/training`` on the S3
store, so a step on one worker reads what a step on another machine wrote, never a file on
its own disk. pyarrow's own S3 client does it (no fsspec layer, no DuckDB extension): its
credentials are the AWS SDK's usual ones (``AWS_ACCESS_KEY_ID``, ...), as for boto3.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pyarrow import fs

S3_SCHEME = "s3://"
COPY_CHUNK_BYTES = 8 * 1024 * 1024  # bounds memory while a file streams to or from a store


@dataclass(frozen=True)
class StoreRoot:
    """``root``: a folder (``/path/training``) or an S3 prefix (``s3://bucket/training``);
    ``endpoint_url``: an S3 endpoint other than AWS's (``http://127.0.0.1:8333``)."""

    root: str
    endpoint_url: str | None = None

    @property
    def on_s3(self) -> bool:
        return self.root.startswith(S3_SCHEME)


@dataclass(frozen=True)
class ParquetStore(StoreRoot):
    """Named Parquet frames under a folder or an S3 prefix (``StoreRoot``)."""

    def uri(self, name: str) -> str:
        """Where ``name`` is kept, as a user would write it (a path or an ``s3://`` URI)."""
        return f"{self.root.rstrip('/')}/{name}.parquet"

    def write(self, name: str, frame: pd.DataFrame) -> str:
        """Writes ``frame`` (without its index) as ``name`` and returns its URI. A reader
        sees the old frame or the new one, never a partial file: a local file is written
        beside and renamed over the last one (a sector's training may be reading it while
        the batch writes the next); an S3 object appears whole when its upload completes."""
        write_whole(
            self.uri(name), self.endpoint_url, lambda out: frame.to_parquet(out, index=False)
        )
        return self.uri(name)

    def read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The frame kept as ``name``; FileNotFoundError naming its URI when there is none."""
        import pandas as pd

        if not self.exists(name):
            raise FileNotFoundError(f"no Parquet frame at {self.uri(name)}")
        filesystem, path = self._resolve(name)
        return pd.read_parquet(path, columns=columns, filesystem=filesystem)

    def rows(self, name: str) -> int:
        """The number of rows kept as ``name`` (0 when there is none), from its footer."""
        import pyarrow.parquet as pq

        if not self.exists(name):
            return 0
        filesystem, path = self._resolve(name)
        with filesystem.open_input_file(path) as handle:
            return pq.ParquetFile(handle).metadata.num_rows

    def put(self, name: str, local: str) -> str:
        """Keeps the local Parquet file ``local`` as ``name``, whole (``put_file``); returns
        its URI. For files another program wrote to the step's disk (dbt's exports)."""
        return put_file(local, self.uri(name), self.endpoint_url)

    def exists(self, name: str) -> bool:
        from pyarrow import fs

        filesystem, path = self._resolve(name)
        return filesystem.get_file_info(path).type == fs.FileType.File

    def _resolve(self, name: str) -> tuple[fs.FileSystem, str]:
        return resolve(self.uri(name), self.endpoint_url)


def resolve(uri: str, endpoint_url: str | None = None) -> tuple[fs.FileSystem, str]:
    """pyarrow's filesystem for ``uri`` (a local path or ``s3://bucket/key``) and the path
    on it: what any store of files under a folder or an S3 prefix opens them with."""
    from pyarrow import fs

    if not uri.startswith(S3_SCHEME):
        return fs.LocalFileSystem(), uri
    return _s3(endpoint_url), uri.removeprefix(S3_SCHEME)


def write_whole(uri: str, endpoint_url: str | None, write: Callable[[Any], None]) -> None:
    """``write(stream)`` as ``uri``, so that a reader sees the last whole file or the new one,
    never a part: an S3 object appears whole when its upload completes; a local file is
    written beside, under a name no other writer uses, and renamed over."""
    filesystem, path = resolve(uri, endpoint_url)
    if uri.startswith(S3_SCHEME):
        with filesystem.open_output_stream(path) as out:
            write(out)
        return
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    partial = f"{path}.{uuid.uuid4().hex}.partial"
    with filesystem.open_output_stream(partial) as out:
        write(out)
    filesystem.move(partial, path)


def put_file(local: str, uri: str, endpoint_url: str | None = None) -> str:
    """A copy of the local file ``local`` kept as ``uri`` (a path or ``s3://bucket/key``),
    written whole; returns ``uri``. For files a library can only save to a path (Evidently's
    HTML, the backtest's tear sheet, the warehouse's DuckDB file), made on the step's disk and
    kept on the store. Streamed in chunks: the warehouse is tens of megabytes and grows."""
    import shutil

    def copy(out: Any) -> None:
        with open(local, "rb") as source:
            shutil.copyfileobj(source, out, COPY_CHUNK_BYTES)

    write_whole(uri, endpoint_url, copy)
    return uri


def get_file(uri: str, local: str, endpoint_url: str | None = None) -> bool:
    """The file kept as ``uri`` copied to the local path ``local``, replacing it whole (written
    beside and renamed over); False, and ``local`` left as it is, when nothing is kept there."""
    import os
    import shutil

    from pyarrow import fs

    filesystem, path = resolve(uri, endpoint_url)
    if filesystem.get_file_info(path).type != fs.FileType.File:
        return False
    with filesystem.open_input_stream(path) as source:
        write_whole(
            os.path.abspath(local),
            None,
            lambda out: shutil.copyfileobj(source, out, COPY_CHUNK_BYTES),
        )
    return True


def _s3(endpoint_url: str | None) -> fs.S3FileSystem:
    """pyarrow's S3 client for an endpoint: ``http://host:port`` (SeaweedFS, MinIO) or None
    (AWS). Path-style addressing, which stores other than AWS expect."""
    import os
    from urllib.parse import urlsplit

    from pyarrow import fs

    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    if endpoint_url is None:
        return fs.S3FileSystem(region=region)
    parts = urlsplit(endpoint_url)
    return fs.S3FileSystem(
        endpoint_override=parts.netloc,
        scheme=parts.scheme or "https",
        region=region,
        force_virtual_addressing=False,
    )
