"""How decisions keeps its read models from other services' events, through its real processor."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import sqlalchemy as sa

from services.decisions.adapters.tables import contributions_view, engagements_view, messages_view, ratings_view
from services.decisions.bootstrap import INBOUND_TOPICS
from services.decisions.service_layer import views
from services.decisions.service_layer.handlers import HANDLERS
from shared.infra.tables import outbox, utcnow
from shared.messaging.consumer import Message
from shared.messaging.events import dumps, make
from shared.rules.constants import (
    CONTRIBUTION_LINKED,
    CONTRIBUTIONS_TOPIC,
    ENGAGEMENTS_TOPIC,
    ERASED_TEXT,
    NOTIFICATIONS_TOPIC,
    OUTCOME_RATED,
    TOPIC_EVENT_TYPES,
    dlq_topic,
)
from tests.support import factories
from tests.support.clock import uk_today
from tests.support.handling import handle
from tests.unit.services.decisions.actions import link, record, stored


def envelope_of(message: Message) -> dict:
    return json.loads(message.value)


def retold(message: Message, offset: int, **changes) -> Message:
    """The same event told again by someone else: a fresh event id, with these changes."""
    envelope = {**envelope_of(message), "id": str(uuid.uuid4()), **changes}
    return Message(message.topic, message.partition, offset, message.key, dumps(envelope))


def of_type(messages: list[Message], type_: str) -> Message:
    [found] = [m for m in messages if envelope_of(m)["type"] == type_]
    return found


def everything(decisions) -> dict[str, list]:
    """Every read model and the outbox, to compare before and after."""

    return {
        table.name: sorted(map(tuple, stored(decisions, table)), key=repr)
        for table in (contributions_view, engagements_view, messages_view, ratings_view, outbox)
    }


class TestTenantMismatch:
    def test_an_engagement_event_from_another_tenant_for_a_known_id_is_dead_lettered(
        self, decisions, feed, known_engagement, council, other_council, dead_lettered, announced
    ):
        original = of_type(feed.messages(), "engagement.created")
        changed_data = {**envelope_of(original)["data"], "title": "Taken over", "cannot_change": []}

        decisions.processor.process([retold(original, 9_001, tenant=other_council.slug, data=changed_data)])

        [dead] = dead_lettered()
        assert dead.reason == "tenant does not match the engagement it refers to"
        assert dead.tenant == other_council.slug
        assert dead.event_type == "engagement.created"
        [row] = stored(decisions, engagements_view)
        assert (row.tenant, row.title) == (council.slug, known_engagement["title"])
        assert row.cannot_change == known_engagement["cannot_change"]
        # Keyed by the dead letter itself, never by bytes the sender chose.
        assert [key for key, e in announced() if e["type"] == "event.dead_lettered"] == [dead.id]
        assert {e["data"]["topic"] for _, e in announced("event.dead_lettered")} == {ENGAGEMENTS_TOPIC}

    def test_a_contribution_event_from_another_tenant_for_a_known_id_is_dead_lettered(
        self, decisions, feed, new_contribution, council, other_council, dead_lettered
    ):
        contribution = new_contribution()
        original = of_type(feed.messages(), "contribution.received")

        decisions.processor.process([retold(original, 9_002, tenant=other_council.slug)])

        [dead] = dead_lettered()
        assert dead.reason == "tenant does not match the contribution it refers to"
        assert dead.tenant == other_council.slug
        [row] = stored(decisions, contributions_view)
        assert row.tenant == council.slug
        assert views.outcome_chain(decisions.uow(), council.slug, contribution["id"], today=uk_today())

    def test_their_contribution_to_our_engagement_is_dead_lettered_and_the_next_is_kept(
        self, decisions, feed, intake_api, known_engagement, council, other_council, new_contribution, dead_lettered
    ):
        theirs_api = intake_api.as_(tenant=other_council)
        their_engagement = theirs_api.post("/v1/engagements", json=factories.engagement_payload()).json
        new_contribution(their_engagement["id"], api=theirs_api)
        theirs = of_type(feed.messages(), "contribution.received")
        before = {(row.id, row.tenant) for row in stored(decisions, contributions_view)}

        onto_ours = {**envelope_of(theirs)["data"], "id": str(uuid.uuid4()), "engagement_id": known_engagement["id"]}
        good = {**envelope_of(theirs)["data"], "id": str(uuid.uuid4())}
        decisions.processor.process([retold(theirs, 9_004, data=onto_ours), retold(theirs, 9_005, data=good)])

        [dead] = dead_lettered()
        assert (dead.reason, dead.tenant) == ("tenant does not match the engagement it refers to", other_council.slug)
        report = views.you_said_we_did(decisions.uow(), council.slug, known_engagement["id"])
        assert report["you_said"]["contributions"] == 0
        kept = {(row.id, row.tenant) for row in stored(decisions, contributions_view)}
        assert kept - before == {(good["id"], other_council.slug)}

    def test_the_dead_letter_goes_to_the_topics_dlq(self, decisions, feed, new_contribution, other_council):
        new_contribution()
        original = of_type(feed.messages(), "contribution.received")

        decisions.processor.process([retold(original, 9_003, tenant=other_council.slug)])

        with decisions.engine.connect() as connection:
            topics = list(connection.execute(sa.select(outbox.c.topic)).scalars())
        assert topics == [dlq_topic(CONTRIBUTIONS_TOPIC)]

    def test_a_rating_from_another_tenant_for_a_known_contribution_is_dead_lettered(
        self, decisions, feed, new_contribution, other_council, dead_lettered
    ):
        contribution = new_contribution()
        now = utcnow()

        feed.send(
            NOTIFICATIONS_TOPIC,
            make(
                type=OUTCOME_RATED,
                source="urn:outcome-chain:notifier",
                tenant=other_council.slug,
                data={"contribution_id": contribution["id"], "rating": "no", "rated_at": now.isoformat()},
            ),
        )

        [dead] = dead_lettered()
        assert dead.reason == "tenant does not match the contribution it refers to"
        assert stored(decisions, ratings_view) == []

    def test_a_notification_status_from_another_tenant_for_a_known_message_is_dead_lettered(
        self, decisions, feed, new_contribution, council, other_council, dead_lettered
    ):
        contribution = new_contribution()
        notification_id = str(uuid.uuid4())
        now = utcnow()
        feed.notification(council.slug, contribution["id"], "sent", now, notification_id=notification_id)

        feed.notification(
            other_council.slug,
            contribution["id"],
            "failed",
            now + dt.timedelta(minutes=1),
            notification_id=notification_id,
        )

        [dead] = dead_lettered()
        assert dead.reason == "tenant does not match the notification it refers to"
        [row] = stored(decisions, messages_view)
        assert (row.tenant, row.status) == (council.slug, "sent")

    def test_a_notification_from_another_tenant_about_a_known_contribution_is_dead_lettered(
        self, decisions, feed, new_contribution, council, other_council, dead_lettered
    ):
        contribution = new_contribution()

        feed.notification(
            other_council.slug, contribution["id"], "delivered", utcnow(), notification_id=str(uuid.uuid4())
        )

        found = views.outcome_chain(decisions.uow(), council.slug, contribution["id"], today=uk_today())
        assert found["messages"] == []
        assert [dead.reason for dead in dead_lettered()] == ["tenant does not match the contribution it refers to"]


class TestMessageStatus:
    def test_a_late_sent_never_undoes_delivered(self, decisions, feed, new_contribution, council):
        contribution = new_contribution()
        notification_id = str(uuid.uuid4())
        now = utcnow()

        feed.notification(council.slug, contribution["id"], "delivered", now, notification_id=notification_id)
        feed.notification(
            council.slug, contribution["id"], "sent", now - dt.timedelta(seconds=5), notification_id=notification_id
        )

        [row] = stored(decisions, messages_view)
        assert (row.status, row.status_at) == ("delivered", now)

    def test_sent_then_delivered_moves_forward(self, decisions, feed, new_contribution, council):
        contribution = new_contribution()
        notification_id = str(uuid.uuid4())
        now = utcnow()

        feed.notification(council.slug, contribution["id"], "sent", now, notification_id=notification_id)
        feed.notification(
            council.slug,
            contribution["id"],
            "delivered",
            now + dt.timedelta(seconds=30),
            notification_id=notification_id,
        )

        [row] = stored(decisions, messages_view)
        assert row.status == "delivered"

    def test_a_late_sent_never_undoes_failed(self, decisions, feed, new_contribution, council):
        contribution = new_contribution()
        notification_id = str(uuid.uuid4())
        now = utcnow()

        feed.notification(
            council.slug, contribution["id"], "failed", now, notification_id=notification_id, reason="permanent-failure"
        )
        feed.notification(
            council.slug, contribution["id"], "sent", now - dt.timedelta(seconds=5), notification_id=notification_id
        )

        [row] = stored(decisions, messages_view)
        assert (row.status, row.reason) == ("failed", "permanent-failure")

    def test_a_status_the_read_model_does_not_know_is_dead_lettered(
        self, decisions, feed, new_contribution, council, dead_lettered
    ):
        contribution = new_contribution()

        feed.notification(council.slug, contribution["id"], "opened", utcnow(), notification_id=str(uuid.uuid4()))

        [dead] = dead_lettered()
        assert dead.reason == "event type 'notification.opened' is not accepted on outcomes.notifications"
        assert stored(decisions, messages_view) == []


class TestDuplicates:
    def test_the_same_batch_twice_changes_nothing(
        self, decisions, feed, intake_api, engagement, board_actor, board_id, council
    ):
        contribution = intake_api.post(
            "/v1/contributions", json=factories.contribution_payload(engagement["id"])
        ).get_json()
        decision, _, _ = record(decisions, board_actor, board_id)
        link(decisions, board_actor, decision.id, contribution["id"])
        batch = feed.deliver()
        before = everything(decisions)

        decisions.processor.process(batch)

        assert everything(decisions) == before

    def test_the_same_event_at_another_offset_changes_nothing(
        self, decisions, feed, new_contribution, board_actor, board_id, announced
    ):
        contribution = new_contribution(deliver=False)
        decision, _, _ = record(decisions, board_actor, board_id)
        link(decisions, board_actor, decision.id, contribution["id"])
        batch = feed.deliver()
        before = everything(decisions)

        redelivered = [Message(m.topic, 1, m.offset + 50_000, m.key, m.value) for m in batch]
        decisions.processor.process(redelivered)

        assert everything(decisions) == before
        assert len(announced(CONTRIBUTION_LINKED)) == 1

    def test_a_duplicate_notification_changes_nothing(self, decisions, feed, new_contribution, council):
        contribution = new_contribution()
        event = feed.notification(
            council.slug, contribution["id"], "delivered", utcnow(), notification_id=str(uuid.uuid4())
        )
        before = everything(decisions)

        feed.send(NOTIFICATIONS_TOPIC, event)

        assert everything(decisions) == before


class TestBadEvents:
    def test_a_contribution_event_missing_a_field_is_dead_lettered_naming_it(
        self, decisions, feed, intake_api, engagement, dead_lettered
    ):
        intake_api.post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
        original = of_type(feed.messages(), "contribution.received")
        data = {k: v for k, v in envelope_of(original)["data"].items() if k != "participant_id"}

        decisions.processor.process([retold(original, 9_100, data=data)])

        [dead] = dead_lettered()
        assert "participant_id" in dead.reason
        assert stored(decisions, contributions_view) == []

    def test_one_bad_event_does_not_hold_up_the_others(
        self, decisions, feed, intake_api, engagement, dead_lettered, council
    ):
        contribution = intake_api.post(
            "/v1/contributions", json=factories.contribution_payload(engagement["id"])
        ).get_json()
        good = feed.messages()
        bad = Message(CONTRIBUTIONS_TOPIC, 0, 9_200, None, b"{not json")

        decisions.processor.process([bad, *good])

        assert len(dead_lettered()) == 1
        [row] = stored(decisions, contributions_view)
        assert row.id == contribution["id"]


class TestForgedEvents:
    """Each topic carries only its own types, and an internal topic only its publisher's events."""

    def test_a_rating_from_anyone_but_the_notifier_on_its_topic_is_refused_and_kept_nowhere(
        self, decisions, feed, new_contribution, council, dead_lettered
    ):
        contribution = new_contribution()
        before = everything(decisions)

        for source in (factories.CASE_SYSTEM_SOURCE, "urn:outcome-chain:intake"):
            forged = factories.outcome_event(OUTCOME_RATED, council.slug, contribution["id"], source=source)
            feed.send(NOTIFICATIONS_TOPIC, forged)

        assert [dead.reason for dead in dead_lettered()] == [
            f"{NOTIFICATIONS_TOPIC} accepts events only from urn:outcome-chain:notifier"
        ] * 2
        after = everything(decisions)
        assert after["ratings_view"] == before["ratings_view"] == []
        assert {name: rows for name, rows in after.items() if name != "outbox"} == {
            name: rows for name, rows in before.items() if name != "outbox"
        }

    def test_a_contribution_received_forged_on_the_notifications_topic_is_refused(
        self, decisions, feed, new_contribution, dead_lettered
    ):
        contribution = new_contribution(deliver=False)
        received = of_type(feed.messages(), "contribution.received")
        before = everything(decisions)["contributions_view"]

        decisions.processor.process([Message(NOTIFICATIONS_TOPIC, 0, 9_200, None, received.value)])

        [dead] = dead_lettered()
        assert dead.reason == f"event type 'contribution.received' is not accepted on {NOTIFICATIONS_TOPIC}"
        assert everything(decisions)["contributions_view"] == before
        assert contribution["id"] not in {row.id for row in stored(decisions, contributions_view)}


