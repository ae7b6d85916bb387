"""PostgreSQL housekeeping for the production profile: the databases Quorum's stores use
are created on first use (plain Python, no Dagster)."""

import time

import psycopg
from psycopg import sql

RETRY_S = 0.5


def ensure_database(url: str, wait_s: float = 0.0) -> None:
    """Create the database named at the end of ``url`` if it does not exist yet.

    Accepts SQLAlchemy-style URLs (``postgresql+psycopg://...``) as Feast and MLflow use them.
    ``wait_s``: how long to keep trying while the server refuses connections (a restart),
    before raising its error.
    """
    server, _, name = url.rpartition("/")
    rest = server.partition("://")[2]
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = psycopg.connect(f"postgresql://{rest}/postgres", autocommit=True)
            break
        except psycopg.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(RETRY_S)
    with con:
        exists = con.execute("select 1 from pg_database where datname = %s", [name]).fetchall()
        if not exists:
            con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
