"""Erasure across all three services on a real broker: after DELETE /v1/participants/{id},
no database holds the person's name, contact details, equality answers or words, not even
sealed; no topic carries them in plain text; the chain still tells what was decided."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack

import sqlalchemy as sa

from services.decisions.adapters.tables import contributions_view
from services.decisions.bootstrap import INBOUND_TOPICS as DECISIONS_INBOUND
from services.notifier.adapters.tables import notifications, recipients
from services.notifier.bootstrap import INBOUND_TOPICS as NOTIFIER_INBOUND
from shared.infra.tables import outbox
from shared.messaging.runners import run_every
from shared.rules.constants import ALL_TOPICS, ERASED_TEXT, PARTICIPANT_ERASED, PARTICIPANTS_TOPIC
from tests.integration.services.decisions.test_outcome_chain import wait_until
from tests.integration.services.notifier import conftest as notifier_fixtures
from tests.support import factories
from tests.support.privacy import database_contents, tables_holding
from tests.support.running import Worker, start_consumer, start_relay

NAME = "Marigold Featherstonehaugh"
EMAIL = "marigold.featherstonehaugh@example.org"
PHONE = "+44 7700 900461"
PHONE_STORED = "+447700900461"  # as every service keeps it (E.164)
ADDRESS_LINES = ["17 Featherstonehaugh Mews", "Llandeilo"]
POSTCODE = "SA19 6AB"
EXTERNAL_REF = "CASE-MF-461"
EQUALITY_ANSWER = "Eastern Orthodox Druid"
WORDS = [
    "Marigold asks for the Tuesday hydrotherapy pool sessions to come back.",
    "Marigold's daughter cannot reach the Wednesday carers group by bus.",
]
DETAILS = [NAME, EMAIL, PHONE, PHONE_STORED, *ADDRESS_LINES, POSTCODE, EXTERNAL_REF, EQUALITY_ANSWER, *WORDS]

# The notifier as the notifier's own integration tests have it (the SMTP server is in tests/integration/conftest.py).
notifier = notifier_fixtures.notifier


def start_everything(stack: ExitStack, intake, decisions, notifier, broker) -> None:
    """Every service's consumer, relay and the notifier's sender, as in production."""
    workers = [
        start_relay(intake, broker.bootstrap),
        start_consumer(decisions, broker.bootstrap, DECISIONS_INBOUND, group="decisions"),
        start_relay(decisions, broker.bootstrap),
        start_consumer(notifier, broker.bootstrap, NOTIFIER_INBOUND, group="notifier"),
        start_relay(notifier, broker.bootstrap),
        Worker("sender", lambda stop: run_every(0.1, notifier.extensions["notifier"].sender.send_due, stop)),
    ]

    def stop() -> None:
        for worker in workers:
            worker.join()
        for worker in workers:
            assert worker.crashed is None, f"{worker.thread.name} crashed: {worker.crashed!r}"

    stack.callback(stop)


def count(platform, table: sa.Table, *conditions) -> int:
    with platform.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table).where(*conditions)).scalar_one()


def link_decision(decisions_api, board_id: str, engagement_id: str, contribution_id: str, title: str) -> dict:
    body = factories.decision_payload(
        board_id,
        engagement_id=engagement_id,
        title=title,
        links=[factories.link_payload(contribution_id, influence="The pool sessions come back on Tuesdays.")],
    )
    response = decisions_api.post("/v1/decisions", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_an_erased_participant_leaves_no_copy_anywhere_and_the_chain_stays(
    intake, intake_api, engagement, decisions, decisions_api, notifier, smtp, broker
):
    case_system = intake_api.as_("case-system")
    person = factories.participant_payload(
        name=NAME,
        email=EMAIL,
        phone=PHONE,
        address_lines=ADDRESS_LINES,
        postcode=POSTCODE,
        external_ref=EXTERNAL_REF,
        equality=factories.equality_answers(religion_or_belief=EQUALITY_ANSWER),
    )
    participant_id = case_system.post("/v1/participants", json=person).json["id"]
    contributions = []
    for words in WORDS:
        body = factories.contribution_payload(engagement["id"], participant_id=participant_id, text=words)
        del body["participant"]
        contributions.append(case_system.post("/v1/contributions", json=body).json)
    board_id = decisions_api.as_("staff").post("/v1/boards", json=factories.board_payload()).json["id"]

    with ExitStack() as stack:
        start_everything(stack, intake, decisions, notifier, broker)
        wait_until(lambda: len(smtp.messages()) == 2)  # both acknowledged
        first = link_decision(decisions_api, board_id, engagement["id"], contributions[0]["id"], "Pool sessions")
        wait_until(lambda: len(smtp.messages()) == 3)  # and told of the decision
        assert all(message["To"] == EMAIL for message in smtp.messages())

        assert intake_api.as_("staff").delete(f"/v1/participants/{participant_id}").status_code == 204
        wait_until(lambda: count(decisions, contributions_view, contributions_view.c.erased_at.is_not(None)) == 2)
        wait_until(lambda: count(notifier, recipients, recipients.c.erased_at.is_not(None)) == 1)

        # A decision linked afterwards tells no one, and says why.
        later = link_decision(decisions_api, board_id, engagement["id"], contributions[1]["id"], "Carers group bus")
        withheld = sa.and_(notifications.c.status == "withheld", notifications.c.reason == "participant erased")
        wait_until(lambda: count(notifier, notifications, withheld) == 1)
        chain_later = f"/v1/contributions/{contributions[1]['id']}/outcome-chain"
        wait_until(lambda: "withheld" in {m["status"] for m in decisions_api.get(chain_later).json["messages"]})
        assert len(smtp.messages()) == 3

    # No database keeps a copy, plain or sealed.
    for service in (intake, decisions, notifier):
        assert tables_holding(database_contents(service.engine, service.sealer), DETAILS) == {}, service.service

    # No topic carries one in plain text.
    payloads = {topic: b"\n".join(record.value for record in broker.records(topic)) for topic in ALL_TOPICS}
    assert tables_holding(payloads, DETAILS) == {}

    # A compacting broker keeps the latest record per participant: the erasure.
    own = [r for r in broker.records(PARTICIPANTS_TOPIC) if r.key == participant_id.encode()]
    latest = json.loads(max(own, key=lambda record: record.offset).value)
    assert (latest["type"], set(latest["data"])) == (PARTICIPANT_ERASED, {"id", "erased_at"})

    # The chain still tells what was decided, about someone no longer named.
    chain = decisions_api.get(f"/v1/contributions/{contributions[0]['id']}/outcome-chain").json
    assert (chain["contribution"]["text"], chain["contribution"]["participant_erased"]) == (ERASED_TEXT, True)
    assert chain["contribution"]["reference"] == contributions[0]["reference"]
    assert [(d["id"], d["influence"]) for d in chain["decisions"]] == [
        (first["id"], "The pool sessions come back on Tuesdays.")
    ]
    assert "participant_erased" in [step["step"] for step in chain["steps"]]
    assert [d["id"] for d in decisions_api.get(chain_later).json["decisions"]] == [later["id"]]
    shown = intake_api.as_("staff").get(f"/v1/participants/{participant_id}").json
    assert shown["erased_at"] is not None
    assert (shown["name"], shown["email"], shown["phone"], shown["external_ref"]) == (None, None, None, None)
    assert (shown["address_lines"], shown["postcode"]) == (None, None)


def test_the_operator_can_erase_from_the_command_line_as_staff_can_over_http(intake, intake_api, council):
    participant_id = intake_api.post("/v1/participants", json=factories.participant_payload(name=NAME)).json["id"]

    def erase(tenant: str, participant: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ops.cli", "participants", "erase", "--tenant", tenant, participant],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )

    elsewhere = erase("dorset", participant_id)
    assert (elsewhere.returncode, elsewhere.stderr.strip()) == (2, f"no participant {participant_id!r} in 'dorset'")
    assert [erase(council.slug, participant_id).returncode for _ in range(2)] == [0, 0]

    shown = intake_api.get(f"/v1/participants/{participant_id}").json
    assert (shown["name"], shown["erased_at"] is not None) == (None, True)
    with intake.engine.connect() as connection:
        types = [json.loads(payload)["type"] for payload in connection.execute(sa.select(outbox.c.payload)).scalars()]
    assert types.count(PARTICIPANT_ERASED) == 1
