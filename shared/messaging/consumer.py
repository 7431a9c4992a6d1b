"""The idempotent consumer every service runs.

For each poll batch, in transactions of at most `transaction_size` events:
- events seen before (their `(source, id)` in `processed_events`) are skipped;
- each event's handler runs (all at once on the fast path; if one fails, the
  transaction is redone with a savepoint per event, so one bad event never undoes
  its neighbours);
- an event that can never be accepted (RejectedEvent, invalid data, a handler crash)
  is kept in `dead_letters` and announced on `<topic>.dlq` through the outbox, with
  the reason; its Kafka position is recorded so a redelivery is not dead-lettered twice;
- the events are recorded as processed in the same transaction as their effects.
Only after every transaction of the batch commits are the offsets committed. A crash in
between means redelivery, which the processed-events check turns into a no-op.
If the database itself fails, the batch is read again after a back-off.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import sqlalchemy as sa
from marshmallow import ValidationError

from shared.infra import metrics
from shared.infra.crypto import Sealer
from shared.infra.db import UnitOfWork
from shared.infra.tables import dead_letters, processed_events, utcnow
from shared.messaging import events
from shared.messaging.events import RejectedEvent
from shared.messaging.kafka import kafka_error
from shared.rules.constants import (
    DEAD_LETTER_OPEN,
    DEAD_LETTER_REPLAYED,
    DEAD_LETTERED,
    SOURCE_NOT_REGISTERED,
    TOPIC_EVENT_TYPES,
    TOPIC_PUBLISHERS,
    dlq_topic,
)
from shared.rules.domain import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:  # kafka-python is imported where a client is made (web workers make none)
    from kafka import TopicPartition

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


def _position_key(message: Message) -> str:
    """A record's place, and its content: a broker that starts its offsets again (Tansu
    keeps nothing on disk) must not make a new record look like an old one."""
    content = hashlib.sha256(message.value or b"").hexdigest()
    return event_key(f"kafka:{message.topic}/{message.partition}", f"{message.offset}:{content}")


class _RetryCarefully(Exception):
    """A handler failed on the fast path: redo the chunk with a savepoint per event."""


@dataclass
class _Pending:
    """One record of a chunk, parsed (and its keys worked out) once."""

    message: Message
    envelope: dict | None = None
    rejected: Exception | None = None

    @cached_property
    def key(self) -> str | None:
        return event_key(self.envelope["source"], self.envelope["id"]) if self.envelope else None

    @cached_property
    def position(self) -> str:
        return _position_key(self.message)


class EventProcessor:
    """Applies a batch of records to the database, exactly once each.

    A handler is chosen by the record's topic and the event's type together: a topic
    accepts only the types it carries (TOPIC_EVENT_TYPES), an internal topic only from
    the one service that publishes on it (TOPIC_PUBLISHERS), and any other topic (the
    case systems') only from a source the event's tenant has registered. Anything else
    is a dead letter, so an event forged on the wrong topic changes nothing.

    A batch is applied in transactions of at most `transaction_size` events, so a long
    batch never holds the database's write lock for long (the outbox relay needs it).
    Each transaction first tries the fast path: every event applied in one go. If a
    handler raises, the transaction is rolled back and applied again carefully, each
    event in its own savepoint, so the bad one is dead-lettered and the rest kept.

    On the fast path, a handler may read ahead: its optional `prepare(uow, events)` gets
    the transaction's events it may handle before the first is applied (to read in one
    query what each would read on its own), and the rows the handlers insert through
    `uow.insert` are written together (UnitOfWork.batching). The careful path does neither.
    """

    def __init__(
        self,
        *,
        name: str,
        source: str,
        uow_factory: Callable[[], UnitOfWork],
        topics: Iterable[str],
        handlers: dict[str, Handler],
        sealer: Sealer,
        tenant_exists: Callable[[str], bool],
        source_registered: Callable[[str, str], bool],
        transaction_size: int = 100,
    ):
        self.name = name
        self.source = source
        self.uow_factory = uow_factory
        self.routes = routes(topics, handlers)
        self.sealer = sealer
        self.tenant_exists = tenant_exists
        self.source_registered = source_registered
        self.transaction_size = transaction_size

    def process(self, batch: Iterable[Message]) -> None:
        """Apply the batch; raises only if the database fails (then nothing is lost:
        what committed is recorded as processed, the rest is read again)."""
        records = list(batch)
        for start in range(0, len(records), self.transaction_size):
            chunk = [self._parse(message) for message in records[start : start + self.transaction_size]]
            try:
                self._apply_chunk(chunk, careful=False)
            except _RetryCarefully:
                self._apply_chunk(chunk, careful=True)

    @staticmethod
    def _parse(message: Message) -> _Pending:
        try:
            return _Pending(message, envelope=events.parse(message.value or b""))
        except RejectedEvent as rejected:
            return _Pending(message, rejected=rejected)

    def _apply_chunk(self, chunk: list[_Pending], *, careful: bool) -> None:
        outcomes: list[str] = []
        with self.uow_factory() as uow:
            seen = self._processed_keys(uow, chunk)
            if careful:
                newly_processed = self._apply_each(uow, chunk, seen, outcomes, careful=True)
            else:
                newly_processed = self._apply_together(uow, chunk, seen, outcomes)
            if newly_processed:
                now = utcnow()
                uow.session.execute(
                    processed_events.insert(),
                    [{"consumer": self.name, "event_key": key, "processed_at": now} for key in newly_processed],
                )
            uow.commit()
        for outcome in outcomes:
            metrics.EVENTS_CONSUMED.labels(self.name, outcome).inc()

    def _apply_together(self, uow: UnitOfWork, chunk: list[_Pending], seen: set[str], outcomes: list[str]) -> list[str]:
        """The fast path: each handler's `prepare` first (what its events will read, in one
        go), then every event, the rows they insert written together (UnitOfWork.batching).
        Anything failing but the database itself sends the chunk down the careful path."""
        try:
            with uow.batching():
                self._prepare(uow, chunk, seen)
                return self._apply_each(uow, chunk, seen, outcomes, careful=False)
        except (_RetryCarefully, sa.exc.OperationalError):
            raise
        except sa.exc.DBAPIError as exc:  # a row written together with others broke a constraint
            raise _RetryCarefully() from exc

    def _prepare(self, uow: UnitOfWork, chunk: list[_Pending], seen: set[str]) -> None:
        """Hand each handler with a `prepare(uow, events)` the chunk's events it may handle."""
        by_handler: dict[Handler, list[dict]] = {}
        for pending in chunk:
            if pending.envelope is None or pending.key in seen:
                continue
            handler = self.routes.get((pending.message.topic, pending.envelope["type"]))
            if getattr(handler, "prepare", None) is not None:
                by_handler.setdefault(handler, []).append(pending.envelope)
        for handler, envelopes in by_handler.items():
            try:
                handler.prepare(uow, envelopes)
            except sa.exc.OperationalError:
                raise
            except Exception as exc:
                raise _RetryCarefully() from exc

    def _apply_each(
        self, uow: UnitOfWork, chunk: list[_Pending], seen: set[str], outcomes: list[str], *, careful: bool
    ) -> list[str]:
        """Apply the chunk's events in order; the keys to record as processed."""
        newly_processed: list[str] = []
        for pending in chunk:
            position = pending.position
            if position in seen:
                continue  # dead-lettered before, redelivered after a crash
            if pending.rejected is not None:
                self._dead_letter(uow, pending.message, None, pending.rejected.reason, pending.rejected.tenant)
                outcomes.append("dead_lettered")
                newly_processed.append(position)
                seen.add(position)
                continue
            try:
                handler = self._handler_for(pending.message.topic, pending.envelope, seen, pending.key)
            except RejectedEvent as rejected:  # refused before anything was written
                self._dead_letter(uow, pending.message, pending.envelope, rejected.reason, rejected.tenant)
                outcomes.append("dead_lettered")
                newly_processed.append(position)
                seen.add(position)
                continue
            if handler is None:
                outcomes.append("duplicate")
                continue
            try:
                self._run(uow, handler, pending.envelope, careful=careful)
            except sa.exc.OperationalError:
                raise  # the database is away: the whole batch is read again
            except Exception as exc:
                if not careful:
                    raise _RetryCarefully() from exc
                self._dead_letter(uow, pending.message, pending.envelope, _reason(exc), getattr(exc, "tenant", None))
                outcomes.append("dead_lettered")
                newly_processed.append(position)
                seen.add(position)
                continue
            newly_processed.append(pending.key)
            seen.add(pending.key)
            outcomes.append("accepted")
        return newly_processed

    def _processed_keys(self, uow: UnitOfWork, chunk: list[_Pending]) -> set[str]:
        """Which of the chunk's events (and positions) were processed before: one query."""
        return self._seen(uow, [p.position for p in chunk] + [p.key for p in chunk if p.envelope])

    def _seen(self, uow: UnitOfWork, keys: list[str]) -> set[str]:
        return set(
            uow.session.execute(
                sa.select(processed_events.c.event_key).where(
                    processed_events.c.consumer == self.name, processed_events.c.event_key.in_(keys)
                )
            ).scalars()
        )

    def _handler_for(self, topic: str, envelope: dict, seen: set[str], key: str | None = None) -> Handler | None:
        """The event's handler on this topic; None if it was processed before. RejectedEvent
        if it never can be: a type the topic does not carry, a source that may not publish
        on it, an unknown tenant."""
        if (key or event_key(envelope["source"], envelope["id"])) in seen:
            return None
        tenant = envelope["tenant"]
        handler = self.routes.get((topic, envelope["type"]))
        if handler is None:
            raise RejectedEvent(_not_accepted_reason(topic, envelope["type"]), tenant)
        publisher = TOPIC_PUBLISHERS.get(topic)
        if publisher is not None and envelope["source"] != publisher:
            raise RejectedEvent(f"{topic} accepts events only from {publisher}", tenant)
        if not self.tenant_exists(tenant):
            raise RejectedEvent("unknown tenant", tenant)
        if publisher is None and not self.source_registered(tenant, envelope["source"]):
            raise RejectedEvent(SOURCE_NOT_REGISTERED, tenant)
        return handler

    @staticmethod
    def _run(uow: UnitOfWork, handler: Handler, envelope: dict, *, careful: bool) -> None:
        if careful:
            with uow.savepoint():
                handler(uow, envelope)
        else:
            handler(uow, envelope)

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
                envelope = events.parse(self.sealer.open_bytes(row.sealed_payload))
                key = event_key(envelope["source"], envelope["id"])
                handler = self._handler_for(row.topic, envelope, self._seen(uow, [key]))
                outcome = "duplicate" if handler is None else "accepted"
                if handler is not None:
                    self._run(uow, handler, envelope, careful=True)
                    uow.session.execute(
                        processed_events.insert(), {"consumer": self.name, "event_key": key, "processed_at": utcnow()}
                    )
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
        sealed = self.sealer.seal_bytes(message.value or b"")
        uow.session.execute(
            dead_letters.insert(),
            dict(
                id=dead_letter_id,
                consumer=self.name,
                tenant=tenant,
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                # Only what is shaped like the attribute: a sender may write a name in any of them.
                event_source=events.shown_attribute("source", (envelope or {}).get("source")),
                event_id=events.shown_attribute("id", (envelope or {}).get("id")),
                event_type=events.shown_attribute("type", (envelope or {}).get("type")),
                reason=reason,
                sealed_payload=sealed,
                status=DEAD_LETTER_OPEN,
                received_at=utcnow(),
                replay_count=0,
            ),
        )
        uow.publish(
            dlq_topic(message.topic),
            key=dead_letter_id,  # never the sender's key: it may be any bytes, of any length
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
                    "sealed_original": _sealed_for_topic(sealed),
                },
            ),
        )
        log.warning(
            "event dead-lettered",
            extra={"consumer": self.name, "topic": message.topic, "offset": message.offset, "reason": reason},
        )


