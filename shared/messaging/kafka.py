"""kafka-python clients configured the way every service needs them."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.rules.constants import ALL_TOPICS, PARTICIPANTS_TOPIC, SUBMISSIONS_TOPIC

if TYPE_CHECKING:  # kafka-python is imported where a client is made (web workers make none)
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

log = logging.getLogger(__name__)


def kafka_error() -> type[Exception]:
    """kafka-python's base error (`except kafka_error():`), imported only when needed: a
    web worker, which makes no Kafka client, never loads kafka-python (about 7 MiB)."""
    from kafka.errors import KafkaError

    return KafkaError


DEFAULT_PARTITIONS = 3
DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicPolicy:
    """How `outcomes topics create` makes the topics. 1/1 suits the embedded broker; a
    council's cluster wants 3 replicas with `min.insync.replicas` 2 (KAFKA_REPLICATION_FACTOR,
    KAFKA_MIN_INSYNC_REPLICAS): with the producers' acks=all, an event is acknowledged only
    once two brokers hold it, and one broker may be lost or restarted without stopping writes."""

    partitions: int = DEFAULT_PARTITIONS
    replication_factor: int = 1
    min_insync_replicas: int = 1
    # intake.submissions carries case systems' input in the clear, which erasure cannot reach
    # on the broker: it is kept only this long (KAFKA_SUBMISSIONS_RETENTION_DAYS).
    submissions_retention_days: int = 3

    def __post_init__(self):
        if self.partitions < 1:
            raise ValueError(f"partitions must be at least 1, not {self.partitions}")
        if self.replication_factor < 1:
            raise ValueError(f"the replication factor must be at least 1, not {self.replication_factor}")
        if not 1 <= self.min_insync_replicas <= self.replication_factor:
            raise ValueError(
                f"min.insync.replicas must be between 1 and the replication factor ({self.replication_factor}), "
                f"not {self.min_insync_replicas}: with acks=all no write could succeed"
            )
        if self.submissions_retention_days < 1:
            raise ValueError(
                f"the retention of {SUBMISSIONS_TOPIC} must be at least 1 day, not {self.submissions_retention_days}"
            )

    @classmethod
    def from_settings(cls, settings, **overrides) -> TopicPolicy:
        chosen = dict(
            replication_factor=settings.kafka_replication_factor,
            min_insync_replicas=settings.kafka_min_insync_replicas,
            submissions_retention_days=settings.kafka_submissions_retention_days,
        )
        chosen.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**chosen)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


def topic_spec(name: str, policy: TopicPolicy) -> TopicSpec:
    configs = {"min.insync.replicas": str(policy.min_insync_replicas)}
    if name == PARTICIPANTS_TOPIC:
        # Compacted: the broker keeps the latest record per participant, which after an
        # erasure is `participant.erased` (no personal data), so the sealed contact details
        # of an erased person do not stay on the topic. Tansu accepts the setting and keeps
        # everything in memory anyway.
        configs["cleanup.policy"] = "compact"
    if name == SUBMISSIONS_TOPIC:
        configs["retention.ms"] = str(policy.submissions_retention_days * DAY_MS)
    return TopicSpec(name, policy.partitions, policy.replication_factor, configs)


@dataclass
class TopicReport:
    """What `ensure_topics` found and did."""

    created: list[str] = field(default_factory=list)
    altered: dict[str, dict[str, tuple[str | None, str]]] = field(default_factory=dict)  # topic: {key: (was, now)}
    not_changed: list[str] = field(default_factory=list)  # what differs and cannot be changed here
    failed: list[str] = field(default_factory=list)  # what the broker refused

    def lines(self) -> list[str]:
        out = ["created: " + (", ".join(self.created) if self.created else "none (all exist)")]
        for topic, changes in self.altered.items():
            for key, (was, now) in changes.items():
                out.append(f"altered {topic}: {key} {was if was is not None else '(unset)'} -> {now}")
        out += [f"not changed: {note}" for note in self.not_changed]
        out += [f"failed: {failure}" for failure in self.failed]
        return out


def _servers(bootstrap_servers: str) -> list[str]:
    return [s.strip() for s in bootstrap_servers.split(",") if s.strip()]


class Producer:
    """An idempotent KafkaProducer (acks=all), started afresh after a failure that retrying
    cannot fix: a broker that lost its producer state (the embedded broker restarted empty)
    answers the old producer id with errors for ever, and a new producer gets a new id."""

    def __init__(self, make: Callable[[], KafkaProducer]):
        self._make = make
        self._client = make()
        self._broken = False

    def send(self, topic: str, *args, **kwargs):
        if self._broken:
            self._client.close(timeout=0)
            self._client = self._make()
            self._broken = False
        try:
            future = self._client.send(topic, *args, **kwargs)
        except kafka_error() as error:  # a producer in an error state refuses at once
            self._failed(error)
            raise
        future.add_errback(self._failed)
        return future

    def _failed(self, error: Exception) -> None:
        if not getattr(error, "retriable", False):
            self._broken = True

    def __getattr__(self, name: str):  # flush, close, partitions_for, metrics ...
        return getattr(self._client, name)


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


def producer(bootstrap_servers: str, *, security: Mapping[str, object] | None = None, **overrides) -> Producer:
    config = dict(
        **(security or {}),
        bootstrap_servers=_servers(bootstrap_servers),
        # Every in-sync replica has the record before it counts as sent, and retries never
        # write it twice or out of order (the broker drops a repeated sequence number).
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        retries=10,
        # One request in flight per connection keeps a key's events in order on retry.
        max_in_flight_requests_per_connection=1,
        request_timeout_ms=10_000,
        delivery_timeout_ms=30_000,
        max_block_ms=10_000,
    )
    config.update(overrides)
    from kafka import KafkaProducer

    return Producer(lambda: KafkaProducer(**config))


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
    from kafka import KafkaConsumer

    client = KafkaConsumer(**config)
    client.subscribe(topics)
    return client


def admin_config(bootstrap_servers: str, security: Mapping[str, object] | None = None) -> dict:
    return dict(**(security or {}), bootstrap_servers=_servers(bootstrap_servers), request_timeout_ms=10_000)


def ensure_topics(
    bootstrap_servers: str,
    policy: TopicPolicy | None = None,
    topics=ALL_TOPICS,
    *,
    security: Mapping[str, object] | None = None,
) -> TopicReport:
    """Create the topics that do not exist yet as `policy` says; on those that do, set the
    configs that differ (min.insync.replicas, retention, cleanup policy) and report what
    Kafka cannot change in place (replication factor, partition count)."""
    policy = policy or TopicPolicy()
    specs = {name: topic_spec(name, policy) for name in topics}
    report = TopicReport()
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**admin_config(bootstrap_servers, security))
    try:
        existing = set(admin.list_topics())
        missing = [spec for name, spec in specs.items() if name not in existing]
        if missing:
            _create(admin, missing, report)
        present = [spec for name, spec in specs.items() if name in existing]
        if present:
            _reconcile(admin, present, report)
    finally:
        admin.close()
    return report


def _create(admin: KafkaAdminClient, specs: list[TopicSpec], report: TopicReport) -> None:
    answer = admin.create_topics(
        {
            s.name: {"num_partitions": s.partitions, "replication_factor": s.replication_factor, "configs": s.configs}
            for s in specs
        },
        raise_errors=False,
    )
    for topic in answer["topics"]:
        if topic["error_code"] == 0:
            report.created.append(topic["name"])
        elif topic["error_code"] != 36:  # TOPIC_ALREADY_EXISTS: another `topics create` got there first
            report.failed.append(f"create {topic['name']}: {topic.get('error_message') or topic['error_code']}")


def _reconcile(admin: KafkaAdminClient, specs: list[TopicSpec], report: TopicReport) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    replicas_of = {}
    for described in admin.describe_topics([s.name for s in specs]):
        spec = next(s for s in specs if s.name == described["name"])
        partitions = described["partitions"]
        replicas = replicas_of[spec.name] = len(partitions[0]["replica_nodes"]) if partitions else 0
        if replicas and replicas != spec.replication_factor:
            report.not_changed.append(
                f"{spec.name} has replication factor {replicas}, not {spec.replication_factor}: Kafka changes it "
                "only by a partition reassignment (kafka-reassign-partitions.sh)"
            )
        if len(partitions) != spec.partitions:
            report.not_changed.append(
                f"{spec.name} has {len(partitions)} partitions, not {spec.partitions}: adding partitions moves keys "
                "to other partitions (see the README's Scaling consumers by partitions)"
            )
    resources = [ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs]
    current = admin.describe_configs(resources, config_filter="all").get("topic", {})
    changes = {}
    for spec in specs:
        found = current.get(spec.name, {})
        differing = {
            key: ((found.get(key) or {}).get("value"), value)
            for key, value in spec.configs.items()
            if (found.get(key) or {}).get("value") != value
        }
        wanted_in_sync = differing.get("min.insync.replicas", (None, "0"))[1]
        if int(wanted_in_sync) > replicas_of.get(spec.name, 0) > 0:
            # More in-sync replicas than the topic has would refuse every write.
            del differing["min.insync.replicas"]
            report.not_changed.append(
                f"{spec.name} keeps min.insync.replicas {found.get('min.insync.replicas', {}).get('value')}: it has "
                f"{replicas_of[spec.name]} replica(s), fewer than {wanted_in_sync}; raise its replication factor first"
            )
        if differing:
            changes[spec.name] = differing
    if not changes:
        return
    answer = admin.alter_configs(
        [
            ConfigResource(ConfigResourceType.TOPIC, name, configs={k: now for k, (_, now) in differing.items()})
            for name, differing in changes.items()
        ],
        raise_on_unknown=False,
    ).get("topic", {})
    for name, differing in changes.items():
        if answer.get(name) == "OK":
            report.altered[name] = differing
        else:
            report.failed.append(f"alter {name} {', '.join(differing)}: {answer.get(name)}")


def create_topics(
    bootstrap_servers: str,
    topics=ALL_TOPICS,
    partitions: int = DEFAULT_PARTITIONS,
    *,
    security: Mapping[str, object] | None = None,
) -> list[str]:
    """The topics with the embedded broker's policy (tests, benchmarks); return the ones created."""
    report = ensure_topics(bootstrap_servers, TopicPolicy(partitions=partitions), topics, security=security)
    if report.failed:
        raise kafka_error()("; ".join(report.failed))
    return report.created


def reachable(bootstrap_servers: str, timeout: float = 1.0) -> bool:
    """True when a bootstrap server accepts a TCP connection; `timeout` is shared by them all,
    so a health check waits no longer than that however many are listed."""
    servers = _servers(bootstrap_servers)
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout / len(servers)):
                return True
        except OSError:
            continue
    return False


def wait_until_reachable(bootstrap_servers: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not reachable(bootstrap_servers):
        if time.monotonic() > deadline:
            raise kafka_error()(f"no Kafka broker answered at {bootstrap_servers} within {timeout:.0f} s")
        time.sleep(0.1)
