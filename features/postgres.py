"""PostgreSQL housekeeping for the production profile: the databases Quorum's stores use
are created on first use (plain Python, no Dagster)."""

import psycopg
from psycopg import sql


def ensure_database(url: str) -> None:
    """Create the database named at the end of ``url`` if it does not exist yet.

    Accepts SQLAlchemy-style URLs (``postgresql+psycopg://...``) as Feast and MLflow use them.
    """
    server, _, name = url.rpartition("/")
    rest = server.partition("://")[2]
    with psycopg.connect(f"postgresql://{rest}/postgres", autocommit=True) as con:
        exists = con.execute("select 1 from pg_database where datname = %s", [name]).fetchall()
        if not exists:
            con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
