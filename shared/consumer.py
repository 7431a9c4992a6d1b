"""The idempotent consumer every service runs.

For each poll batch, in one database transaction:
- each event is checked against `processed_events` and skipped if seen;
- its handler runs inside a savepoint, so one bad event never undoes its neighbours;
- an event that can never be accepted (RejectedEvent, or a handler crash) is kept in
  `dead_letters` and announced on `<topic>.dlq` through the outbox, with the reason;
- the event is recorded as processed.
Only after that transaction commits are the offsets committed. A crash in between
means redelivery, which the processed-events check turns into a no-op.
If the database itself fails, nothing is committed and the batch is read again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from kafka import OffsetAndMetadata, TopicPartition
from marshmallow import ValidationError

from shared import events, metrics
from shared.constants import DEAD_LETTER_OPEN, DEAD_LETTER_REPLAYED, DEAD_LETTERED, dlq_topic
from shared.crypto import Sealer
from shared.db import UnitOfWork
from shared.domain import Conflict, InvalidInput, NotFound
from shared.events import RejectedEvent
from shared.tables import dead_letters, processed_events, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, dict], None]


@dataclass(frozen=True)
class Message:
    """What the consumer needs of a Kafka record (kafka-python's ConsumerRecord fits)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def event_key(source: str, event_id: str) -> str:
    return hashlib.sha256(f"{source}\x1f{event_id}".encode()).hexdigest()


def already_processed(uow: UnitOfWork, consumer: str, source: str, event_id: str) -> bool:
    return (
        uow.session.execute(
            sa.select(sa.literal(1)).where(
                processed_events.c.consumer == consumer,
                processed_events.c.event_key == event_key(source, event_id),
            )
        ).first()
        is not None
    )


def mark_processed(uow: UnitOfWork, consumer: str, source: str, event_id: str) -> None:
    uow.session.execute(
        processed_events.insert().values(
            consumer=consumer, event_key=event_key(source, event_id), processed_at=utcnow()
        )
    )


class EventProcessor:
    """Applies a batch of records to the database, exactly once each."""

    def __init__(
        self,
        *,
        name: str,
        source: str,
        uow_factory: Callable[[], UnitOfWork],
        handlers: dict[str, Handler],
        sealer: Sealer,
        tenant_exists: Callable[[str], bool],
    ):
        self.name = name
        self.source = source
        self.uow_factory = uow_factory
        self.handlers = handlers
        self.sealer = sealer
        self.tenant_exists = tenant_exists

    def process(self, batch: Iterable[Message]) -> None:
        """Apply the batch in one transaction; raises only if the database fails."""
        with self.uow_factory() as uow:
            for message in batch:
                self._process_one(uow, message)
            uow.commit()

    def _process_one(self, uow: UnitOfWork, message: Message) -> None:
        if already_processed(uow, self.name, _position(message), str(message.offset)):
            return  # dead-lettered before, redelivered after a crash
        envelope = None
        try:
            envelope = events.parse(message.value or b"")
            outcome = self._apply(uow, envelope)
            metrics.EVENTS_CONSUMED.labels(self.name, outcome).inc()
        except sa.exc.OperationalError:
            raise  # the database is away: the whole batch is retried
        except Exception as exc:  # a bug must not stop the consumer for everyone behind it
            self._dead_letter(uow, message, envelope, _reason(exc), getattr(exc, "tenant", None))

    def _apply(self, uow: UnitOfWork, envelope: dict) -> str:
        """Run the event's handler once; 'accepted' or 'duplicate'. Raises if rejected."""
        if already_processed(uow, self.name, envelope["source"], envelope["id"]):
            return "duplicate"
        handler = self.handlers.get(envelope["type"])
        if handler is None:
            raise RejectedEvent(_unknown_type_reason(envelope["type"]), envelope["tenant"])
        if not self.tenant_exists(envelope["tenant"]):
            raise RejectedEvent("unknown tenant", envelope["tenant"])
        with uow.session.begin_nested():
            handler(uow, envelope)
            mark_processed(uow, self.name, envelope["source"], envelope["id"])
        return "accepted"

    def replay(self, dead_letter_id: str, *, tenant: str | None) -> str:
        """Try a dead letter again after a fix: 'accepted' or 'duplicate'.

        Raises NotFound for an unknown (or another tenant's) dead letter, and
        InvalidInput with the new reason if it still cannot be accepted.
        """
        with self.uow_factory() as uow:
            conditions = [dead_letters.c.id == dead_letter_id, dead_letters.c.consumer == self.name]
            if tenant is not None:
                conditions.append(dead_letters.c.tenant == tenant)
            row = uow.session.execute(sa.select(dead_letters).where(*conditions)).first()
            if row is None:
                raise NotFound("dead letter")
            if row.status == DEAD_LETTER_REPLAYED:
                raise Conflict("This dead letter has already been replayed.")
            try:
                outcome = self._apply(uow, events.parse(self.sealer.open_bytes(row.sealed_payload)))
            except sa.exc.OperationalError:
                raise
            except Exception as exc:
                reason = _reason(exc)
                uow.session.execute(
                    dead_letters.update()
                    .where(dead_letters.c.id == row.id)
                    .values(reason=reason, replay_count=row.replay_count + 1)
                )
                uow.commit()
                raise InvalidInput.on("event", reason) from None
            uow.session.execute(
                dead_letters.update()
                .where(dead_letters.c.id == row.id)
                .values(status=DEAD_LETTER_REPLAYED, replayed_at=utcnow(), replay_count=row.replay_count + 1)
            )
            uow.commit()
        metrics.EVENTS_CONSUMED.labels(self.name, "replayed").inc()
        return outcome

    def _dead_letter(
        self, uow: UnitOfWork, message: Message, envelope: dict | None, reason: str, tenant: str | None = None
    ) -> None:
        tenant = tenant or (envelope or {}).get("tenant")
        dead_letter_id = str(uuid.uuid4())
        uow.session.execute(
            dead_letters.insert().values(
                id=dead_letter_id,
                consumer=self.name,
                tenant=tenant,
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                event_source=(envelope or {}).get("source"),
                event_id=(envelope or {}).get("id"),
                event_type=(envelope or {}).get("type"),
                reason=reason,
                sealed_payload=self.sealer.seal_bytes(message.value or b""),
                status=DEAD_LETTER_OPEN,
                received_at=utcnow(),
                replay_count=0,
            )
        )
        uow.publish(
            dlq_topic(message.topic),
            key=(message.key or b"").decode(errors="replace") or dead_letter_id,
            envelope=events.make(
                type=DEAD_LETTERED,
                source=self.source,
                tenant=tenant or "unknown",
                subject=dead_letter_id,
                data={
                    "dead_letter_id": dead_letter_id,
                    "consumer": self.name,
                    "reason": reason,
                    "topic": message.topic,
                    "partition": message.partition,
                    "offset": message.offset,
                    "sealed_original": self.sealer.seal_bytes(message.value or b""),
                },
            ),
        )
        mark_processed(uow, self.name, _position(message), str(message.offset))
        metrics.EVENTS_CONSUMED.labels(self.name, "dead_lettered").inc()
        log.warning(
            "event dead-lettered",
            extra={"consumer": self.name, "topic": message.topic, "offset": message.offset, "reason": reason},
        )


def _unknown_type_reason(event_type: str) -> str:
    """Name the type when it looks like a type name; never echo arbitrary sender text."""
    if re.fullmatch(r"[A-Za-z0-9._-]{1,100}", event_type):
        return f"unknown event type {event_type!r}"
    return "unknown event type"


def _position(message: Message) -> str:
    return f"kafka:{message.topic}/{message.partition}"


def _reason(exc: Exception) -> str:
    """Why an event was refused, in words safe to show staff and put on a topic."""
    if isinstance(exc, RejectedEvent):
        return exc.reason
    if isinstance(exc, ValidationError):
        return f"invalid data: {events.describe_errors(exc.messages)}"
    if isinstance(exc, InvalidInput):
        return f"invalid data: {events.describe_errors(exc.errors)}"
    log.error("handler crashed", exc_info=exc)
    return f"internal error while handling: {type(exc).__name__}"


class ConsumerLoop:
    """Polls, hands each batch to the processor, then commits the offsets."""

    def __init__(self, kafka_consumer, processor: EventProcessor, *, poll_timeout_ms: int = 500):
        self.kafka = kafka_consumer
        self.processor = processor
        self.poll_timeout_ms = poll_timeout_ms

    def run(self, stop: threading.Event) -> None:
        backoff = 0.0
        try:
            while not stop.is_set():
                records = self.kafka.poll(timeout_ms=self.poll_timeout_ms)
                if not records:
                    continue
                batch = [record for partition_records in records.values() for record in partition_records]
                try:
                    self.processor.process(batch)
                except sa.exc.DBAPIError as exc:  # the database is away or refused the batch
                    backoff = min(max(backoff * 2, 0.5), 10.0)
                    log.warning(
                        "database error; batch will be read again",
                        extra={"error": type(exc).__name__, "retry_in": backoff},
                    )
                    self._rewind(records)
                    stop.wait(backoff)
                    continue
                backoff = 0.0
                self.kafka.commit(
                    {
                        tp: OffsetAndMetadata(partition_records[-1].offset + 1, "", -1)
                        for tp, partition_records in records.items()
                    }
                )
        finally:
            self.kafka.close(autocommit=False)

    def _rewind(self, records: dict[TopicPartition, list]) -> None:
        for tp, partition_records in records.items():
            self.kafka.seek(tp, partition_records[0].offset)
