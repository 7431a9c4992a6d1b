"""Case systems publish submissions on a real broker; intake accepts, deduplicates,
dead-letters what it cannot accept, and announces what it accepted."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from services.intake.adapters.tables import contributions, participants
from shared.rules.constants import (
    CONTRIBUTION_RECEIVED,
    CONTRIBUTIONS_TOPIC,
    PARTICIPANTS_TOPIC,
    SOURCE_NOT_REGISTERED,
    SUBMISSIONS_TOPIC,
    dlq_topic,
)
from shared.rules.contact_details import phone_number
from tests.support import factories
from tests.support.running import running

DLQ = dlq_topic(SUBMISSIONS_TOPIC)


def count(platform, table) -> int:
    with platform.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def test_submissions_become_contributions_announced_on_the_outbound_topics(intake, council, engagement, broker):
    submissions = [
        factories.submission_event(council.slug, factories.contribution_payload(engagement["id"])) for _ in range(5)
    ]
    broker.produce(SUBMISSIONS_TOPIC, submissions)

    with running(intake, broker.bootstrap, [SUBMISSIONS_TOPIC]):
        received = broker.wait_for_events(CONTRIBUTIONS_TOPIC, 5)

    assert count(intake, contributions) == 5
    assert [e["type"] for e in received] == [CONTRIBUTION_RECEIVED] * 5
    assert all(e["tenant"] == council.slug and e["data"]["status"] == "received" for e in received)
    references = sorted(e["data"]["reference"] for e in received)
    assert references == [f"WILTSHIRE-{time.gmtime().tm_year}-{n:06d}" for n in range(1, 6)]
    # Nothing on any topic carries a participant's contact details or their words in plain text.
    on_topics = json.dumps(broker.events(CONTRIBUTIONS_TOPIC) + broker.events(PARTICIPANTS_TOPIC))
    for submission in submissions:
        person = submission["data"]["participant"]
        stored_phone = phone_number(person["phone"])  # as intake keeps it
        for secret in (person["name"], person["email"], person["phone"], stored_phone, submission["data"]["text"]):
            assert secret not in on_topics


def test_a_repeated_source_and_id_creates_nothing_new(intake, council, engagement, broker):
    submission = factories.submission_event(council.slug, factories.contribution_payload(engagement["id"]))
    broker.produce(SUBMISSIONS_TOPIC, [submission, submission])
    later = factories.submission_event(council.slug, factories.contribution_payload(engagement["id"]))

    with running(intake, broker.bootstrap, [SUBMISSIONS_TOPIC]):
        broker.wait_for_events(CONTRIBUTIONS_TOPIC, 1)
        broker.produce(SUBMISSIONS_TOPIC, [submission, later])
        broker.wait_for_events(CONTRIBUTIONS_TOPIC, 2)

    assert count(intake, contributions) == 2
    assert count(intake, participants) == 2


def test_poison_messages_go_to_the_dlq_with_reasons_and_the_next_good_event_is_accepted(
    intake, intake_api, council, engagement, broker
):
    good = factories.contribution_payload(engagement["id"])
    bad_data = factories.contribution_payload(engagement["id"], on_behalf_of=0)
    unknown_engagement = factories.contribution_payload("no-such-engagement")
    missing_tenant = factories.submission_event(council.slug, good)
    del missing_tenant["tenant"]
    poison = [
        b"\xff\xfe not even text",
        b"{this is not json",
        json.dumps({"hello": "world"}).encode(),
        factories.submission_event(council.slug, good, type="contribution.exploded"),
        missing_tenant,
        factories.submission_event("atlantis", good),
        factories.submission_event(council.slug, bad_data),
        factories.submission_event(council.slug, unknown_engagement),
    ]
    broker.produce(SUBMISSIONS_TOPIC, [*poison, factories.submission_event(council.slug, good)], key=b"one-partition")

    with running(intake, broker.bootstrap, [SUBMISSIONS_TOPIC]):
        dead = broker.wait_for_events(DLQ, len(poison))
        broker.wait_for_events(CONTRIBUTIONS_TOPIC, 1)

    # In the order they were sent (each dead letter is keyed by its own id, so read by offset).
    reasons = [e["data"]["reason"] for e in sorted(dead, key=lambda e: e["data"]["offset"])]
    assert reasons[0].startswith("not JSON")
    assert reasons[1].startswith("not JSON")
    assert reasons[2].startswith("not a CloudEvent") and "specversion" in reasons[2]
    assert reasons[3] == "event type 'contribution.exploded' is not accepted on intake.submissions"
    assert reasons[4].startswith("not a CloudEvent") and "tenant" in reasons[4]
    assert reasons[5] == "unknown tenant"
    assert "on_behalf_of" in reasons[6]
    assert "engagement_id" in reasons[7]
    assert count(intake, contributions) == 1
    # The original is kept sealed: the DLQ carries no contact details in plain text.
    assert good["participant"]["email"] not in json.dumps(dead)

    listed = intake_api.as_("case-system").get("/v1/dead-letters").json
    # Only those that named this council; the rest are for the operator's CLI.
    assert sorted(item["reason"] for item in listed["items"]) == sorted([reasons[3], reasons[6], reasons[7]])


def test_a_dead_letter_replayed_after_the_fix_is_accepted(intake, intake_api, council, engagement, broker):
    from tests.support.api import create_tenant

    early = factories.submission_event("swindon", factories.contribution_payload(engagement["id"]))
    broker.produce(SUBMISSIONS_TOPIC, [early])
    with running(intake, broker.bootstrap, [SUBMISSIONS_TOPIC]):
        broker.wait_for_events(DLQ, 1)

    swindon = create_tenant(intake.keys, "swindon")  # the fix: the council is onboarded
    swindon_api = intake_api.as_("staff", tenant=swindon)
    dead_letter = swindon_api.get("/v1/dead-letters").json["items"][0]
    assert dead_letter["reason"] == "unknown tenant"

    replay = swindon_api.post(f"/v1/dead-letters/{dead_letter['id']}/replay")
    # The engagement belongs to wiltshire, so swindon's submission is still refused, with the new reason.
    assert replay.status_code == 422
    assert "engagement_id" in replay.json["errors"]["event"][0]
    assert swindon_api.get(f"/v1/dead-letters/{dead_letter['id']}").json["replay_count"] == 1

    # Another tenant cannot see or replay it.
    assert intake_api.post(f"/v1/dead-letters/{dead_letter['id']}/replay").status_code == 404


def test_a_fixed_resend_is_accepted_once_and_closes_its_dead_letter_on_replay(
    intake, intake_api, council, engagement, broker
):
    from tests.support.api import create_tenant

    submission = factories.submission_event("swindon", factories.contribution_payload(engagement["id"]))
    broker.produce(SUBMISSIONS_TOPIC, [submission])
    with running(intake, broker.bootstrap, [SUBMISSIONS_TOPIC]):
        broker.wait_for_events(DLQ, 1)

    swindon_api = intake_api.as_("staff", tenant=create_tenant(intake.keys, "swindon"))
    swindon_engagement = swindon_api.post("/v1/engagements", json=factories.engagement_payload()).json
    dead_letter_id = swindon_api.get("/v1/dead-letters").json["items"][0]["id"]
    # Its engagement id pointed at wiltshire's engagement; the case system fixes the data and
    # re-sends under the same id, which is accepted because nothing was created the first time.
    fixed = dict(submission, data={**submission["data"], "engagement_id": swindon_engagement["id"]})
    with running(intake, broker.bootstrap, [SUBMISSIONS_TOPIC]):
        broker.produce(SUBMISSIONS_TOPIC, [fixed])
        broker.wait_for_events(CONTRIBUTIONS_TOPIC, 1)
        broker.produce(SUBMISSIONS_TOPIC, [fixed])  # and a redelivery of it is a no-op
        time.sleep(1.0)

    assert swindon_api.get("/v1/contributions").json["total"] == 1
    # Replaying the original now finds that submission already accepted: it is closed, nothing new.
    replay = swindon_api.post(f"/v1/dead-letters/{dead_letter_id}/replay")
    assert (replay.status_code, replay.json["status"], replay.json["outcome"]) == (200, "replayed", "duplicate")
    assert swindon_api.get("/v1/contributions").json["total"] == 1


def test_consumer_killed_between_database_commit_and_offset_commit_creates_nothing_twice(
    intake, council, engagement, broker
):
    from shared.messaging import kafka
    from tests.support.running import start_consumer

    class DiesBeforeOffsetCommit:
        """A real consumer whose process 'dies' right after the database commit."""

        def __init__(self, client):
            self.client = client

        def poll(self, **kwargs):
            return self.client.poll(**kwargs)

        def commit(self, offsets):
            raise SystemExit("killed between database commit and offset commit")

        def close(self, autocommit=False):
            self.client.close(autocommit=autocommit)

    submissions = [
        factories.submission_event(council.slug, factories.contribution_payload(engagement["id"])) for _ in range(20)
    ]
    broker.produce(SUBMISSIONS_TOPIC, submissions)
    group = "intake-crash-test"

    doomed = start_consumer(
        intake,
        broker.bootstrap,
        [SUBMISSIONS_TOPIC],
        group=group,
        kafka_client=DiesBeforeOffsetCommit(
            kafka.consumer(broker.bootstrap, group_id=group, topics=[SUBMISSIONS_TOPIC])
        ),
    )
    doomed.thread.join(60)
    assert isinstance(doomed.crashed, SystemExit)
    created_before_crash = count(intake, contributions)
    assert created_before_crash > 0

    restarted = start_consumer(intake, broker.bootstrap, [SUBMISSIONS_TOPIC], group=group)
    wait_until(lambda: count(intake, contributions) == 20)
    time.sleep(1.0)  # give any duplicate the chance to appear
    restarted.join()

    assert restarted.crashed is None
    assert count(intake, contributions) == 20
    assert count(intake, participants) == 20


def test_a_submission_from_an_unregistered_source_is_accepted_on_replay_once_the_admin_registers_it(
    intake, intake_api, council, engagement, broker
):
    children = "https://case-system.example.gov.uk/childrens-services"
    submission = factories.submission_event(
        council.slug, factories.contribution_payload(engagement["id"]), source=children
    )
    broker.produce(SUBMISSIONS_TOPIC, [submission])
    with running(intake, broker.bootstrap, [SUBMISSIONS_TOPIC]):
        broker.wait_for_events(DLQ, 1)
    [dead_letter] = intake_api.get("/v1/dead-letters").json["items"]
    assert dead_letter["reason"] == SOURCE_NOT_REGISTERED
    assert intake_api.get("/v1/contributions").json["total"] == 0

    registered = intake_api.as_("admin").post("/v1/sources", json={"source": children})  # the fix
    replay = intake_api.post(f"/v1/dead-letters/{dead_letter['id']}/replay")

    assert registered.status_code == 201
    assert (replay.status_code, replay.json["outcome"]) == (200, "accepted")
    assert intake_api.get("/v1/contributions").json["total"] == 1
