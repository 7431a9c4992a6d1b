"""What `outcomes topics create` asks of Kafka, and the producer every process publishes with."""

from __future__ import annotations

import subprocess
import sys

import pytest
from kafka.errors import KafkaError, KafkaTimeoutError, UnknownProducerIdError

from shared.messaging import kafka
from shared.rules.constants import ALL_TOPICS, PARTICIPANTS_TOPIC, SUBMISSIONS_TOPIC, dlq_topic

DAY_MS = 24 * 60 * 60 * 1000


def specs(**policy) -> dict[str, kafka.TopicSpec]:
    chosen = kafka.TopicPolicy(**policy)
    return {name: kafka.topic_spec(name, chosen) for name in ALL_TOPICS}


def test_the_embedded_brokers_policy_is_one_replica_and_three_days_of_submissions():
    for name, spec in specs().items():
        assert (spec.partitions, spec.replication_factor) == (3, 1), name
        assert spec.configs["min.insync.replicas"] == "1", name
    assert specs()[SUBMISSIONS_TOPIC].configs["retention.ms"] == str(3 * DAY_MS)


def test_a_cluster_gets_three_replicas_with_two_in_sync_on_every_topic():
    for name, spec in specs(replication_factor=3, min_insync_replicas=2, partitions=12).items():
        assert (spec.partitions, spec.replication_factor) == (12, 3), name
        assert spec.configs["min.insync.replicas"] == "2", name


def test_only_submissions_have_a_short_retention_and_only_participants_are_compacted():
    topics = specs(submissions_retention_days=2)
    assert topics[SUBMISSIONS_TOPIC].configs == {"min.insync.replicas": "1", "retention.ms": str(2 * DAY_MS)}
    assert topics[PARTICIPANTS_TOPIC].configs == {"min.insync.replicas": "1", "cleanup.policy": "compact"}
    others = set(ALL_TOPICS) - {SUBMISSIONS_TOPIC, PARTICIPANTS_TOPIC}
    assert dlq_topic(SUBMISSIONS_TOPIC) in others  # dead letters carry the original sealed only
    for name in others:
        assert topics[name].configs == {"min.insync.replicas": "1"}, name


@pytest.mark.parametrize(
    "policy, complaint",
    [
        ({"replication_factor": 0}, "replication factor must be at least 1"),
        ({"replication_factor": 2, "min_insync_replicas": 3}, "min.insync.replicas must be between 1 and"),
        ({"min_insync_replicas": 0}, "min.insync.replicas must be between 1 and"),
        ({"partitions": 0}, "partitions must be at least 1"),
        ({"submissions_retention_days": 0}, "retention of intake.submissions must be at least 1 day"),
    ],
)
def test_a_policy_no_write_could_meet_is_refused_before_kafka_is_asked(policy, complaint):
    with pytest.raises(ValueError, match=complaint):
        kafka.TopicPolicy(**policy)


def test_the_report_says_what_was_created_changed_and_left():
    report = kafka.TopicReport(
        created=[],
        altered={
            SUBMISSIONS_TOPIC: {"retention.ms": (str(7 * DAY_MS), str(3 * DAY_MS)), "min.insync.replicas": (None, "2")}
        },
        not_changed=["outcomes.decisions has replication factor 1, not 3: ..."],
        failed=["alter outcomes.engagements min.insync.replicas: PolicyViolation"],
    )
    assert report.lines() == [
        "created: none (all exist)",
        f"altered {SUBMISSIONS_TOPIC}: retention.ms {7 * DAY_MS} -> {3 * DAY_MS}",
        f"altered {SUBMISSIONS_TOPIC}: min.insync.replicas (unset) -> 2",
        "not changed: outcomes.decisions has replication factor 1, not 3: ...",
        "failed: alter outcomes.engagements min.insync.replicas: PolicyViolation",
    ]


class FakeFuture:
    def __init__(self):
        self.errbacks = []

    def add_errback(self, errback):
        self.errbacks.append(errback)
        return self

    def fail(self, error: Exception) -> None:
        for errback in self.errbacks:
            errback(error)


class FakeKafkaProducer:
    """Stands in for kafka-python's producer: records what was sent and whether it was closed."""

    def __init__(self):
        self.sent: list[str] = []
        self.futures: list[FakeFuture] = []
        self.closed = False
        self.refuse: Exception | None = None

    def send(self, topic, **_):
        if self.refuse:
            raise self.refuse
        self.sent.append(topic)
        self.futures.append(FakeFuture())
        return self.futures[-1]

    def close(self, timeout=None):
        self.closed = True


@pytest.fixture
def made() -> list[FakeKafkaProducer]:
    return []


@pytest.fixture
def producer(made) -> kafka.Producer:
    def make():
        made.append(FakeKafkaProducer())
        return made[-1]

    return kafka.Producer(make)


def test_a_producer_the_broker_no_longer_knows_is_replaced_before_the_next_send(producer, made):
    producer.send("t").fail(UnknownProducerIdError())
    producer.send("t")

    assert len(made) == 2 and made[0].closed
    assert (made[0].sent, made[1].sent) == (["t"], ["t"])


def test_a_timeout_keeps_the_producer_so_its_retries_stay_deduplicated(producer, made):
    producer.send("t").fail(KafkaTimeoutError())
    producer.send("t")

    assert len(made) == 1 and made[0].sent == ["t", "t"]


def test_a_producer_that_refuses_at_once_is_replaced_before_the_next_send(producer, made):
    made[0].refuse = KafkaError("Cannot perform send because at least one previous idempotent request has failed")
    with pytest.raises(KafkaError):
        producer.send("t")
    producer.send("t")

    assert len(made) == 2 and made[0].closed and made[1].sent == ["t"]


def test_a_web_worker_does_not_load_kafka_python_it_never_uses():
    """Web workers make no Kafka client: kafka-python (about 7 MiB each) stays out of them."""
    modules_a_web_worker_imports = (
        "shared.infra.platform",
        "shared.messaging.outbox",
        "shared.messaging.consumer",
        "services.intake.bootstrap",
        "services.decisions.bootstrap",
        "services.notifier.bootstrap",
    )
    script = f"import sys\nfor m in {modules_a_web_worker_imports!r}: __import__(m)\nprint('kafka' in sys.modules)"

    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "False"
