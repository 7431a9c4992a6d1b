"""The notifier's pages and SMS replies, with intake and decisions beside it on SQLite.

Events move between the three through their real processors (tests/support/relay.py);
SMS and email go to a provider that keeps what it is given (no quiet hours).
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from services.decisions.entrypoints.web import create_app as create_decisions_app
from services.notifier.adapters.providers import OutgoingMessage
from services.notifier.bootstrap import bootstrap as bootstrap_notifier
from services.notifier.entrypoints.web import create_app as create_notifier_app
from shared.infra import migrations
from tests.support.relay import Relay

TWILIO_AUTH_TOKEN = "twilio-auth-token-for-tests"
NOTIFY_CALLBACK_TOKEN = "notify-callback-token-for-tests"
NOTIFIER_URL = "https://notifier.example.gov.uk"


class KeptMessages:
    """A provider that sends nothing and keeps every message it is given."""

    def __init__(self, name: str):
        self.name = name
        self.sent: list[OutgoingMessage] = []
        self._references = itertools.count(1)

    def send(self, message: OutgoingMessage) -> str:
        self.sent.append(message)
        return f"{self.name}-{next(self._references)}"


@pytest.fixture
def providers() -> dict[str, KeptMessages]:
    return {"email": KeptMessages("smtp"), "sms": KeptMessages("twilio")}


@pytest.fixture
def notifier(settings, intake, providers):
    migrations.upgrade_service("notifier", settings.database_url("notifier"))
    configured = dataclasses.replace(
        settings,
        twilio_auth_token=TWILIO_AUTH_TOKEN,
        notify_callback_token=NOTIFY_CALLBACK_TOKEN,
        notifier_public_url=NOTIFIER_URL,
        sms_quiet_hours=None,
    )
    platform = bootstrap_notifier(configured, providers=providers)
    yield platform
    platform.engine.dispose()
    platform.keys.engine.dispose()


@pytest.fixture
def notifier_pages(notifier):
    return create_notifier_app(notifier).test_client()


@pytest.fixture
def decisions_pages(decisions):
    return create_decisions_app(decisions).test_client()


@pytest.fixture
def relay(intake, decisions, notifier) -> Relay:
    return Relay({"intake": intake, "decisions": decisions, "notifier": notifier})
