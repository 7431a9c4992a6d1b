"""SQLAlchemy engines and the unit of work every service uses.

SQLite runs in WAL mode and takes its write lock at BEGIN, so two gunicorn workers
queue instead of deadlocking on a lock upgrade. PostgreSQL is used as it comes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from shared.infra.crypto import Sealer
from shared.infra.tables import outbox, utcnow
from shared.messaging import events


def create_engine(url: str, **kwargs: Any) -> sa.Engine:
    if url.startswith("sqlite"):
        return _create_sqlite_engine(url, **kwargs)
    kwargs.setdefault("hide_parameters", True)  # error messages must not quote personal data
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 5)
    return sa.create_engine(url, **kwargs)


def _create_sqlite_engine(url: str, **kwargs: Any) -> sa.Engine:
    database = sa.engine.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("hide_parameters", True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # noqa: ANN001
        if connection.get_execution_options().get("sqlite_begin") == "DEFERRED":
            connection.connection.driver_connection.execute("BEGIN DEFERRED")  # as BEGIN IMMEDIATE is, below
        else:
            _begin_immediate(connection.connection.driver_connection)

    return engine


SQLITE_WRITE_WAIT = 30.0


def _begin_immediate(dbapi_connection: sqlite3.Connection) -> None:
    """Take SQLite's write lock, polling every millisecond.

    SQLite's own busy handler backs off to 100 ms sleeps, so a writer that waits behind
    a busy one (the outbox relay behind the consumer) keeps missing the short gaps
    between its transactions. Polling finely lets writers take turns.
    """
    deadline = time.monotonic() + SQLITE_WRITE_WAIT
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.001)
    finally:
        dbapi_connection.execute("PRAGMA busy_timeout=30000")


def read_only(engine: sa.Engine) -> sa.Connection:
    """A connection for reads only: on SQLite it does not take the write lock."""
    return engine.connect().execution_options(sqlite_begin="DEFERRED")


def ping(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


@dataclass
class Rider:
    """A row to write in the transaction of the next change that commits, so that it stands
    or falls with that change (an audited request's audit-log row): `written` once committed."""

    statement: sa.Executable
    row: Callable[[], dict]
    written: bool = False


_rider: ContextVar[Rider | None] = ContextVar("rider", default=None)


@contextmanager
def written_with_next_commit(statement: sa.Executable, row: Callable[[], dict]) -> Iterator[Rider]:
    """Inside the block, the first unit of work to commit a write also executes `statement`
    with `row()`, in the same transaction; the Rider says whether that happened."""
    rider = Rider(statement, row)
    token = _rider.set(rider)
    try:
        yield rider
    finally:
        _rider.reset(token)


class UnitOfWork:
    """One database transaction, and the events it announces.

    Events recorded with :meth:`publish` are written to the outbox table in the same
    transaction as the change they announce, so either both happen or neither does.
    They are buffered and written in one statement at commit; a :meth:`savepoint`
    that fails drops the events recorded inside it along with its changes.

    Re-entrant: a use case called inside an open unit of work (the consumer applies a
    whole poll batch in one) joins it, and its `commit()` leaves the commit to the
    outermost owner. Services subclass this to attach repositories in :meth:`_start`.
    """

    session: Session

    def __init__(self, session_factory: Callable[[], Session], sealer: Sealer, *, read_only: bool = False):
        self._session_factory = session_factory
        self.sealer = sealer
        # For reads: on SQLite the transaction does not take the write lock, so readers
        # never queue behind (or hold up) writers.
        self.read_only = read_only
        self._depth = 0
        self._events: list[dict] = []

    def __enter__(self) -> UnitOfWork:
        self._depth += 1
        if self._depth == 1:
            self.session = self._session_factory()
            self._events = []
            if self.read_only:
                self.session.connection(execution_options={"sqlite_begin": "DEFERRED"})
            self._start(self.session)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._depth -= 1
        if self._depth:
            return
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def _start(self, session: Session) -> None:
        """Attach repositories to the session (overridden by each service)."""

    @property
    def one_writer_at_a_time(self) -> bool:
        """Whether the database lets one writer at a time (SQLite's write lock), so a write
        is best kept to its statements, its reads and checks done before it (`reading`)."""
        return self._session_factory.kw["bind"].dialect.name == "sqlite"

    @property
    def active(self) -> bool:
        """Whether a transaction is open (a use case called inside one joins it)."""
        return self._depth > 0

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """The reads, checks and sealing a write needs first, in a transaction that does not
        take SQLite's write lock, so other writers are not held up meanwhile; the write then
        opens its own, short, unit of work. Inside an open unit of work: that one."""
        if self.active:
            yield self
            return
        self.read_only, writes = True, self.read_only
        try:
            with self:
                self.read_only = writes
                yield self
        finally:
            self.read_only = writes

    def announce(self, topic: str, *, type: str, source: str, tenant: str, subject: str, time, data: dict) -> None:
        """Publish a CloudEvent about one aggregate, keyed by its id so its events stay in order."""
        self.publish(
            topic,
            subject,
            events.make(type=type, source=source, tenant=tenant, subject=subject, time=time, data=data),
        )

    def publish(self, topic: str, key: str, envelope: dict) -> None:
        self._events.append(dict(topic=topic, message_key=key, payload=events.dumps(envelope), created_at=utcnow()))

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Changes and events that stand or fall together, inside the transaction."""
        recorded = len(self._events)
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            del self._events[recorded:]
            raise

    def commit(self) -> None:
        if self._depth > 1:
            return  # the outermost owner commits
        if self._events:
            self.session.execute(outbox.insert(), self._events)
            self._events = []
        rider = None if self.read_only else _rider.get()
        if rider is not None and not rider.written:
            self.session.execute(rider.statement, rider.row())
        else:
            rider = None
        self.session.commit()
        if rider is not None:
            rider.written = True


def session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
