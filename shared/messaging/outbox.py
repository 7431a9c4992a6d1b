"""The transactional outbox and the relay that publishes it.

A change and the event announcing it are written in one transaction (UnitOfWork.publish). The
relay reads unpublished rows in id order, produces them with acks=all and marks as
published only the rows the broker acknowledged, in order: if the broker is away,
rows wait; if a batch half-fails, the unacknowledged tail is sent again (consumers
deduplicate by event id), so nothing is lost and per-key order holds.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.infra import db, metrics
from shared.infra.tables import outbox, utcnow
from shared.messaging import events
from shared.messaging.kafka import kafka_error

log = logging.getLogger(__name__)

PUBLISHED_RETENTION = dt.timedelta(days=7)


class Producer(Protocol):
    def send(self, topic: str, *, key: bytes, value: bytes, headers: list): ...
    def flush(self, timeout: float | None = None) -> None: ...


def republish_retained(engine: sa.Engine) -> int:
    """Mark every published row still retained (PUBLISHED_RETENTION) unpublished again, so
    the relay sends it once more, in id order; return how many. For a broker that came back
    without its topics (the embedded development broker keeps them in memory): consumers
    de-duplicate by event id, so what they had already applied is skipped, and what was
    published but not yet consumed when the broker went is delivered after all."""
    with engine.begin() as connection:
        return connection.execute(
            outbox.update().where(outbox.c.published_at.is_not(None)).values(published_at=None)
        ).rowcount


class OutboxRelay:
    def __init__(
        self,
        engine: sa.Engine,
        producer: Producer,
        *,
        service: str,
        batch_size: int = 500,
        poll_interval: float = 0.05,
        send_timeout: float = 30.0,
    ):
        self.engine = engine
        self.producer = producer
        self.service = service
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.send_timeout = send_timeout
        self._last_purge = 0.0

    def publish_batch(self) -> int:
        """Publish up to one batch; return how many rows the broker acknowledged."""
        with db.read_only(self.engine) as connection:
            rows = connection.execute(
                sa.select(outbox.c.id, outbox.c.topic, outbox.c.message_key, outbox.c.payload)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            ).all()
            connection.rollback()
        if not rows:
            return 0
        futures = []
        try:
            for row in rows:
                futures.append(
                    self.producer.send(
                        row.topic, key=row.message_key.encode(), value=bytes(row.payload), headers=events.KAFKA_HEADERS
                    )
                )
            self.producer.flush(timeout=self.send_timeout)
        except kafka_error() as exc:  # no metadata or a flush timeout: keep what was acknowledged
            log.warning("outbox send incomplete", extra={"service": self.service, "error": type(exc).__name__})
        acknowledged = []
        for row, future in zip(rows, futures, strict=False):
            if not (future.is_done and future.succeeded()):
                break
            acknowledged.append(row.id)
        if acknowledged:
            with self.engine.begin() as connection:
                connection.execute(outbox.update().where(outbox.c.id.in_(acknowledged)).values(published_at=utcnow()))
            metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(acknowledged))
        if len(acknowledged) < len(rows):
            metrics.OUTBOX_PUBLISH_FAILURES.labels(self.service).inc()
            raise BrokerUnavailable(f"{len(rows) - len(acknowledged)} of {len(rows)} events not acknowledged")
        return len(acknowledged)

    def purge_published(self, now: dt.datetime | None = None) -> int:
        cutoff = (now or utcnow()) - PUBLISHED_RETENTION
        with self.engine.begin() as connection:
            return connection.execute(outbox.delete().where(outbox.c.published_at < cutoff)).rowcount

    def run(self, stop: threading.Event) -> None:
        backoff = 0.0
        while not stop.is_set():
            try:
                published = self.publish_batch()
                backoff = 0.0
                if time.monotonic() - self._last_purge > 3600:
                    self.purge_published()
                    self._last_purge = time.monotonic()
            except (BrokerUnavailable, sa.exc.OperationalError) as exc:
                backoff = min(max(backoff * 2, 0.2), 5.0)
                log.warning(
                    "outbox relay retrying", extra={"service": self.service, "error": str(exc), "retry_in": backoff}
                )
                stop.wait(backoff)
                continue
            if published < self.batch_size:
                stop.wait(self.poll_interval)


class BrokerUnavailable(Exception):
    pass


def withdraw(
    session: Session, topic: str, keys: Iterable[str], *, rewrite: Callable[[dict], None] | None = None
) -> None:
    """Take back what the outbox still holds about these aggregates (an erasure).

    Rows already published are deleted: the broker has them and the relay needs them no
    more. Rows still waiting are edited in place by `rewrite` (which changes the event's
    `data`), so consumers still hear of the aggregate, without what was erased; with no
    `rewrite`, they are deleted too. Runs in the caller's transaction.
    """
    keys = list(keys)
    for start in range(0, len(keys), 500):
        about = sa.and_(outbox.c.topic == topic, outbox.c.message_key.in_(keys[start : start + 500]))
        if rewrite is None:
            session.execute(outbox.delete().where(about))
            continue
        session.execute(outbox.delete().where(about, outbox.c.published_at.is_not(None)))
        for row_id, payload in session.execute(sa.select(outbox.c.id, outbox.c.payload).where(about)).all():
            envelope = json.loads(payload)
            rewrite(envelope["data"])
            session.execute(outbox.update().where(outbox.c.id == row_id).values(payload=events.dumps(envelope)))


def backlog(engine: sa.Engine) -> tuple[int, float]:
    """(unpublished rows, age in seconds of the oldest) for /metrics."""
    with db.read_only(engine) as connection:
        count, oldest = connection.execute(
            sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
        ).one()
    if not oldest:
        return count, 0.0
    if isinstance(oldest, str):  # SQLite aggregate results skip the column type
        oldest = dt.datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return count, max(0.0, (utcnow() - oldest).total_seconds())
