"""Creating a store's database on first use, and waiting out a restart of the server."""

import threading
import time
import uuid

import psycopg
import pytest

from features.postgres import ensure_database
from tests.support.services import PrivatePostgres

pytestmark = pytest.mark.services


def _exists(server_url: str, name: str) -> bool:
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as con:
        return bool(con.execute("select 1 from pg_database where datname = %s", [name]).fetchall())


def test_a_database_is_created_once_and_a_second_call_changes_nothing(postgres_server):
    name = f"quorum_ensure_{uuid.uuid4().hex[:10]}"
    ensure_database(f"{postgres_server.url}/{name}")
    ensure_database(f"{postgres_server.url}/{name}")
    assert _exists(postgres_server.url, name)
    with psycopg.connect(f"{postgres_server.url}/postgres", autocommit=True) as con:
        con.execute(f'drop database "{name}"')


def test_it_waits_for_a_server_that_comes_back_and_raises_for_one_that_does_not():
    server = PrivatePostgres.start_new()  # this test's own, to stop and start
    try:
        server.halt()
        with pytest.raises(psycopg.OperationalError):
            ensure_database(f"{server.url}/quorum_never", wait_s=1.0)
        errors: list[BaseException] = []

        def create() -> None:
            try:
                ensure_database(f"{server.url}/quorum_after_restart", wait_s=60.0)
            except BaseException as error:  # reported by the test's thread below
                errors.append(error)

        waiting = threading.Thread(target=create)
        waiting.start()
        time.sleep(1.5)  # the call is retrying against the stopped server
        assert waiting.is_alive()
        server.start()
        waiting.join(timeout=90)
        assert not waiting.is_alive() and errors == []
        assert _exists(server.url, "quorum_after_restart")
    finally:
        server.stop()
