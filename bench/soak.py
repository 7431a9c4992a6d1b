"""`make soak`: the whole system under a steady mixed load for a set time, then a reconciliation.

Every part runs as its own process (tests/support/stack.py: Tansu, PostgreSQL, a real SMTP
server, a local GOV.UK Notify, gunicorn, consumers, relays, the sender). A load generator
in this process acts as a council's systems and people through the public interfaces:

- a case system publishes `contribution.submitted` CloudEvents on `intake.submissions`
  (SOAK_RATE a second, default 10), now and then the same event again (it must create
  nothing) and now and then one that can never be accepted (it must be dead-lettered);
- another case system POSTs contributions over HTTP (SOAK_HTTP_RATE a second, default 1)
  with an Idempotency-Key, and replays some with the same key;
- a board records a decision every few seconds linking a handful of recent contributions,
  half of them with a resource change it later moves to in progress and to implemented.

Participants choose email or SMS; some have not agreed to be contacted. Every HTTP call is
retried until it succeeds (safe: idempotency keys, or a look-up before repeating a
decision) and every Kafka publish until the broker acknowledges it; retries are counted.

When the load stops the system is left to drain (until nothing is pending and the counts
stop changing), then the load generator's ledger is set beside the three databases, every
topic (read from the beginning) and what reached the SMTP server and GOV.UK Notify: one
table, each row expected / found / OK or MISMATCH; the exit status is 1 on any mismatch.
Throughput and end-to-end latency percentiles (submission to acknowledgement received,
link to update received) follow. `bench/chaos.py` runs the same with faults injected.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
import logging
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError

from bench import reconcile
from bench.harness import git_revision, install_signal_handlers, machine
from bench.mail_tools import accepted_ns
from bench.reconcile import Check
from shared.rules.constants import (
    ALL_TOPICS,
    CLOUDEVENTS_CONTENT_TYPE,
    CONSUMED_TOPICS,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_RECEIVED,
    CONTRIBUTIONS_TOPIC,
    DECISIONS_TOPIC,
    MESSAGE_ACKNOWLEDGEMENT,
    MESSAGE_DECISION_LINKED,
    MESSAGE_RESOURCE_CHANGED,
    RESOURCE_CHANGED,
    STATUS_CREATED,
    STATUS_DELIVERED,
    STATUS_FAILED,
    STATUS_SENDING,
    STATUS_SENT,
    STATUS_WITHHELD,
    SUBMISSIONS_TOPIC,
    dlq_topic,
)
from tests.support import factories
from tests.support.postgres import PostgresCluster
from tests.support.stack import Stack, running_stack

TENANT = "soak"
CASE_SYSTEM = "https://case-system.soak.example.gov.uk/adults"
SENDER_PROCESSES = ("notifier-consumer", "notifier-sender")  # both run the notifier's sender
TOLD_MOVES = ("in_progress", "implemented")  # each tells everyone linked to the decision
DELIVERED = (STATUS_SENT, STATUS_DELIVERED)
HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.default)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass
class Submission:
    sent_ns: int  # when it was first sent
    consent: bool


@dataclass
class DecisionPlan:
    id: str
    contributions: list[str]
    change_id: str | None
    moves: list[str] = field(default_factory=lambda: list(TOLD_MOVES))
    last_move: float = 0.0  # monotonic


class Ledger:
    """Everything the load generator did, as it believes it: the expected side of the table."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kafka: dict[str, Submission] = {}  # event id -> good submission
        self.kafka_bytes: dict[str, tuple[bytes, bytes]] = {}  # event id -> (key, value), to resend
        self.kafka_acked: set[str] = set()
        self.bad: set[str] = set()  # event ids of events meant to be dead-lettered
        self.kafka_repeats = 0
        self.http: dict[str, Submission] = {}  # contribution id -> submission
        self.http_replays = 0
        self.http_replays_answered = 0  # with the first contribution and Idempotent-Replayed
        self.links: dict[str, int] = {}  # contribution id -> when the link was POSTed (ns)
        self.plans: list[DecisionPlan] = []
        self.told: list[list[str]] = []  # per resource move: the contributions it tells
        self.retries: Counter = Counter()
        self.errors: list[str] = []  # answers the load did not expect, and calls it gave up on

    def retried(self, what: str) -> None:
        with self.lock:
            self.retries[what] += 1

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)
        print(f"  load: {message}", flush=True)


class GaveUp(Exception):
    pass


