"""The broker is lost while a consumer makes its first group join (Tansu forgets the group and
its member): the consumer joins the new broker's group and reads what arrives, and its own
rejoin rule (a short one here) never interrupts a join that is still under way."""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa

from services.intake.adapters.tables import contributions
from shared.messaging import kafka
from shared.messaging.consumer import ConsumerLoop
from shared.rules.constants import SUBMISSIONS_TOPIC
from tests.support import factories
from tests.support.running import Worker


def stored(platform) -> int:
    with platform.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(contributions)).scalar_one()


def test_broker_lost_during_the_first_join_the_consumer_joins_again_and_reads_what_came_after(
    intake, council, engagement, broker
):
    group = f"intake-{uuid.uuid4().hex[:6]}"

    def subscribe():
        return kafka.consumer(broker.bootstrap, group_id=group, topics=[SUBMISSIONS_TOPIC])

    # Shorter than a join on Tansu takes: leaving whenever a join is slow would restart it for ever.
    loop = ConsumerLoop(subscribe(), intake.processor, poll_timeout_ms=200, rejoin=subscribe, rejoin_after=2.0)
    worker = Worker("consumer", loop.run)
    try:
        time.sleep(0.3)  # the first join has begun
        broker.restart_empty()
        broker.produce(
            SUBMISSIONS_TOPIC,
            [
                factories.submission_event(council.slug, factories.contribution_payload(engagement["id"]))
                for _ in range(5)
            ],
        )
        deadline = time.monotonic() + 90
        while stored(intake) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.join()

    assert worker.crashed is None
    assert stored(intake) == 5
