"""The warehouse file handed between steps through a store: what lets ingestion and dbt run on
workers that share no disk (the distributed profile) and lose nothing when a step fails."""

from pathlib import Path

import duckdb
import pytest

from features.ingestion.kept_warehouse import fetch_warehouse, keep_warehouse


def _warehouse(path: Path, values: list[int]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create table prices (close integer)")
        con.executemany("insert into prices values (?)", [[v] for v in values])


def _closes(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [row[0] for row in con.execute("select close from prices order by close").fetchall()]


def test_a_kept_warehouse_is_fetched_whole_into_another_steps_folder(tmp_path):
    written = tmp_path / "worker_a" / "warehouse.duckdb"
    written.parent.mkdir()
    _warehouse(written, [1, 2, 3])
    uri = str(tmp_path / "store" / "warehouse" / "warehouse.duckdb")
    assert keep_warehouse(written, uri) == uri
    fetched = tmp_path / "worker_b" / "warehouse.duckdb"
    assert fetch_warehouse(fetched, uri)
    assert _closes(fetched) == [1, 2, 3]
    assert sorted(p.name for p in fetched.parent.iterdir()) == ["warehouse.duckdb"]


def test_a_write_not_yet_checkpointed_is_in_the_kept_file(tmp_path):
    written = tmp_path / "warehouse.duckdb"
    _warehouse(written, [1])
    with duckdb.connect(str(written)) as con:
        con.execute("pragma disable_checkpoint_on_shutdown")
        con.execute("insert into prices values (7)")
    assert (tmp_path / "warehouse.duckdb.wal").exists()  # the write is only in the log
    uri = str(tmp_path / "store" / "warehouse.duckdb")
    keep_warehouse(written, uri)
    assert _closes(Path(uri)) == [1, 7]


def test_fetching_replaces_the_local_file_and_drops_its_stale_log(tmp_path):
    uri = str(tmp_path / "store" / "warehouse.duckdb")
    kept = tmp_path / "kept.duckdb"
    _warehouse(kept, [10, 20])
    keep_warehouse(kept, uri)
    local = tmp_path / "worker" / "warehouse.duckdb"
    local.parent.mkdir()
    _warehouse(local, [1])
    with duckdb.connect(str(local)) as con:  # an unclean close leaves the old file's log
        con.execute("pragma disable_checkpoint_on_shutdown")
        con.execute("insert into prices values (99)")
    assert fetch_warehouse(local, uri)
    assert _closes(local) == [10, 20]  # replayed onto the fetched file, that log fails to open


def test_with_nothing_kept_the_local_warehouse_is_left_as_it_is(tmp_path):
    local = tmp_path / "warehouse.duckdb"
    _warehouse(local, [5])
    assert not fetch_warehouse(local, str(tmp_path / "store" / "warehouse.duckdb"))
    assert _closes(local) == [5]
    missing = tmp_path / "none.duckdb"
    assert not fetch_warehouse(missing, str(tmp_path / "store" / "warehouse.duckdb"))
    assert not missing.exists()


def test_keeping_a_missing_warehouse_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"none\.duckdb"):
        keep_warehouse(tmp_path / "none.duckdb", str(tmp_path / "store" / "w.duckdb"))