class Publisher:
    """The case system's Kafka producer: every event is sent until the broker acknowledges it.

    Failed sends are sent again; a producer that has had nothing acknowledged for a while
    although events wait (kafka-python's can stay stuck after the broker was paused) is
    replaced and everything unacknowledged is sent again: the event ids make that safe.
    """

    STUCK_S = 20

    def __init__(self, bootstrap: str, ledger: Ledger):
        self.bootstrap = bootstrap
        self.ledger = ledger
        self.failed: deque[str] = deque()
        self.waiting: dict[str, float] = {}  # event id -> when sent (monotonic), until acknowledged
        self.last_ack = time.monotonic()
        self.producer = self._producer()

    def _producer(self) -> KafkaProducer:
        return KafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=5,
            retries=5,
            request_timeout_ms=10_000,
            delivery_timeout_ms=30_000,
            max_block_ms=5_000,
        )

    def send(self, event_id: str) -> None:
        key, value = self.ledger.kafka_bytes[event_id]
        self.waiting.setdefault(event_id, time.monotonic())
        try:
            future = self.producer.send(
                SUBMISSIONS_TOPIC, key=key, value=value, headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())]
            )
        except Exception:  # noqa: BLE001 - KafkaTimeoutError while the broker is away
            self.failed.append(event_id)
            return
        future.add_callback(lambda _meta: self._acked(event_id))
        future.add_errback(lambda _exc: self.failed.append(event_id))

    def _acked(self, event_id: str) -> None:
        self.ledger.kafka_acked.add(event_id)
        self.waiting.pop(event_id, None)
        self.last_ack = time.monotonic()

    def mend(self) -> None:
        """Send again what failed; replace a stuck producer."""
        while self.failed:
            self.ledger.retried("Kafka publish")
            self.send(self.failed.popleft())
        now = time.monotonic()
        oldest = min(self.waiting.values(), default=now)
        if now - oldest > self.STUCK_S and now - self.last_ack > self.STUCK_S:
            self.ledger.retried("Kafka producer replaced")
            self.close(timeout=0)
            self.producer, self.last_ack = self._producer(), now
            for event_id in list(self.waiting):
                self.ledger.retried("Kafka publish")
                self.send(event_id)

    def close(self, timeout: float = 10) -> None:
        try:
            self.producer.close(timeout=timeout)
        except KafkaTimeoutError:
            pass