# Kafka refuses a message over 1 MiB (the producer's and the broker's default), and a
# record just under it grows by a third when sealed: an announcement that big would
# never leave the outbox, and every event queued behind it would wait forever.
SEALED_ORIGINAL_ON_TOPIC_MAX = 512 * 1024


def _sealed_for_topic(sealed: str) -> str | None:
    """The sealed original for the DLQ announcement; None when too big to travel
    (the dead letter keeps it, and replay reads it from there)."""
    return sealed if len(sealed) <= SEALED_ORIGINAL_ON_TOPIC_MAX else None


def routes(topics: Iterable[str], handlers: dict[str, Handler]) -> dict[tuple[str, str], Handler]:
    """(topic, event type) -> handler, for each consumed topic and each type it carries.

    A handler for a type none of the topics carries is a wiring mistake: ValueError."""
    topics = list(topics)
    unknown = set(topics) - set(TOPIC_EVENT_TYPES)
    if unknown:
        raise ValueError(f"no event types are declared for topic(s) {', '.join(sorted(unknown))}")
    chosen = {
        (topic, event_type): handlers[event_type]
        for topic in topics
        for event_type in TOPIC_EVENT_TYPES[topic]
        if event_type in handlers
    }
    unrouted = set(handlers) - {event_type for _, event_type in chosen}
    if unrouted:
        raise ValueError(f"none of {', '.join(topics)} carries {', '.join(sorted(unrouted))}")
    return chosen


