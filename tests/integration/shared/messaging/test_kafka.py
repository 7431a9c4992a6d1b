"""`outcomes topics create` and the producers against a real broker (Tansu, the embedded one).

Tansu reports topic configs through DescribeConfigs (every value as a default, so they are
read with the `all` filter) and keeps the replication factor it is asked for, listing its one
node once per replica; it replicates nothing, which Apache Kafka does.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from shared.messaging import kafka
from shared.rules.constants import ALL_TOPICS, DECISIONS_TOPIC, PARTICIPANTS_TOPIC, SUBMISSIONS_TOPIC
from tests.support.kafka import Broker

DAY_MS = 24 * 60 * 60 * 1000


@pytest.fixture
def bare_broker():
    """A broker with no topics yet, as a new cluster is."""
    started = Broker(with_topics=False)
    yield started
    started.stop()


def outcomes_topics_create(broker: Broker, tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", "topics", "create", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "OUTCOMES_VAR_DIR": str(tmp_path), **env},
    )


def described(broker: Broker) -> dict[str, dict]:
    """Per topic: its partition count, replication factor and config values."""
    admin = KafkaAdminClient(bootstrap_servers=[broker.bootstrap], request_timeout_ms=10_000)
    try:
        topics = {t["name"]: t["partitions"] for t in admin.describe_topics(list(ALL_TOPICS))}
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in ALL_TOPICS], config_filter="all"
        )["topic"]
    finally:
        admin.close()
    return {
        name: {
            "partitions": len(partitions),
            "replication_factor": len(partitions[0]["replica_nodes"]),
            "configs": {key: entry["value"] for key, entry in configs[name].items()},
        }
        for name, partitions in topics.items()
    }


def test_topics_are_created_with_the_replication_and_configs_asked_for(bare_broker, tmp_path):
    created = outcomes_topics_create(
        bare_broker, tmp_path, "--replication-factor", "3", "--min-insync-replicas", "2", "--partitions", "4"
    )

    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created: ")
    assert set(created.stdout.splitlines()[0].removeprefix("created: ").split(", ")) == set(ALL_TOPICS)
    topics = described(bare_broker)
    assert set(topics) == set(ALL_TOPICS)
    for name, topic in topics.items():
        assert (topic["partitions"], topic["replication_factor"]) == (4, 3), name
        assert topic["configs"]["min.insync.replicas"] == "2", name
    assert topics[SUBMISSIONS_TOPIC]["configs"]["retention.ms"] == str(3 * DAY_MS)  # the default: 3 days
    assert topics[PARTICIPANTS_TOPIC]["configs"]["cleanup.policy"] == "compact"
    assert "retention.ms" not in topics[DECISIONS_TOPIC]["configs"]  # the cluster's default retention


def test_settings_choose_the_same_when_no_option_is_given(bare_broker, tmp_path):
    created = outcomes_topics_create(
        bare_broker,
        tmp_path,
        KAFKA_REPLICATION_FACTOR="3",
        KAFKA_MIN_INSYNC_REPLICAS="2",
        KAFKA_SUBMISSIONS_RETENTION_DAYS="2",
    )

    assert created.returncode == 0, created.stderr
    topics = described(bare_broker)
    assert topics[DECISIONS_TOPIC]["replication_factor"] == 3
    assert topics[DECISIONS_TOPIC]["configs"]["min.insync.replicas"] == "2"
    assert topics[SUBMISSIONS_TOPIC]["configs"]["retention.ms"] == str(2 * DAY_MS)


def test_existing_topics_get_the_configs_that_differ_and_are_told_what_kafka_cannot_change(bare_broker, tmp_path):
    first = outcomes_topics_create(bare_broker, tmp_path, "--replication-factor", "3", "--min-insync-replicas", "2")
    assert first.returncode == 0, first.stderr

    again = outcomes_topics_create(
        bare_broker,
        tmp_path,
        "--replication-factor",
        "1",
        "--min-insync-replicas",
        "1",
        "--submissions-retention-days",
        "1",
        "--partitions",
        "6",
    )

    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0] == "created: none (all exist)"
    assert f"altered {SUBMISSIONS_TOPIC}: retention.ms {3 * DAY_MS} -> {DAY_MS}" in lines
    assert f"altered {DECISIONS_TOPIC}: min.insync.replicas 2 -> 1" in lines
    assert any(line.startswith(f"not changed: {DECISIONS_TOPIC} has replication factor 3, not 1") for line in lines), (
        lines
    )
    assert any(line.startswith(f"not changed: {DECISIONS_TOPIC} has 3 partitions, not 6") for line in lines), lines
    topics = described(bare_broker)
    assert topics[SUBMISSIONS_TOPIC]["configs"]["retention.ms"] == str(DAY_MS)
    assert {topic["configs"]["min.insync.replicas"] for topic in topics.values()} == {"1"}
    assert topics[PARTICIPANTS_TOPIC]["configs"]["cleanup.policy"] == "compact"  # kept
    assert {topic["partitions"] for topic in topics.values()} == {3}  # never moved keys

    unchanged = outcomes_topics_create(
        bare_broker,
        tmp_path,
        "--replication-factor",
        "3",
        "--min-insync-replicas",
        "1",
        "--submissions-retention-days",
        "1",
    )
    assert unchanged.returncode == 0, unchanged.stderr
    assert unchanged.stdout.splitlines() == ["created: none (all exist)"]


def test_the_producer_is_idempotent_with_acks_all_and_delivers_each_record_once_in_order(broker):
    producer = kafka.producer(broker.bootstrap)
    try:
        assert producer.config["enable_idempotence"] is True
        assert producer.config["acks"] in ("all", -1)
        for number in range(20):
            producer.send(DECISIONS_TOPIC, key=b"one-decision", value=str(number).encode())
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)

    assert [int(record.value) for record in broker.records(DECISIONS_TOPIC)] == list(range(20))


def test_more_in_sync_replicas_than_an_existing_topic_has_are_not_set(bare_broker, tmp_path):
    """They would refuse every write: the topic keeps its setting until it has the replicas."""
    assert outcomes_topics_create(bare_broker, tmp_path).returncode == 0  # 1 replica, 1 in sync

    again = outcomes_topics_create(bare_broker, tmp_path, "--replication-factor", "3", "--min-insync-replicas", "2")

    assert again.returncode == 0, again.stderr
    assert (
        f"not changed: {DECISIONS_TOPIC} keeps min.insync.replicas 1: it has 1 replica(s), fewer than 2; "
        "raise its replication factor first"
    ) in again.stdout.splitlines()
    assert {topic["configs"]["min.insync.replicas"] for topic in described(bare_broker).values()} == {"1"}
