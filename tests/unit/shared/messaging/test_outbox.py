"""The outbox relay: nothing is lost when the broker is away, and order holds."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from kafka.errors import KafkaTimeoutError

from shared.infra.tables import outbox, utcnow
from shared.messaging import events
from shared.messaging.outbox import BrokerUnavailable, OutboxRelay, backlog, republish_retained
from shared.rules.constants import CONTRIBUTION_RECEIVED, CONTRIBUTIONS_TOPIC


@dataclass
class Sent:
    topic: str
    key: bytes
    value: bytes
    headers: list

    @property
    def event_id(self) -> str:
        return json.loads(self.value)["id"]


class Delivery:
    """What kafka-python's send() returns: done or not, and whether it succeeded."""

    def __init__(self, *, done: bool, ok: bool):
        self.is_done = done
        self._ok = ok

    def succeeded(self) -> bool:
        return self._ok


class FakeProducer:
    """A broker stand-in. Sends are numbered from 1 over the producer's life.

    `failing`: sends the broker refuses; `unanswered`: sends still pending when flush
    returns; `unreachable`: send() raises as kafka-python does when it gets no metadata.
    """

    def __init__(self, *, failing=(), unanswered=(), unreachable=False, flush_error: Exception | None = None):
        self.sent: list[Sent] = []
        self.failing, self.unanswered = set(failing), set(unanswered)
        self.unreachable = unreachable
        self.flush_error = flush_error

    def send(self, topic, *, key, value, headers):
        if self.unreachable:
            raise KafkaTimeoutError("Failed to update metadata after 10.0 secs.")
        self.sent.append(Sent(topic, key, value, headers))
        number = len(self.sent)
        return Delivery(done=number not in self.unanswered, ok=number not in self.failing)

    def flush(self, timeout=None):
        if self.flush_error:
            raise self.flush_error


def announce(intake, count: int) -> list[dict]:
    """Write `count` contribution.received events to the outbox, as a use case would."""
    envelopes = []
    with intake.uow() as uow:
        for n in range(count):
            aggregate = str(uuid.uuid4())
            envelope = events.make(
                type=CONTRIBUTION_RECEIVED, source=intake.source, tenant="wiltshire", subject=aggregate, data={"n": n}
            )
            uow.publish(CONTRIBUTIONS_TOPIC, aggregate, envelope)
            envelopes.append(envelope)
        uow.commit()
    return envelopes


def unpublished_event_ids(intake) -> list[str]:
    with intake.engine.connect() as connection:
        payloads = connection.execute(
            sa.select(outbox.c.payload).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id)
        ).scalars()
        return [json.loads(payload)["id"] for payload in payloads]


def outbox_row_count(intake) -> int:
    with intake.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()


def relay(intake, producer: FakeProducer) -> OutboxRelay:
    return OutboxRelay(intake.engine, producer, service="intake")


class TestPublishing:
    def test_rows_go_out_in_order_keyed_by_aggregate_with_the_cloudevents_content_type(self, intake):
        envelopes = announce(intake, 5)
        producer = FakeProducer()

        published = relay(intake, producer).publish_batch()

        assert published == 5
        assert [s.event_id for s in producer.sent] == [e["id"] for e in envelopes]
        assert [s.key for s in producer.sent] == [e["subject"].encode() for e in envelopes]
        assert {s.topic for s in producer.sent} == {CONTRIBUTIONS_TOPIC}
        assert all(s.headers == [("content-type", b"application/cloudevents+json")] for s in producer.sent)
        assert unpublished_event_ids(intake) == []

    def test_a_published_row_is_not_sent_again(self, intake):
        announce(intake, 2)
        producer = FakeProducer()
        relay(intake, producer).publish_batch()

        assert relay(intake, producer).publish_batch() == 0
        assert len(producer.sent) == 2

    def test_one_batch_takes_at_most_batch_size_rows(self, intake):
        envelopes = announce(intake, 5)
        producer = FakeProducer()

        published = OutboxRelay(intake.engine, producer, service="intake", batch_size=2).publish_batch()

        assert published == 2
        assert unpublished_event_ids(intake) == [e["id"] for e in envelopes[2:]]

    def test_after_a_broker_came_back_empty_the_retained_outbox_goes_out_again_in_order(self, intake):
        envelopes = announce(intake, 3)
        producer = FakeProducer()
        relay(intake, producer).publish_batch()
        later = announce(intake, 1)

        assert republish_retained(intake.engine) == 3
        relay(intake, producer).publish_batch()

        ids = [e["id"] for e in envelopes]
        assert [s.event_id for s in producer.sent] == ids + ids + [later[0]["id"]]
        assert unpublished_event_ids(intake) == []