class Load:
    """The council's systems and people: one thread per kind of traffic."""

    def __init__(self, stack: Stack, ledger: Ledger, engagements: list[str], board_id: str):
        self.stack = stack
        self.ledger = ledger
        self.engagements = engagements
        self.board_id = board_id
        self.stop = threading.Event()
        self.rng = random.Random(20261122)
        self.rate = env_float("SOAK_RATE", 10)
        self.http_rate = env_float("SOAK_HTTP_RATE", 1)
        self.decision_every = env_float("SOAK_DECISION_EVERY", 3)
        self.threads = [
            threading.Thread(target=self._guard(loop), name=loop.__name__, daemon=True)
            for loop in (self.publish_submissions, self.post_submissions, self.decide, self.move_resources)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self, timeout: float = 180) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)

    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                loop()
            except Exception as exc:  # noqa: BLE001 - reported in the table
                self.ledger.error(f"{loop.__name__} stopped: {exc!r}")

        return run

    # People ----------------------------------------------------------------------------

    def contribution(self, n: int) -> tuple[dict, bool]:
        consent = self.rng.random() < 0.85
        channel = "sms" if self.rng.random() < 0.3 else "email"
        participant = factories.participant_payload(
            name=f"Soak Participant{n}",
            email=f"soak.{n}.{uuid.uuid4().hex[:6]}@example.org",
            phone=f"+44 7700 900{n % 1000:03d}",  # Ofcom's drama range: valid, and reaches no one
            preferred_channel=channel,
            language=self.rng.choice(("en", "en", "cy")),
            format=self.rng.choice(("standard", "standard", "easy_read")),
            consent_to_contact=consent,
        )
        body = factories.contribution_payload(
            self.rng.choice(self.engagements),
            text=f"Soak contribution {n}: please open the centre on Saturdays.",
            participant=participant,
        )
        return body, consent

    # Kafka -----------------------------------------------------------------------------

    def publish_submissions(self) -> None:
        ledger, publisher = self.ledger, Publisher(self.stack.kafka_bootstrap, self.ledger)
        n, next_at = 0, time.monotonic()
        try:
            while not self.stop.is_set():
                publisher.mend()
                now = time.monotonic()
                if now < next_at:
                    time.sleep(min(next_at - now, 0.05))
                    continue
                next_at = max(next_at + 1 / self.rate, now - 1)  # no bursts to catch up after a stall
                n += 1
                if n % 97 == 0:  # a case system's bug: a type intake does not know
                    body, _ = self.contribution(n)
                    event = factories.submission_event(TENANT, {**body, "type": "opinion"}, source=CASE_SYSTEM)
                    ledger.bad.add(event["id"])
                elif n % 53 == 0 and ledger.kafka_acked:  # at-least-once: an event sent again
                    with ledger.lock:
                        ledger.kafka_repeats += 1
                    publisher.send(self.rng.choice(sorted(ledger.kafka_acked - ledger.bad)))
                    continue
                else:
                    body, consent = self.contribution(n)
                    event = factories.submission_event(TENANT, body, source=CASE_SYSTEM)
                    ledger.kafka[event["id"]] = Submission(time.time_ns(), consent)
                ledger.kafka_bytes[event["id"]] = (body["engagement_id"].encode(), json.dumps(event).encode())
                publisher.send(event["id"])
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and not ledger.kafka_acked >= ledger.kafka.keys() | ledger.bad:
                publisher.mend()
                time.sleep(0.5)
        finally:
            publisher.close()
        unacked = len((ledger.kafka.keys() | ledger.bad) - ledger.kafka_acked)
        if unacked:
            ledger.error(f"{unacked} submission events never acknowledged by the broker")

    # HTTP ------------------------------------------------------------------------------

    def call(
        self,
        session: requests.Session,
        method: str,
        service: str,
        path: str,
        role: str,
        *,
        what: str,
        expect: tuple[int, ...] = (200, 201),
        give_up_after: float = 300,
        before_retry: Callable[[], requests.Response | None] | None = None,
        **kwargs,
    ) -> requests.Response:
        """The call, again after a failure (connection refused or cut, timeout, 5xx, 429)
        until it succeeds; `before_retry` may find that an earlier attempt did succeed."""
        deadline, delay = time.monotonic() + give_up_after, 0.5
        headers = self.stack.headers(role) | kwargs.pop("headers", {})
        while True:
            try:
                response = session.request(
                    method,
                    self.stack.urls[service] + path,
                    headers=headers,
                    timeout=10,
                    **kwargs,
                )
                if response.status_code in expect:
                    return response
                if response.status_code < 500 and response.status_code != 429:
                    raise GaveUp(f"{what}: {response.status_code} {response.text[:300]}")
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise GaveUp(f"{what}: still failing after {give_up_after:.0f} s")
            self.ledger.retried(what)
            time.sleep(delay)
            delay = min(delay * 2, 4)
            if before_retry is not None:
                done = before_retry()
                if done is not None:
                    return done

    def post_submissions(self) -> None:
        session, n, next_at = requests.Session(), 0, time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if now < next_at:
                time.sleep(min(next_at - now, 0.05))
                continue
            next_at = max(next_at + 1 / self.http_rate, now - 1)
            n += 1
            body, consent = self.contribution(1_000_000 + n)
            key = {"Idempotency-Key": f"soak-{uuid.uuid4().hex}"}
            sent_ns = time.time_ns()
            try:
                first = self.call(
                    session, "POST", "intake", "/v1/contributions", "case-system", what="POST /v1/contributions",
                    json=body, headers=key,
                )  # fmt: skip
                contribution_id = first.json()["id"]
                self.ledger.http[contribution_id] = Submission(sent_ns, consent)
                if n % 10 == 0:
                    self.ledger.http_replays += 1
                    again = self.call(
                        session, "POST", "intake", "/v1/contributions", "case-system",
                        what="POST /v1/contributions (replay)", json=body, headers=key,
                    )  # fmt: skip
                    if again.json()["id"] == contribution_id and again.headers.get("Idempotent-Replayed") == "true":
                        self.ledger.http_replays_answered += 1
            except GaveUp as gave_up:
                self.ledger.error(str(gave_up))

    def decide(self) -> None:
        session, n = requests.Session(), 0
        while not self.stop.wait(self.decision_every):
            n += 1
            try:
                listed = self.call(
                    session, "GET", "intake", "/v1/contributions", "staff", what="GET /v1/contributions",
                    params={"per_page": 100}, give_up_after=20,
                ).json()["items"]  # fmt: skip
            except GaveUp as gave_up:
                self.ledger.error(str(gave_up))
                continue
            # Not the very newest (decisions may not have heard of them yet: such a link is
            # accepted as pending and confirmed later, which is fine but slower).
            chosen = [item["id"] for item in listed[10:] if item["id"] not in self.ledger.links][:4]
            if not chosen:
                continue
            title = f"Soak decision {n} {uuid.uuid4().hex[:8]}"
            body = factories.decision_payload(self.board_id, title=title)
            body["links"] = [{"contribution_id": c, "influence": f"Your view shaped decision {n}."} for c in chosen]
            if n % 2:
                body["resource_changes"] = [factories.resource_change_payload(description=f"Change for decision {n}")]
            posted_ns = time.time_ns()
            try:
                made = self.call(
                    session, "POST", "decisions", "/v1/decisions", "board", what="POST /v1/decisions", json=body,
                    before_retry=lambda title=title: self._decision_titled(session, title),
                ).json()  # fmt: skip
            except GaveUp as gave_up:
                self.ledger.error(str(gave_up))
                continue
            with self.ledger.lock:
                for contribution_id in chosen:
                    self.ledger.links[contribution_id] = posted_ns
                changes = made.get("resource_changes") or []
                self.ledger.plans.append(DecisionPlan(made["id"], chosen, changes[0]["id"] if changes else None))

    def _decision_titled(self, session: requests.Session, title: str) -> requests.Response | None:
        """A decision POSTed before the connection failed may have been recorded: find it."""
        try:
            response = session.get(
                self.stack.urls["decisions"] + "/v1/decisions",
                headers=self.stack.headers("board"),
                params={"board_id": self.board_id, "per_page": 200},
                timeout=10,
            )
        except requests.RequestException:
            return None
        if response.status_code != 200:
            return None
        for item in response.json()["items"]:
            if item["title"] == title:
                return self.call(session, "GET", "decisions", f"/v1/decisions/{item['id']}", "board", what="GET")
        return None

    def move_resources(self) -> None:
        """Move one change a step (in progress, then implemented) every two seconds, once
        every link of its decision is confirmed (so who is told is certain)."""
        session = requests.Session()
        while not self.stop.wait(2):
            now = time.monotonic()
            plan = next((p for p in self.ledger.plans if p.change_id and p.moves and now - p.last_move > 3), None)
            if plan is None:
                continue
            try:
                decision = self.call(
                    session, "GET", "decisions", f"/v1/decisions/{plan.id}", "board", what="GET /v1/decisions/{id}",
                    give_up_after=20,
                ).json()  # fmt: skip
                if any(link["state"] != "confirmed" for link in decision["links"]):
                    plan.last_move = now
                    continue
                status = plan.moves[0]
                self.call(
                    session, "PATCH", "decisions", f"/v1/resource-changes/{plan.change_id}", "board",
                    what="PATCH /v1/resource-changes/{id}", json={"status": status, "note": f"Now {status}."},
                    before_retry=lambda plan=plan, status=status: self._change_is(session, plan, status),
                )  # fmt: skip
            except GaveUp as gave_up:
                self.ledger.error(str(gave_up))
                continue
            with self.ledger.lock:
                plan.moves.pop(0)
                plan.last_move = time.monotonic()
                self.ledger.told.append(list(plan.contributions))

    def _change_is(self, session: requests.Session, plan: DecisionPlan, status: str) -> requests.Response | None:
        try:
            response = session.get(
                self.stack.urls["decisions"] + f"/v1/decisions/{plan.id}",
                headers=self.stack.headers("board"),
                timeout=10,
            )
        except requests.RequestException:
            return None
        if response.status_code == 200 and response.json()["resource_changes"][0]["status"] == status:
            return response
        return None


