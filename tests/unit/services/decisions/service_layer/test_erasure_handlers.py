"""participant.erased in decisions: the person's words go, the chain and the counts stay."""

from __future__ import annotations

import json

from services.decisions.adapters.tables import contributions_view
from services.decisions.service_layer import views
from shared.messaging.consumer import Message
from shared.rules.constants import CONTRIBUTIONS_TOPIC, ERASED_TEXT, PARTICIPANT_ERASED, PARTICIPANTS_TOPIC
from tests.support import factories
from tests.unit.services.decisions.actions import link, record, stored
from tests.unit.services.decisions.service_layer.test_views import chain

WORDS = "Hettie Brackenbury says the Elm Road minibus never comes on Thursdays."


def erase(intake_api, participant_id: str) -> None:
    assert intake_api.as_("staff").delete(f"/v1/participants/{participant_id}").status_code == 204


def erasure_of(feed, participant_id: str) -> dict:
    [event] = [
        json.loads(m.value)
        for m in feed.messages()
        if m.topic == PARTICIPANTS_TOPIC and json.loads(m.value)["type"] == PARTICIPANT_ERASED
    ]
    assert event["subject"] == participant_id
    return event


def opened_texts(decisions) -> list[str]:
    return [decisions.sealer.open(row.sealed_text) for row in stored(decisions, contributions_view)]


def test_the_chain_keeps_the_decision_and_reads_participant_erased(
    decisions, feed, intake_api, board_actor, board_id, new_contribution, council
):
    contribution = new_contribution(text=WORDS)
    decision, _, _ = record(decisions, board_actor, board_id, rationale="The bus contract is up for renewal.")
    link(decisions, board_actor, decision.id, contribution["id"], influence="Thursdays are now in the new contract.")

    erase(intake_api, contribution["participant_id"])
    feed.deliver()

    found = chain(decisions, council.slug, contribution["id"])
    assert (found["contribution"]["text"], found["contribution"]["participant_erased"]) == (ERASED_TEXT, True)
    assert found["contribution"]["reference"] == contribution["reference"]
    [shown] = found["decisions"]
    assert (shown["id"], shown["influence"], shown["rationale"]) == (
        decision.id,
        "Thursdays are now in the new contract.",
        "The bus contract is up for renewal.",
    )
    assert [step["step"] for step in found["steps"]] == ["received", "linked", "participant_erased"]
    assert found["status"] == "decided"
    assert opened_texts(decisions) == [ERASED_TEXT]


def test_counts_stay_the_same_and_other_peoples_words_stay(
    decisions, feed, intake_api, new_contribution, known_engagement, council
):
    theirs = new_contribution(text=WORDS, on_behalf_of=12)
    someone_else = new_contribution(text="Please keep the Friday café.")

    before = views.you_said_we_did(decisions.uow(), council.slug, known_engagement["id"])["you_said"]
    erase(intake_api, theirs["participant_id"])
    feed.deliver()

    assert views.you_said_we_did(decisions.uow(), council.slug, known_engagement["id"])["you_said"] == before
    assert chain(decisions, council.slug, someone_else["id"])["contribution"]["text"] == "Please keep the Friday café."
    assert chain(decisions, council.slug, someone_else["id"])["contribution"]["participant_erased"] is False


def test_an_erasure_that_overtakes_the_contribution_still_leaves_no_words(
    decisions, feed, intake_api, new_contribution, council
):
    contribution = new_contribution(text=WORDS, deliver=False)
    [received] = [m for m in feed.messages() if m.topic == CONTRIBUTIONS_TOPIC]

    erase(intake_api, contribution["participant_id"])
    feed.send(PARTICIPANTS_TOPIC, erasure_of(feed, contribution["participant_id"]))  # the erasure first
    decisions.processor.process([received])  # then the contribution, as it was published before

    found = chain(decisions, council.slug, contribution["id"])
    assert (found["contribution"]["text"], found["contribution"]["participant_erased"]) == (ERASED_TEXT, True)
    assert opened_texts(decisions) == [ERASED_TEXT]


def test_an_erasure_from_another_council_is_dead_lettered_and_changes_nothing(
    decisions, feed, intake_api, new_contribution, council, other_council, dead_lettered
):
    contribution = new_contribution(text=WORDS)
    forged = factories.participant_erased_event(other_council.slug, contribution["participant_id"])

    feed.send(PARTICIPANTS_TOPIC, forged)

    [dead] = dead_lettered()
    assert (dead.reason, dead.tenant) == ("tenant does not match the participant it refers to", other_council.slug)
    found = chain(decisions, council.slug, contribution["id"])
    assert (found["contribution"]["text"], found["contribution"]["participant_erased"]) == (WORDS, False)


def test_another_councils_erasure_of_an_id_not_seen_yet_does_not_touch_this_councils_contribution(
    decisions, feed, new_contribution, council, other_council, dead_lettered
):
    contribution = new_contribution(text=WORDS, deliver=False)
    feed.send(
        PARTICIPANTS_TOPIC, factories.participant_erased_event(other_council.slug, contribution["participant_id"])
    )

    feed.deliver()

    assert dead_lettered() == []
    assert chain(decisions, council.slug, contribution["id"])["contribution"]["text"] == WORDS


def test_registrations_on_the_participants_topic_are_taken_in_and_ignored(
    decisions, feed, new_contribution, dead_lettered
):
    new_contribution()  # its participant.registered is delivered too

    assert dead_lettered() == []
    assert [m.topic for m in feed.messages()].count(PARTICIPANTS_TOPIC) == 1


def test_the_same_erasure_delivered_twice_is_applied_once(decisions, feed, intake_api, new_contribution, council):
    contribution = new_contribution(text=WORDS)
    erase(intake_api, contribution["participant_id"])
    feed.deliver()
    first = stored(decisions, contributions_view)

    event = erasure_of(feed, contribution["participant_id"])
    decisions.processor.process(
        [Message(PARTICIPANTS_TOPIC, 1, 77, contribution["participant_id"].encode(), json.dumps(event).encode())]
    )

    assert [(row.erased_at, row.sealed_text) for row in stored(decisions, contributions_view)] == [
        (row.erased_at, row.sealed_text) for row in first
    ]
