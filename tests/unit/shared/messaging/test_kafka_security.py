"""Every Kafka client our processes make connects with the deployment's SASL/TLS settings."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from shared.infra.settings import Settings
from shared.messaging import kafka

ROOT = Path(__file__).resolve().parents[4]
SECURED = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "outcome-chain-intake",
    "KAFKA_SASL_PASSWORD": "a-password-from-a-secret",
    "KAFKA_SSL_CAFILE": "/etc/outcome-chain/kafka-ca.pem",
}
EXPECTED = {
    "security_protocol": "SASL_SSL",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_plain_username": "outcome-chain-intake",
    "sasl_plain_password": "a-password-from-a-secret",
    "ssl_cafile": "/etc/outcome-chain/kafka-ca.pem",
}
OFFLINE = {"api_version": (2, 8)}  # kafka-python then connects on first use, not when built


@pytest.fixture
def secured(monkeypatch) -> Settings:
    for name, value in SECURED.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env(env_file=None)


def test_the_settings_are_read_from_the_environment(secured):
    assert kafka.security(secured) == EXPECTED


def test_unset_they_leave_the_embedded_brokers_plaintext(monkeypatch):
    for name in SECURED:
        monkeypatch.delenv(name, raising=False)
    assert kafka.security(Settings.from_env(env_file=None)) == {"security_protocol": "PLAINTEXT"}


def test_tls_without_sasl_sends_no_credentials(secured):
    tls_only = dataclasses.replace(secured, kafka_security_protocol="SSL", kafka_sasl_mechanism=None)
    assert kafka.security(tls_only) == {"security_protocol": "SSL", "ssl_cafile": EXPECTED["ssl_cafile"]}


def test_the_producer_connects_with_them(secured):
    client = kafka.producer("127.0.0.1:1", security=kafka.security(secured), **OFFLINE)
    try:
        assert {name: client.config[name] for name in EXPECTED} == EXPECTED
    finally:
        client.close(timeout=0)


def test_the_consumer_connects_with_them(secured):
    client = kafka.consumer(
        "127.0.0.1:1", group_id="intake", topics=["intake.submissions"], security=kafka.security(secured), **OFFLINE
    )
    try:
        assert {name: client.config[name] for name in EXPECTED} == EXPECTED
    finally:
        client.close(autocommit=False)


def test_the_admin_client_that_creates_topics_connects_with_them(secured):
    config = kafka.admin_config("127.0.0.1:1", kafka.security(secured))
    assert {name: config[name] for name in EXPECTED} == EXPECTED
    assert set(config) <= set(KafkaAdminClient.DEFAULT_CONFIG)  # kafka-python refuses names it does not know


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            yield name, node


def test_every_client_our_processes_make_is_given_them():
    """The operator's commands, `make run` and the demo make clients only through shared.messaging.kafka,
    and always pass the security settings; nothing builds a kafka-python client directly."""
    makers = {"producer", "consumer", "create_topics", "ensure_topics"}
    unsecured, direct, found = [], [], 0
    for path in (path for part in ("shared", "services", "ops") for path in ROOT.glob(f"{part}/**/*.py")):
        for name, call in _calls(ast.parse(path.read_text())):
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            if name in ("KafkaProducer", "KafkaConsumer", "KafkaAdminClient") and path.name != "kafka.py":
                direct.append(where)
            is_ours = isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", None) == "kafka"
            if name in makers and is_ours:
                found += 1
                if "security" not in {keyword.arg for keyword in call.keywords}:
                    unsecured.append(where)
    assert (
        found >= 6
    )  # consume, relay, topics create, make run's topics (at start and after a broker restart), the demo's producer
    assert unsecured == []
    assert direct == []
