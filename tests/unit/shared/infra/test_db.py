"""Pooled connections are pinged before use only when they have sat idle (shared/infra/db.py)."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from shared.infra import db


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
