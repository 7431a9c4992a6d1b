"""The unit of work's batched inserts (UnitOfWork.batching), and pooled connections pinged before
use only when they have sat idle (shared/infra/db.py); on SQLite."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from shared.infra import db
from shared.infra.crypto import Sealer

metadata = sa.MetaData()
people = sa.Table("people", metadata, sa.Column("id", sa.Integer, primary_key=True))
letters = sa.Table(
    "letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("person_id", sa.ForeignKey("people.id"), nullable=False),
)
notes = sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True))


@pytest.fixture
def uow(tmp_path):
    engine = db.create_engine(f"sqlite:///{tmp_path / 'uow.db'}")
    metadata.create_all(engine)
    yield db.UnitOfWork(db.session_factory(engine), Sealer([Fernet.generate_key().decode()]))
    engine.dispose()


def ids(uow, table) -> list[int]:
    return sorted(uow.session.execute(sa.select(table.c.id)).scalars())


def test_rows_held_back_are_found_by_a_query_in_the_block_and_kept_at_commit(uow):
    with uow:
        with uow.batching():
            uow.insert(people, {"id": 1})
            uow.insert(letters, {"id": 10, "person_id": 1})  # a child before its parent is written
            uow.insert(people, {"id": 2})
            assert ids(uow, people) == [1, 2]
            uow.insert(letters, {"id": 11, "person_id": 2})
        uow.commit()
    with uow:
        assert (ids(uow, people), ids(uow, letters)) == ([1, 2], [10, 11])


def test_a_failing_savepoint_drops_the_rows_it_held_back_and_keeps_those_before(uow):
    with uow:
        with uow.batching():
            uow.insert(people, {"id": 1})
            with pytest.raises(RuntimeError), uow.savepoint():
                uow.insert(people, {"id": 2})
                raise RuntimeError("undo")
            uow.insert(people, {"id": 3})
        uow.commit()
    with uow:
        assert ids(uow, people) == [1, 3]


def test_a_broken_constraint_is_raised_when_the_rows_are_written(uow):
    with uow:
        with pytest.raises(sa.exc.IntegrityError), uow.batching():
            uow.insert(letters, {"id": 10, "person_id": 99})  # nobody 99
            uow.insert(notes, {"id": 1})  # an unrelated table: nothing is written yet
            uow.session.execute(notes.insert(), {"id": 2})


def test_outside_a_batch_a_row_is_written_at_once(uow):
    with uow:
        uow.insert(people, {"id": 1})
        assert ids(uow, people) == [1]


class CountingConnection:
    """A DBAPI connection that counts the pings sent through it."""

    def __init__(self):
        self.real = sqlite3.connect(":memory:", check_same_thread=False)
        self.pings = 0

    def cursor(self):
        connection = self

        class Cursor:
            def __init__(self):
                self.real = connection.real.cursor()

            def execute(self, statement, *args):
                connection.pings += statement == "SELECT 1"
                return self.real.execute(statement, *args)

            def __getattr__(self, name):
                return getattr(self.real, name)

        return Cursor()

    def __getattr__(self, name):
        return getattr(self.real, name)


def pooled(idle: float) -> tuple[sa.Engine, CountingConnection]:
    made = CountingConnection()
    engine = sa.create_engine("sqlite://", creator=lambda: made, poolclass=sa.pool.QueuePool, pool_size=1)
    db._ping_when_idle(engine, idle)
    return engine, made


def use(engine: sa.Engine, times: int) -> None:
    for _ in range(times):
        with engine.connect():
            pass


def test_a_connection_back_in_the_pool_a_moment_ago_is_used_without_a_ping():
    engine, connection = pooled(idle=60)

    use(engine, 5)

    assert connection.pings == 0


def test_a_connection_idle_longer_than_the_limit_is_pinged_each_time_it_is_taken_again():
    engine, connection = pooled(idle=0)

    use(engine, 5)

    assert connection.pings == 4  # not the first time: a new connection needs no ping
