"""The unit of work's batched inserts (UnitOfWork.batching), on SQLite."""

from __future__ import annotations

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
