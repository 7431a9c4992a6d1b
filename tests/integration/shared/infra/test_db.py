"""PostgreSQL restarts (an upgrade, a fail-over) while a service's pooled connections sit idle:
the next request still succeeds, without a ping before every use."""

from __future__ import annotations

import time

import sqlalchemy as sa

from shared.infra.db import create_engine

IDLE = 0.2  # the production setting is a second; a test need not wait that long


def test_a_connection_idle_across_a_restart_is_replaced_before_it_is_used(postgres):
    engine = create_engine(postgres.create_database(), ping_after_idle=IDLE, pool_size=2)
    try:
        with engine.connect() as connection:
            first_backend = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        postgres.restart()  # every connection is cut; the pool still holds its one
        time.sleep(IDLE * 2)

        with engine.connect() as connection:
            backend = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    finally:
        engine.dispose()

    assert backend != first_backend