class TestBrokerTrouble:
    def test_when_the_third_of_five_fails_the_first_two_are_kept_and_the_rest_sent_again(self, intake):
        envelopes = announce(intake, 5)
        ids = [e["id"] for e in envelopes]
        producer = FakeProducer(failing={3})

        with pytest.raises(BrokerUnavailable):
            relay(intake, producer).publish_batch()

        assert unpublished_event_ids(intake) == ids[2:]
        assert relay(intake, producer).publish_batch() == 3
        assert [s.event_id for s in producer.sent[5:]] == ids[2:]
        assert unpublished_event_ids(intake) == []

    def test_only_acknowledged_rows_are_marked_published(self, intake):
        envelopes = announce(intake, 4)
        producer = FakeProducer(unanswered={2})

        with pytest.raises(BrokerUnavailable):
            relay(intake, producer).publish_batch()

        assert unpublished_event_ids(intake) == [e["id"] for e in envelopes[1:]]

    def test_a_flush_that_times_out_keeps_what_was_acknowledged(self, intake):
        envelopes = announce(intake, 3)
        producer = FakeProducer(unanswered={3}, flush_error=KafkaTimeoutError("flush timed out"))

        with pytest.raises(BrokerUnavailable):
            relay(intake, producer).publish_batch()

        assert unpublished_event_ids(intake) == [envelopes[2]["id"]]

    def test_a_broker_that_cannot_be_reached_is_reported_as_unavailable_and_rows_wait(self, intake):
        envelopes = announce(intake, 2)

        with pytest.raises(BrokerUnavailable):
            relay(intake, FakeProducer(unreachable=True)).publish_batch()

        assert unpublished_event_ids(intake) == [e["id"] for e in envelopes]


class TestPurge:
    def test_published_rows_are_kept_for_seven_days(self, intake):
        announce(intake, 2)
        outbox_relay = relay(intake, FakeProducer())
        outbox_relay.publish_batch()

        assert outbox_relay.purge_published(now=utcnow() + dt.timedelta(days=6, hours=23)) == 0
        assert outbox_row_count(intake) == 2

    def test_published_rows_older_than_seven_days_are_removed_and_unpublished_ones_never(self, intake):
        announce(intake, 2)
        outbox_relay = relay(intake, FakeProducer())
        outbox_relay.publish_batch()
        waiting = announce(intake, 1)

        assert outbox_relay.purge_published(now=utcnow() + dt.timedelta(days=7, minutes=1)) == 2
        assert unpublished_event_ids(intake) == [waiting[0]["id"]]
        assert outbox_row_count(intake) == 1


class TestBacklog:
    def insert(self, intake, *, created_ago: dt.timedelta, published: bool) -> None:
        now = utcnow()
        with intake.engine.begin() as connection:
            connection.execute(
                outbox.insert().values(
                    topic=CONTRIBUTIONS_TOPIC,
                    message_key=str(uuid.uuid4()),
                    payload=b"{}",
                    created_at=now - created_ago,
                    published_at=now if published else None,
                )
            )

    def test_an_empty_outbox_has_no_backlog(self, intake):
        assert backlog(intake.engine) == (0, 0.0)

    def test_counts_unpublished_rows_and_ages_the_oldest(self, intake):
        self.insert(intake, created_ago=dt.timedelta(hours=2), published=True)
        self.insert(intake, created_ago=dt.timedelta(seconds=90), published=False)
        self.insert(intake, created_ago=dt.timedelta(seconds=5), published=False)

        count, age = backlog(intake.engine)

        assert count == 2
        assert 90 <= age < 100