# What the system holds --------------------------------------------------------------------


def read_topics(bootstrap: str, topics=ALL_TOPICS, idle_s: float = 4.0, timeout: float = 180) -> dict[str, list]:
    """Every record on every topic, read from the beginning without a group, until nothing
    more arrives for `idle_s` (Tansu's end offsets are not to be relied on)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=5000)
    try:
        partitions = []
        for topic in topics:
            deadline = time.monotonic() + 15
            while not consumer.partitions_for_topic(topic) and time.monotonic() < deadline:
                time.sleep(0.2)
            partitions += [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found: dict[str, list] = {topic: [] for topic in topics}
        last, deadline = time.monotonic(), time.monotonic() + timeout
        while time.monotonic() - last < idle_s and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    try:
                        found[record.topic].append(json.loads(record.value))
                    except ValueError:
                        found[record.topic].append({"type": "<not json>"})
            if batch:
                last = time.monotonic()
        return found
    finally:
        consumer.close()


def query(url: str, sql: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(sql)).all()
    finally:
        engine.dispose()


def delivered_to_outside(stack: Stack) -> list[tuple[str, int]]:
    """(notification id, ns it arrived) for every message SMTP or Notify accepted."""
    found = []
    for path in stack.smtp.directory.glob("*.eml"):
        with open(path, "rb") as handle:
            headers = HEADER_PARSER.parse(handle)
        found.append((headers["Message-ID"].strip("<>").partition("@")[0], accepted_ns(path.name)))
    found += [(sms["reference"], sms["received_ns"]) for sms in list(stack.notify.received)]
    return found


def pending_counts(stack: Stack) -> tuple:
    """What must reach zero (or stop moving) before the counts are compared."""
    env = stack.ctx.env
    unpublished = sum(
        query(env[f"{service.upper()}_DATABASE_URL"], "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
        for service in ("intake", "decisions", "notifier")
    )
    notifications = query(env["NOTIFIER_DATABASE_URL"], "SELECT status, count(*) FROM notifications GROUP BY status")
    waiting = sum(count for status, count in notifications if status in (STATUS_CREATED, STATUS_SENDING))
    contributions = query(env["INTAKE_DATABASE_URL"], "SELECT count(*) FROM contributions")[0][0]
    return unpublished, waiting, contributions, sum(c for _, c in notifications), len(delivered_to_outside(stack))


def drain(stack: Stack, expected_contributions: int, timeout: float, log: Callable[[str], None]) -> float:
    """Wait until nothing is pending and the counts have not moved for 10 s; seconds taken."""
    started, history = time.monotonic(), []
    while time.monotonic() - started < timeout:
        try:
            counts = pending_counts(stack)
        except sa.exc.OperationalError:
            time.sleep(2)
            continue
        history.append((time.monotonic(), counts))
        unpublished, waiting, contributions, *_ = counts
        idle = unpublished == 0 and waiting == 0 and contributions >= expected_contributions
        if idle and reconcile.settled(history, 10):
            break
        if len(history) % 6 == 1:
            log(
                f"draining: {unpublished} outbox events unpublished, {waiting} messages waiting, "
                f"{contributions}/{expected_contributions} contributions, {counts[-1]} messages delivered"
            )
        time.sleep(2)
    else:
        log(f"drain timed out after {timeout:.0f} s; comparing what there is")
    return time.monotonic() - started


@dataclass
class Findings:
    checks: list[Check]
    ack_latency_s: list[float]
    update_latency_s: list[float]
    acks_in_window: int
    duplicates: int
    delivered: int  # messages the outside world received, repeats included
    last_delivery_ns: int


def reconcile_all(stack: Stack, ledger: Ledger, duplicate_bound: int, window_ns: tuple[int, int]) -> Findings:
    env = stack.ctx.env
    intake, decisions, notifier = (env[f"{s}_DATABASE_URL"] for s in ("INTAKE", "DECISIONS", "NOTIFIER"))
    topics = read_topics(stack.kafka_bootstrap)
    outside = delivered_to_outside(stack)

    # The ledger: what should exist.
    by_identity = {f"{CASE_SYSTEM}#{event_id}": sub for event_id, sub in ledger.kafka.items()}
    contributions = query(intake, "SELECT id, submitted_by FROM contributions")
    submissions = dict(ledger.http)  # contribution id -> submission
    for contribution_id, submitted_by in contributions:
        if submitted_by in by_identity:
            submissions[contribution_id] = by_identity[submitted_by]
    sent = len(ledger.kafka) + len(ledger.http)
    consenting = sum(s.consent for s in [*ledger.kafka.values(), *ledger.http.values()])
    consent = {contribution_id: s.consent for contribution_id, s in submissions.items()}
    linked = list(ledger.links)
    linked_consenting = sum(consent.get(c, False) for c in linked)
    told = [c for contributions_told in ledger.told for c in contributions_told]
    told_consenting = sum(consent.get(c, False) for c in told)

    # What is there.
    notifications = query(notifier, "SELECT id, contribution_id, kind, status FROM notifications")
    kinds = {row.id: (row.kind, row.contribution_id) for row in notifications}
    by_kind_status = Counter((row.kind, row.status) for row in notifications)

    def sent_of(kind: str) -> int:
        return sum(by_kind_status[(kind, status)] for status in DELIVERED)

    def received(kind: str) -> list[tuple[str, int]]:
        return [(nid, at) for nid, at in outside if kinds.get(nid, ("?",))[0] == kind]

    def distinct_events(topic: str, type_: str, keep=lambda data: True) -> int:
        return len(
            {(e.get("source"), e.get("id")) for e in topics[topic] if e.get("type") == type_ and keep(e["data"])}
        )

    def count(url: str, sql: str) -> int:
        return query(url, sql)[0][0]

    def told_change(data: dict) -> bool:
        return (
            bool(data.get("contribution_id"))
            and data.get("status") in TOLD_MOVES
            and (data.get("status") != data.get("previous_status"))
        )

    intake_dead = query(intake, "SELECT event_id FROM dead_letters")
    dlq_announced = {e["data"]["dead_letter_id"] for e in topics[dlq_topic(SUBMISSIONS_TOPIC)]}
    duplicates = reconcile.duplicates(nid for nid, _ in outside)
    checks = [
        Check(f"intake: contributions ({len(ledger.kafka)} Kafka + {len(ledger.http)} HTTP sent)", sent,
              len(contributions)),
        Check("outcomes.contributions: contribution.received", sent,
              distinct_events(CONTRIBUTIONS_TOPIC, CONTRIBUTION_RECEIVED)),
        Check("decisions: contributions read model", sent, count(decisions, "SELECT count(*) FROM contributions_view")),
        Check("notifier: contributions read model", sent, count(notifier, "SELECT count(*) FROM contributions_view")),
        Check("notifier: acknowledgements sent (consented)", consenting, sent_of(MESSAGE_ACKNOWLEDGEMENT)),
        Check("notifier: acknowledgements withheld (no consent)", sent - consenting,
              by_kind_status[(MESSAGE_ACKNOWLEDGEMENT, STATUS_WITHHELD)]),
        Check("SMTP + Notify: acknowledgements received", consenting,
              reconcile.distinct(n for n, _ in received(MESSAGE_ACKNOWLEDGEMENT))),
        Check("decisions: links confirmed (links posted)", len(linked),
              count(decisions, "SELECT count(*) FROM links WHERE state = 'confirmed' AND unlinked_at IS NULL")),
        Check("outcomes.decisions: contribution.linked", len(linked), distinct_events(DECISIONS_TOPIC, CONTRIBUTION_LINKED)),
        Check("notifier: decision-linked updates sent (consented)", linked_consenting, sent_of(MESSAGE_DECISION_LINKED)),
        Check("SMTP + Notify: decision-linked updates received", linked_consenting,
              reconcile.distinct(n for n, _ in received(MESSAGE_DECISION_LINKED))),
        Check(f"outcomes.decisions: resource.changed to tell ({len(ledger.told)} moves)", len(told),
              distinct_events(DECISIONS_TOPIC, RESOURCE_CHANGED, told_change)),
        Check("notifier: resource-change updates sent (consented)", told_consenting, sent_of(MESSAGE_RESOURCE_CHANGED)),
        Check("SMTP + Notify: resource-change updates received", told_consenting,
              reconcile.distinct(n for n, _ in received(MESSAGE_RESOURCE_CHANGED))),
        Check("notifier: messages failed or never sent", 0,
              sum(c for (_, status), c in by_kind_status.items() if status in (STATUS_FAILED, STATUS_CREATED, STATUS_SENDING))),
        Check("intake: dead letters (distinct bad events sent)", len(ledger.bad), reconcile.distinct(r[0] for r in intake_dead)),
        Check("intake.submissions.dlq: dead letters announced", len(intake_dead), len(dlq_announced)),
        *(
            Check(f"{dlq_topic(topic)}: records", 0, len(topics[dlq_topic(topic)]))
            for topic in CONSUMED_TOPICS
            if topic != SUBMISSIONS_TOPIC
        ),
        Check("decisions + notifier: dead letters", 0,
              count(decisions, "SELECT count(*) FROM dead_letters") + count(notifier, "SELECT count(*) FROM dead_letters")),
        Check("outbox: events never published (3 services)", 0, pending_counts(stack)[0]),
        Check("HTTP: replays answered with the first contribution", ledger.http_replays, ledger.http_replays_answered),
        Check("load generator: unexpected answers or give-ups", 0, len(ledger.errors)),
        Check("duplicates delivered to the outside world", 0, duplicates, allowed_extra=duplicate_bound),
    ]  # fmt: skip

    first_ack = reconcile.first_arrivals(
        (kinds[nid][1], at) for nid, at in received(MESSAGE_ACKNOWLEDGEMENT) if kinds[nid][1]
    )
    first_update = reconcile.first_arrivals(
        (kinds[nid][1], at) for nid, at in received(MESSAGE_DECISION_LINKED) if kinds[nid][1]
    )
    start, end = window_ns
    return Findings(
        checks=checks,
        ack_latency_s=reconcile.latencies_s({c: s.sent_ns for c, s in submissions.items()}, first_ack),
        update_latency_s=reconcile.latencies_s(ledger.links, first_update),
        acks_in_window=sum(start <= at <= end for at in first_ack.values()),
        duplicates=duplicates,
        delivered=len(outside),
        last_delivery_ns=max((at for _, at in outside), default=end),
    )


# The run ----------------------------------------------------------------------------------


@dataclass
class Fault:
    """One injection at `at` seconds into the load; `inject()` returns what it did."""

    at: float
    inject: Callable[[], str]


class Soak:
    def __init__(self, title: str, seconds: float, drain_timeout: float):
        self.title = title
        self.seconds = seconds
        self.drain_timeout = drain_timeout
        self.t0 = time.monotonic()
        self.injected: list[str] = []

    def log(self, message: str) -> None:
        print(f"  [{time.strftime('%H:%M:%S')} +{time.monotonic() - self.t0:6.1f}s] {message}", flush=True)

    def run(
        self, faults: Callable[[Stack, PostgresCluster], list[Fault]] = lambda stack, pg: [], duplicate_bound=None
    ) -> int:
        install_signal_handlers()
        # The local Notify's access log and the Kafka client's complaints while the broker
        # is away would drown the progress lines.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        print(f"{self.title}: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}", flush=True)
        info = machine()
        print(
            f"machine: {info['nproc']} CPU ({info['cpu_model']}), {info['memory_gib']} GiB, "
            f"Linux {info['kernel']}, Python {info['python']}; revision {git_revision()}",
            flush=True,
        )
        with ExitStack() as cleanup:
            tmp = Path(tempfile.mkdtemp(prefix="outcome-soak-"))
            print(f"scratch directory (process logs in stack/logs/, kept on a mismatch): {tmp}", flush=True)
            # Its own directory, outside `tmp` (private to this user; the cluster may run as postgres).
            pg_dir = Path(tempfile.mkdtemp(prefix="outcome-soak-pg-"))
            postgres = PostgresCluster(pg_dir)
            postgres.start()
            cleanup.callback(shutil.rmtree, pg_dir, ignore_errors=True)
            cleanup.callback(postgres.stop)
            self.log("starting the stack (Tansu, PostgreSQL, SMTP, Notify, 3 services x web/consumer/relay, sender)")
            try:
                with running_stack(
                    tmp / "stack", postgres, tenant=TENANT, tenant_name="Soak Council", case_systems=(CASE_SYSTEM,)
                ) as stack:
                    status = self._with_stack(stack, postgres, faults, duplicate_bound)
            except BaseException:
                print(f"process logs kept: {tmp / 'stack' / 'logs'}", flush=True)
                raise
            if status == 0:  # on a mismatch the logs (and the mail) stay for a look
                shutil.rmtree(tmp, ignore_errors=True)
            return status

    def _with_stack(self, stack: Stack, postgres: PostgresCluster, faults, duplicate_bound) -> int:
        session = requests.Session()

        def post(service: str, path: str, role: str, body: dict) -> dict:
            response = session.post(stack.urls[service] + path, headers=stack.headers(role), json=body, timeout=15)
            response.raise_for_status()
            return response.json()

        engagements = [
            post("intake", "/v1/engagements", "staff", factories.engagement_payload())["id"] for _ in range(2)
        ]
        board = post("decisions", "/v1/boards", "staff", {"name": "Soak board", "remit": "Adult social care"})
        stack.wait_for(lambda: self._decisions_know(stack, engagements), "decisions to learn of the engagements")

        ledger = Ledger()
        load = Load(stack, ledger, engagements, board["id"])
        schedule = sorted(faults(stack, postgres), key=lambda f: f.at)
        self.log(
            f"load for {self.seconds:.0f} s: {load.rate:g} Kafka submissions/s, {load.http_rate:g} HTTP/s, "
            f"a decision every {load.decision_every:g} s" + (f"; {len(schedule)} faults scheduled" if schedule else "")
        )
        started_ns, started = time.time_ns(), time.monotonic()
        self.t0 = started
        load.start()
        next_progress = 10.0
        while (elapsed := time.monotonic() - started) < self.seconds:
            if schedule and elapsed >= schedule[0].at:
                what = schedule.pop(0).inject()
                self.injected.append(f"+{elapsed:6.1f}s  {what}")
                self.log(f"FAULT {what}")
                continue
            if elapsed >= next_progress:
                next_progress += 10
                self.log(
                    f"sent {len(ledger.kafka)} Kafka + {len(ledger.http)} HTTP submissions, {len(ledger.links)} links, "
                    f"{len(ledger.told)} resource moves; {len(delivered_to_outside(stack))} messages delivered; "
                    f"retries {sum(ledger.retries.values())}"
                )
            time.sleep(0.2)
        for fault in schedule:  # anything scheduled past the end (a resume, a restart) still happens
            self.injected.append(f"+{time.monotonic() - started:6.1f}s  {fault.inject()}")
        ended_ns = time.time_ns()
        load.finish()
        self.log(f"load stopped; finishing in-flight calls took {(time.time_ns() - ended_ns) / 1e9:.1f} s; draining")
        drained = drain(stack, len(ledger.kafka) + len(ledger.http), self.drain_timeout, self.log)
        self.log(f"drained in {drained:.0f} s; reading the three databases, every topic, SMTP and Notify")
        bound = duplicate_bound() if duplicate_bound else 0
        findings = reconcile_all(stack, ledger, bound, (started_ns, ended_ns))
        self.report(ledger, findings, (ended_ns - started_ns) / 1e9, (findings.last_delivery_ns - started_ns) / 1e9)
        failed = reconcile.mismatches(findings.checks)
        if failed:
            print(f"\n{len(failed)} MISMATCH(ES); process logs: {stack.ctx.logs}", flush=True)
        return 1 if failed else 0

    @staticmethod
    def _decisions_know(stack: Stack, engagements: list[str]) -> bool:
        url = stack.ctx.env["DECISIONS_DATABASE_URL"]
        return query(url, "SELECT count(*) FROM engagements_view")[0][0] >= len(engagements)

    def report(self, ledger: Ledger, findings: Findings, load_s: float, to_last_s: float) -> None:
        if self.injected:
            print("\nInjected:", *self.injected, sep="\n  ")
        print("\nReconciliation:\n" + reconcile.table(findings.checks))
        submissions = len(ledger.kafka) + len(ledger.http)
        print(
            f"\nLoad: {load_s:.0f} s; {submissions} submissions ({submissions / load_s:.1f}/s offered; "
            f"{len(ledger.kafka)} on Kafka, {len(ledger.http)} over HTTP), {ledger.kafka_repeats} Kafka events "
            f"sent twice, {len(ledger.bad)} bad events, {len(ledger.plans)} decisions, {len(ledger.links)} links, "
            f"{len(ledger.told)} resource moves"
        )
        print(
            f"Throughput: {findings.acks_in_window / load_s:.1f} acknowledgements/s reached SMTP/Notify during the "
            f"load; {findings.delivered} messages in {to_last_s:.0f} s from the start of the load to the last "
            f"delivery ({findings.delivered / to_last_s:.1f}/s)"
        )
        retries = ", ".join(f"{what} {n}" for what, n in sorted(ledger.retries.items())) or "none"
        print(f"Retries by the load generator: {retries}")
        for error in ledger.errors[:20]:
            print(f"  load error: {error}")
        print("End-to-end latency (sent -> message accepted by SMTP/Notify):")
        print("  " + reconcile.latency_line("submission -> acknowledgement", findings.ack_latency_s))
        print("  " + reconcile.latency_line("link POST -> decision update", findings.update_latency_s))


def main() -> int:
    seconds = env_float("SOAK_SECONDS", 120)
    return Soak("make soak", seconds, drain_timeout=env_float("SOAK_DRAIN_TIMEOUT", 180)).run()


if __name__ == "__main__":
    raise SystemExit(main())
