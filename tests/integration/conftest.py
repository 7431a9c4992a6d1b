import pytest

from tests.support.kafka import Broker
from tests.support.providers import FakeTwilio
from tests.support.smtp import SmtpServer


@pytest.fixture
def broker():
    """A fresh Tansu broker per test: no test sees another's events."""
    started = Broker()
    yield started
    started.stop()


@pytest.fixture
def smtp(tmp_path):
    """A real SMTP server writing what it receives under the test's directory."""
    server = SmtpServer(tmp_path / "mail")
    yield server
    server.stop()


@pytest.fixture
def twilio():
    """A local server speaking Twilio's messaging API."""
    server = FakeTwilio().start()
    yield server
    server.stop()
