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

# A pooled PostgreSQL connection idle for longer than this is checked before it is used.
PING_AFTER_IDLE_S = 1.0


def create_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_S, **kwargs: Any) -> sa.Engine:
    if url.startswith("sqlite"):
        return _create_sqlite_engine(url, **kwargs)
    kwargs.setdefault("hide_parameters", True)  # error messages must not quote personal data
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 5)
    engine = sa.create_engine(url, **kwargs)
    _ping_when_idle(engine, ping_after_idle)
    return engine


def _ping_when_idle(engine: sa.Engine, idle: float) -> None:
    """Pessimistic disconnect handling where it can matter: a connection that has sat in the pool
    for over `idle` seconds (the database may have restarted or failed over meanwhile) is pinged
    before use and replaced if the ping fails (the pool tries a new one). One checked in a moment
    ago is not: a ping on every checkout (`pool_pre_ping`) was a fifth of a short request's time
    on PostgreSQL, where one request checks out several connections (keys, its reads, its audit
    row). A restart in that moment fails the statements under way, as it would anyway, and the
    pool drops every connection it holds on the first disconnect it sees."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):  # noqa: ANN001
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):  # noqa: ANN001
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle:
            return  # new, or just used
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as gone:  # the driver's own error, whichever driver
            raise sa.exc.DisconnectionError("the pooled connection was closed by the server") from gone


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
        self._batching = False
        self._waiting: list[tuple[sa.Table, dict]] = []  # rows `insert` holds back while batching

    def __enter__(self) -> UnitOfWork:
        self._depth += 1
        if self._depth == 1:
            self.session = self._session_factory()
            self._events = []
            self._batching, self._waiting = False, []
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
        self.flush()
        recorded = len(self._events)
        try:
            with self.session.begin_nested():
                yield
                self.flush()
        except BaseException:
            del self._events[recorded:]
            self._waiting.clear()
            raise

    def insert(self, table: sa.Table, row: dict) -> None:
        """Insert one row: at once, or inside :meth:`batching`, later, with the others."""
        if self._batching:
            self._waiting.append((table, row))
        else:
            self.session.execute(table.insert(), row)

    @contextmanager
    def batching(self) -> Iterator[None]:
        """Rows given to :meth:`insert` in the block wait, and are written one statement
        per table (parents before children) when the block ends, and earlier if the
        session is about to run a statement that could see them or depend on them (any
        query; a write to their table or one related to it by a foreign key), so the
        block's statements find exactly what they would have found had each row been
        written at once (statements run by `session.execute`: one run on
        `session.connection()` directly is not watched). A constraint a waiting row breaks
        is raised where they are written. For the consumer's many events per transaction:
        one INSERT per table for a hundred events instead of one each."""
        if not self._batching:
            self._batching = True
            if not self.session.info.get("batching_hook"):
                sa.event.listen(self.session, "do_orm_execute", self._before_execute)
                self.session.info["batching_hook"] = True
            try:
                yield
                self.flush()
            finally:
                self._batching = False
                self._waiting.clear()  # written, or undone with the rest
        else:
            yield

    def flush(self) -> None:
        """Write the rows :meth:`batching` holds back."""
        if not self._waiting:
            return
        waiting, self._waiting = self._waiting, []
        groups: dict[tuple[sa.Table, tuple[str, ...]], list[dict]] = {}
        for table, row in waiting:  # executemany wants the same columns in every row
            groups.setdefault((table, tuple(row)), []).append(row)
        for table in sa.schema.sort_tables({table for table, _ in groups}):
            for (group_table, _), rows in groups.items():
                if group_table is table:
                    self.session.execute(table.insert(), rows)

    def _before_execute(self, state) -> None:  # noqa: ANN001 (sqlalchemy.orm.ORMExecuteState)
        if self._waiting and _may_see(state.statement, {table for table, _ in self._waiting}):
            self.flush()

    def commit(self) -> None:
        if self._depth > 1:
            return  # the outermost owner commits
        self.flush()
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


def _may_see(statement: object, waiting: set[sa.Table]) -> bool:
    """Whether `statement` could read rows of the `waiting` tables, or find or break a
    foreign key with them: anything but an INSERT, UPDATE or DELETE on an unrelated table."""
    table = statement.table if isinstance(statement, sa.sql.dml.UpdateBase) else None
    if not isinstance(table, sa.Table) or table in waiting:
        return True
    if any(fk.column.table in waiting for fk in table.foreign_keys):
        return True
    return any(fk.column.table is table for other in waiting for fk in other.foreign_keys)


def session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
