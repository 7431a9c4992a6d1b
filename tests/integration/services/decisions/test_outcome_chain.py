"""Decisions learns contributions from intake's real events on a real broker, records what
the board decided, and tells the whole chain; in order, out of order, twice, or after a crash."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import sqlalchemy as sa
from kafka import KafkaConsumer

from services.decisions.adapters.tables import contributions_view, links
from shared.messaging import kafka
from shared.messaging.consumer import Message
from shared.rules.constants import (
    CONTRIBUTION_LINKED,
    CONTRIBUTIONS_TOPIC,
    DECISION_RECORDED,
    DECISIONS_TOPIC,
    ENGAGEMENTS_TOPIC,
    NOTIFICATIONS_TOPIC,
    RESOURCE_CHANGED,
)
from tests.support import factories
from tests.support.running import start_consumer, start_relay

DECISIONS_INBOUND = [ENGAGEMENTS_TOPIC, CONTRIBUTIONS_TOPIC, NOTIFICATIONS_TOPIC]


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def known_contributions(decisions) -> int:
    with decisions.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(contributions_view)).scalar_one()


def submit(intake_api, engagement, n: int) -> list[dict]:
    case_system = intake_api.as_("case-system")
    return [
        case_system.post("/v1/contributions", json=factories.contribution_payload(engagement["id"])).json
        for _ in range(n)
    ]


def board(decisions_api) -> dict:
    return (
        decisions_api.as_("staff")
        .post(
            "/v1/boards",
            json={"name": "Adult Social Care Partnership Board", "remit": "Adult social care in the county"},
        )
        .json
    )


def decision_body(board_id: str, engagement_id: str, contribution_ids: list[str], **overrides) -> dict:
    body = {
        "board_id": board_id,
        "engagement_id": engagement_id,
        "title": "Open the day centre on Saturdays",
        "description": "Two Saturdays a month from April, staffed by the existing team on overtime.",
        "decided_on": "2026-11-20",
        "outcome": "partly_adopted",
        "rationale": "The budget covers two Saturdays a month, not every week.",
        "links": [
            {"contribution_id": cid, "influence": "Weekend isolation was the reason most people gave."}
            for cid in contribution_ids
        ],
        "resource_changes": [
            {"kind": "budget", "description": "Saturday staffing", "amount": "12000.00", "currency": "GBP"}
        ],
    }
    body.update(overrides)
    return body


class Stack:
    """intake's relay, decisions' consumer and decisions' relay, on the real broker."""

    def __init__(self, intake, decisions, broker, group: str = "decisions"):
        self.workers = [
            start_relay(intake, broker.bootstrap),
            start_consumer(decisions, broker.bootstrap, DECISIONS_INBOUND, group=group),
            start_relay(decisions, broker.bootstrap),
        ]

    def stop(self):
        for worker in self.workers:
            worker.join()
        for worker in self.workers:
            assert worker.crashed is None, repr(worker.crashed)


def test_a_board_decision_reaches_every_linked_contribution_and_the_chain_tells_it_all(
    intake, intake_api, engagement, decisions, decisions_api, broker
):
    with ExitStack() as stack:
        running = Stack(intake, decisions, broker)
        stack.callback(running.stop)
        contributions = submit(intake_api, engagement, 3)
        wait_until(lambda: known_contributions(decisions) == 3)

        recorded = decisions_api.post(
            "/v1/decisions",
            json=decision_body(board(decisions_api)["id"], engagement["id"], [c["id"] for c in contributions]),
        )
        assert recorded.status_code == 201, recorded.json
        assert {link["state"] for link in recorded.json["links"]} == {"confirmed"}
        change_id = recorded.json["resource_changes"][0]["id"]
        assert (
            decisions_api.patch(
                f"/v1/resource-changes/{change_id}", json={"status": "in_progress", "note": "Rota agreed"}
            ).status_code
            == 200
        )
        assert (
            decisions_api.patch(
                f"/v1/resource-changes/{change_id}", json={"status": "implemented", "note": "First Saturday opened"}
            ).status_code
            == 200
        )
        announced = broker.wait_for_events(DECISIONS_TOPIC, 1 + 1 + 3 + 3 * 2)

    chain = decisions_api.get(f"/v1/contributions/{contributions[0]['id']}/outcome-chain").json
    assert chain["contribution"]["reference"] == contributions[0]["reference"]
    assert chain["contribution"]["text"].startswith("Please open the centre on Saturdays")
    assert chain["status"] == "implemented"
    assert chain["decisions"][0]["outcome"] == "partly_adopted"
    assert chain["decisions"][0]["rationale"].startswith("The budget covers")
    assert chain["decisions"][0]["influence"].startswith("Weekend isolation")
    assert [h["status"] for h in chain["resource_changes"][0]["history"]] == ["planned", "in_progress", "implemented"]
    assert [s["step"] for s in chain["steps"]] == [
        "received",
        "linked",
        "resource_status",
        "resource_status",
        "resource_status",
    ]
    assert chain["steps"] == sorted(chain["steps"], key=lambda s: s["at"])

    by_type = {}
    for event in announced:
        by_type.setdefault(event["type"], []).append(event)
    assert len(by_type[DECISION_RECORDED]) == 1
    linked = by_type[CONTRIBUTION_LINKED]
    assert sorted(e["subject"] for e in linked) == sorted(c["id"] for c in contributions)
    assert all(e["data"]["participant_id"] and e["data"]["outcome"] == "partly_adopted" for e in linked)
    # Each link tells the participant what the decision changes, as it stood when linked.
    assert all(e["data"]["resource_changes"][0]["description"] == "Saturday staffing" for e in linked)
    # Each contribution's story is keyed by it, so it stays on one partition, in order.
    records = broker.records(DECISIONS_TOPIC)
    for contribution in contributions:
        own = [json.loads(r.value)["type"] for r in records if r.key == contribution["id"].encode()]
        assert own == [CONTRIBUTION_LINKED, RESOURCE_CHANGED, RESOURCE_CHANGED]  # in progress, implemented
        assert len({r.partition for r in records if r.key == contribution["id"].encode()}) == 1
    # Nothing on the decisions topic carries the participant's words or contact details.
    everything = json.dumps(announced)
    assert "Please open the centre" not in everything and "@example.org" not in everything


