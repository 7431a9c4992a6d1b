"""The benchmarks' databases on either engine: the run's PostgreSQL cluster, and read-only
queries that work on SQLite and PostgreSQL alike (for counting what the services wrote).

PostgreSQL is the throwaway cluster the integration tests start (`tests.support.postgres`:
initdb/pg_ctl from /usr/lib/postgresql/*/bin, fsync off as for tests), one for the whole
`make bench` run, with a fresh database for every database a benchmark asks for.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def postgres_cluster() -> Iterator[object]:
    """A PostgreSQL cluster in its own directory for the block; stopped (immediately) after."""
    from tests.support.postgres import PostgresCluster

    # Its own directory, which start() hands to the `postgres` user when we run as root.
    directory = Path(tempfile.mkdtemp(prefix="outcome-bench-pg-"))
    cluster = PostgresCluster(directory)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


def rows(url: str, query: str, parameters: tuple = ()) -> list[tuple]:
    """Every row of a read-only query with `?` placeholders, on the database at `url`."""
    if url.startswith("sqlite"):
        import sqlite3
        from contextlib import closing

        path = Path(url.removeprefix("sqlite:///"))
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            return connection.execute(query, parameters).fetchall()
    import psycopg2
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    connection = psycopg2.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database, password=parsed.password
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(query.replace("%", "%%").replace("?", "%s"), parameters)
            return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def count(url: str, table: str, where: str = "") -> int:
    """Rows in `table` (those matching the SQL condition `where`, if given)."""
    condition = f" WHERE {where}" if where else ""
    return rows(url, f"SELECT count(*) FROM {table}{condition}")[0][0]


def stored_ns(value: str | dt.datetime | None) -> int | None:
    """A UTCDateTime column's value (SQLite's text '2026-11-22 01:27:44.123456', UTC, or
    PostgreSQL's datetime) in ns since the epoch, comparable with time.time_ns()."""
    if not value:
        return None
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return round(parsed.timestamp() * 1e6) * 1000
