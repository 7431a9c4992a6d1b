"""What the outbox relay and Kafka do between services, without either (unit tier).

A service's new outbox rows are handed, as Kafka records, to the EventProcessor of every
service that consumes their topic (its bootstrap's INBOUND_TOPICS), until nothing new
is announced. `send()` delivers one event a test built itself.
"""

from __future__ import annotations

import importlib
import itertools
import json

import sqlalchemy as sa

from shared.infra.platform import Platform
from shared.infra.tables import outbox
from shared.messaging import events
from shared.messaging.consumer import Message


def inbound_topics(service: str) -> list[str]:
    return importlib.import_module(f"services.{service}.bootstrap").INBOUND_TOPICS


class Relay:
    def __init__(self, platforms: dict[str, Platform]):
        self.platforms = platforms
        self.relayed_up_to = dict.fromkeys(platforms, 0)  # the last outbox id handed over, per producer
        self._offsets = itertools.count(5_000_000)

    def announced(self, service: str, *, type_: str | None = None) -> list[dict]:
        """Every event `service` has announced (optionally of one type), oldest first."""
        with self.platforms[service].engine.connect() as connection:
            payloads = connection.execute(sa.select(outbox.c.payload).order_by(outbox.c.id)).scalars()
            found = [json.loads(payload) for payload in payloads]
        return [event for event in found if type_ is None or event["type"] == type_]

    def deliver(self) -> None:
        while True:
            moved = False
            for producer, platform in self.platforms.items():
                with platform.engine.connect() as connection:
                    rows = connection.execute(
                        sa.select(outbox).where(outbox.c.id > self.relayed_up_to[producer]).order_by(outbox.c.id)
                    ).all()
                if not rows:
                    continue
                moved = True
                self.relayed_up_to[producer] = rows[-1].id
                for consumer, consuming in self.platforms.items():
                    topics = inbound_topics(consumer)
                    batch = [self.message(row.topic, bytes(row.payload)) for row in rows if row.topic in topics]
                    if batch:
                        consuming.processor.process(batch)
            if not moved:
                return

    def message(self, topic: str, value: bytes) -> Message:
        return Message(topic, 0, next(self._offsets), b"", value)

    def send(self, service: str, topic: str, *envelopes: dict) -> None:
        """Deliver events built by the test to one service, in one batch."""
        self.platforms[service].processor.process([self.message(topic, events.dumps(e)) for e in envelopes])