class TestEachHandler:
    """One handler at a time, wired by decisions' bootstrap, on intake's real announcements."""

    def test_every_event_type_decisions_consumes_has_a_handler(self):
        consumed = set().union(*(TOPIC_EVENT_TYPES[topic] for topic in INBOUND_TOPICS))
        assert consumed == set(HANDLERS)

    def test_an_engagement_created_is_kept_for_the_board(self, decisions, feed, engagement):
        handle(decisions, envelope_of(of_type(feed.messages(), "engagement.created")))

        assert [(row.id, row.title) for row in stored(decisions, engagements_view)] == [
            (engagement["id"], engagement["title"])
        ]

    def test_an_engagement_updated_replaces_the_one_kept(self, decisions, feed, engagement):
        created = envelope_of(of_type(feed.messages(), "engagement.created"))
        handle(decisions, created)

        handle(
            decisions,
            {
                **created,
                "id": str(uuid.uuid4()),
                "type": "engagement.updated",
                "data": {**created["data"], "title": "Renamed"},
            },
        )

        assert [(row.id, row.title) for row in stored(decisions, engagements_view)] == [(engagement["id"], "Renamed")]

    def test_a_contribution_told_again_with_other_details_replaces_the_one_kept(
        self, decisions, feed, new_contribution
    ):
        contribution = new_contribution(deliver=False)
        for type_ in ("engagement.created", "contribution.received"):
            handle(decisions, envelope_of(of_type(feed.messages(), type_)))
        received = envelope_of(of_type(feed.messages(), "contribution.received"))

        handle(decisions, {**received, "id": str(uuid.uuid4()), "data": {**received["data"], "on_behalf_of": 7}})

        assert [(row.id, row.on_behalf_of) for row in stored(decisions, contributions_view)] == [
            (contribution["id"], 7)
        ]

    def test_a_contribution_received_is_kept_for_the_board(self, decisions, feed, new_contribution):
        contribution = new_contribution(deliver=False)

        for type_ in ("engagement.created", "contribution.received"):
            handle(decisions, envelope_of(of_type(feed.messages(), type_)))

        assert [row.id for row in stored(decisions, contributions_view)] == [contribution["id"]]

    def test_an_erasure_takes_the_persons_words_from_their_contributions(self, decisions, council, new_contribution):
        contribution = new_contribution()

        handle(decisions, factories.participant_erased_event(council.slug, contribution["participant_id"]))

        [row] = stored(decisions, contributions_view)
        assert row.erased_at is not None
        assert decisions.sealer.open(row.sealed_text) == ERASED_TEXT

    def test_a_participants_details_change_nothing_in_decisions(self, decisions, feed, new_contribution):
        new_contribution()
        before = everything(decisions)

        handle(decisions, envelope_of(of_type(feed.messages(), "participant.registered")))

        assert everything(decisions) == before