def test_a_link_made_before_the_contribution_is_known_is_pending_then_confirmed(
    intake, intake_api, engagement, decisions, decisions_api, broker
):
    contribution = submit(intake_api, engagement, 1)[0]  # in intake's outbox; decisions has not heard
    body = decision_body(board(decisions_api)["id"], engagement["id"], [contribution["id"]])
    recorded = decisions_api.post("/v1/decisions", json=body)
    assert recorded.status_code == 201
    assert recorded.json["links"][0]["state"] == "pending"
    assert decisions_api.get(f"/v1/contributions/{contribution['id']}/outcome-chain").status_code == 404

    running = Stack(intake, decisions, broker)
    try:
        wait_until(
            lambda: decisions_api.get(f"/v1/contributions/{contribution['id']}/outcome-chain").status_code == 200
        )
        linked = broker.wait_for_events(DECISIONS_TOPIC, 3)
    finally:
        running.stop()

    chain = decisions_api.get(f"/v1/contributions/{contribution['id']}/outcome-chain").json
    assert chain["decisions"][0]["link_state"] == "confirmed"
    assert chain["status"] == "decided"
    assert [e["subject"] for e in linked if e["type"] == CONTRIBUTION_LINKED] == [contribution["id"]]


def test_events_twice_and_out_of_order_end_in_the_same_chain(
    intake, intake_api, engagement, decisions, decisions_api, broker
):
    contributions = submit(intake_api, engagement, 4)
    relay = start_relay(intake, broker.bootstrap)
    try:
        broker.wait_for_events(CONTRIBUTIONS_TOPIC, 4)
        broker.wait_for_events(ENGAGEMENTS_TOPIC, 1)
    finally:
        relay.join()
    real = [r for topic in (ENGAGEMENTS_TOPIC, CONTRIBUTIONS_TOPIC) for r in broker.records(topic)]
    messages = [Message(r.topic, r.partition, r.offset, r.key, r.value) for r in real]
    ids = [c["id"] for c in contributions]
    recorded = decisions_api.post(
        "/v1/decisions", json=decision_body(board(decisions_api)["id"], engagement["id"], ids[:2])
    )
    assert {link["state"] for link in recorded.json["links"]} == {"pending"}

    # Contributions before their engagement, each delivered twice, in one batch and then again.
    shuffled = list(reversed(messages)) + messages
    decisions.processor.process(shuffled)
    decisions.processor.process(list(reversed(messages)))

    chains = [decisions_api.get(f"/v1/contributions/{cid}/outcome-chain").json for cid in ids]
    assert [c["status"] for c in chains] == ["decided", "decided", "received", "received"]
    assert all(c["contribution"]["feedback_due"] == engagement["feedback_due"] for c in chains)
    assert known_contributions(decisions) == 4
    with decisions.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(links)).scalar_one() == 2


def test_consumer_killed_mid_batch_leaves_the_read_model_exactly_as_if_it_never_stopped(
    intake, intake_api, engagement, decisions, broker
):
    class DiesBeforeOffsetCommit:
        def __init__(self, client: KafkaConsumer):
            self.client = client

        def poll(self, **kwargs):
            return self.client.poll(**kwargs)

        def commit(self, offsets):
            raise SystemExit("killed after the database commit, before the offset commit")

        def close(self, autocommit=False):
            self.client.close(autocommit=autocommit)

    submit(intake_api, engagement, 30)
    relay = start_relay(intake, broker.bootstrap)
    broker.wait_for_events(CONTRIBUTIONS_TOPIC, 30)
    relay.join()

    group = "decisions-crash"
    doomed = start_consumer(
        decisions,
        broker.bootstrap,
        DECISIONS_INBOUND,
        group=group,
        kafka_client=DiesBeforeOffsetCommit(kafka.consumer(broker.bootstrap, group_id=group, topics=DECISIONS_INBOUND)),
    )
    doomed.thread.join(60)
    assert isinstance(doomed.crashed, SystemExit)

    restarted = start_consumer(decisions, broker.bootstrap, DECISIONS_INBOUND, group=group)
    wait_until(lambda: known_contributions(decisions) == 30)
    time.sleep(1.0)
    restarted.join()
    assert restarted.crashed is None
    assert known_contributions(decisions) == 30
    dead = decisions_dead_letters(decisions)
    assert dead == 0


def decisions_dead_letters(decisions) -> int:
    from shared.infra.tables import dead_letters

    with decisions.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar_one()