def _not_accepted_reason(topic: str, event_type: str) -> str:
    """Name the type when it looks like a type name; never echo arbitrary sender text."""
    if events.shown_attribute("type", event_type) == event_type:
        return f"event type {event_type!r} is not accepted on {topic}"
    return f"event type not accepted on {topic}"


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


class _GroupWatch:
    """Whether the consumer's last group rebalance has finished (kafka-python calls the listener
    before each rebalance and after its assignment arrives, an empty one included)."""

    def __init__(self) -> None:
        self.settled = False

    def listener(self):
        from kafka import ConsumerRebalanceListener

        watch = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked) -> None:
                watch.settled = False

            def on_partitions_assigned(self, assigned) -> None:
                watch.settled = True

        return Listener()


class ConsumerLoop:
    """Polls, hands each batch to the processor, then commits the offsets.

    With `rejoin` (a function making a new subscribed consumer), a consumer whose last group
    rebalance finished with no partitions for it, and still has none `rejoin_after` seconds later
    while its topics have some, closes and rejoins its group: a broker lost during the first group
    join (Tansu) can otherwise leave it idle for minutes. Time spent in a rebalance does not count
    (leaving mid-join would only start the join again, for every member, for as long as joins take).
    Each rejoin that still brings no partitions doubles the wait (up to ten minutes), so a spare
    consumer in a group with more members than partitions rarely disturbs the others.
    """

    MAX_REJOIN_AFTER = 600.0

    def __init__(
        self,
        kafka_consumer,
        processor: EventProcessor,
        *,
        poll_timeout_ms: int = 500,
        rejoin: Callable[[], object] | None = None,
        rejoin_after: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.kafka = kafka_consumer
        self.processor = processor
        self.poll_timeout_ms = poll_timeout_ms
        self.rejoin = rejoin
        self.rejoin_after = rejoin_after
        self.monotonic = monotonic
        self._wait = rejoin_after
        self._unassigned_since: float | None = None
        self._group = _GroupWatch()
        if rejoin is not None:
            self._follow_rebalances()

    def run(self, stop: threading.Event) -> None:
        backoff = 0.0
        try:
            while not stop.is_set():
                records = self.kafka.poll(timeout_ms=self.poll_timeout_ms)
                self._check_assignment()
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
                self._commit(records)
                self._record_lag(records)
        finally:
            self.kafka.close(autocommit=False)

    def _commit(self, records: dict[TopicPartition, list]) -> None:
        from kafka import OffsetAndMetadata

        try:
            self.kafka.commit(
                {
                    tp: OffsetAndMetadata(partition_records[-1].offset + 1, "", -1)
                    for tp, partition_records in records.items()
                }
            )
        except kafka_error() as exc:  # e.g. a rebalance took the partitions: redelivery is a no-op
            log.warning("offset commit failed; the batch may be delivered again", extra={"error": type(exc).__name__})

    def _check_assignment(self) -> None:
        """Rejoin the group when no partitions came for too long while the topics have some."""
        if self.rejoin is None:
            return
        if self.kafka.assignment():
            self._unassigned_since, self._wait = None, self.rejoin_after
            return
        if not self._group.settled:  # a rebalance is under way, however long it takes
            self._unassigned_since = None
            return
        now = self.monotonic()
        if self._unassigned_since is None:
            self._unassigned_since = now
            return
        if now - self._unassigned_since < self._wait or not self._topics_have_partitions():
            return
        log.warning(
            "no partitions assigned; rejoining the consumer group",
            extra={"consumer": self.processor.name, "waited": round(now - self._unassigned_since, 1)},
        )
        metrics.CONSUMER_REJOINS.labels(self.processor.name).inc()
        try:
            self.kafka.close(autocommit=False)
        except kafka_error() as exc:
            log.warning("closing the idle consumer failed", extra={"error": type(exc).__name__})
        self.kafka = self.rejoin()
        self._follow_rebalances()
        self._unassigned_since, self._wait = None, min(self._wait * 2, self.MAX_REJOIN_AFTER)

    def _follow_rebalances(self) -> None:
        """Subscribe again to the same topics with a listener, so the loop knows when the group's
        rebalances begin and end (before the first poll nothing has joined yet)."""
        self._group = _GroupWatch()
        self.kafka.subscribe(topics=sorted(self.kafka.subscription() or ()), listener=self._group.listener())

    def _topics_have_partitions(self) -> bool:
        try:
            return any(self.kafka.partitions_for_topic(topic) for topic in self.kafka.subscription() or ())
        except kafka_error():
            return False  # the broker is away: rejoining now would not help

    def _record_lag(self, records: dict[TopicPartition, list]) -> None:
        """How many records each partition just read still has behind it (for the lag alert)."""
        for tp, partition_records in records.items():
            try:
                highwater = self.kafka.highwater(tp)
            except (kafka_error(), AssertionError):  # the partition was revoked meanwhile
                continue
            if highwater is not None:
                behind = max(highwater - (partition_records[-1].offset + 1), 0)
                metrics.CONSUMER_LAG.labels(self.processor.name, tp.topic, str(tp.partition)).set(behind)
        metrics.CONSUMER_LAST_BATCH.labels(self.processor.name).set_to_current_time()

    def _rewind(self, records: dict[TopicPartition, list]) -> None:
        for tp, partition_records in records.items():
            self.kafka.seek(tp, partition_records[0].offset)
