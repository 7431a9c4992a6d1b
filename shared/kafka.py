"""kafka-python clients configured the way every service needs them."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Mapping

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from shared.constants import ALL_TOPICS, PARTICIPANTS_TOPIC

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 3

# outcomes.participants is compacted: the broker keeps the latest record per participant,
# which after an erasure is `participant.erased` (no personal data), so the sealed contact
# details of an erased person do not stay on the topic. Apache Kafka compacts; Tansu (tests,
# `make run`) accepts the setting and keeps everything in memory anyway.
TOPIC_CONFIGS = {PARTICIPANTS_TOPIC: {"cleanup.policy": "compact"}}


def _servers(bootstrap_servers: str) -> list[str]:
    return [s.strip() for s in bootstrap_servers.split(",") if s.strip()]


def security(settings) -> dict:
    """How every client of ours authenticates to the brokers and checks them (kafka-python's
    names), from KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_CAFILE. With SASL, each
    service connects as its own principal, which the brokers' ACLs allow only its own topics
    (README, "Kafka ACLs and SASL")."""
    config: dict = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_sasl_mechanism:
        config.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password,
        )
    if settings.kafka_ssl_cafile:
        config["ssl_cafile"] = settings.kafka_ssl_cafile
    return config


def producer(bootstrap_servers: str, *, security: Mapping[str, object] | None = None, **overrides) -> KafkaProducer:
    config = dict(
        **(security or {}),
        bootstrap_servers=_servers(bootstrap_servers),
        acks="all",
        linger_ms=5,
        retries=10,
        # One request in flight per connection keeps a key's events in order on retry.
        max_in_flight_requests_per_connection=1,
        request_timeout_ms=10_000,
        delivery_timeout_ms=30_000,
        max_block_ms=10_000,
        enable_idempotence=False,
    )
    config.update(overrides)
    return KafkaProducer(**config)


def consumer(
    bootstrap_servers: str,
    *,
    group_id: str,
    topics: list[str],
    security: Mapping[str, object] | None = None,
    **overrides,
) -> KafkaConsumer:
    config = dict(
        **(security or {}),
        bootstrap_servers=_servers(bootstrap_servers),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # Tansu takes over 20 s to settle a group join with the default session timeout.
        session_timeout_ms=6_000,
        heartbeat_interval_ms=1_000,
        max_poll_records=500,
        max_poll_interval_ms=300_000,
    )
    config.update(overrides)
    client = KafkaConsumer(**config)
    client.subscribe(topics)
    return client


def admin_config(bootstrap_servers: str, security: Mapping[str, object] | None = None) -> dict:
    return dict(**(security or {}), bootstrap_servers=_servers(bootstrap_servers), request_timeout_ms=10_000)


def create_topics(
    bootstrap_servers: str,
    topics=ALL_TOPICS,
    partitions: int = DEFAULT_PARTITIONS,
    *,
    security: Mapping[str, object] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; return the ones created."""
    admin = KafkaAdminClient(**admin_config(bootstrap_servers, security))
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(t, partitions, 1, topic_configs=TOPIC_CONFIGS.get(t, {})) for t in topics if t not in existing
        ]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in wanted]
    finally:
        admin.close()


def reachable(bootstrap_servers: str, timeout: float = 1.0) -> bool:
    """True when at least one bootstrap server accepts a TCP connection."""
    for server in _servers(bootstrap_servers):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def wait_until_reachable(bootstrap_servers: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not reachable(bootstrap_servers):
        if time.monotonic() > deadline:
            raise KafkaError(f"no Kafka broker answered at {bootstrap_servers} within {timeout:.0f} s")
        time.sleep(0.1)
