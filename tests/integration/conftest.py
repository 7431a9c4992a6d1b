import pytest

from tests.support.kafka import Broker


@pytest.fixture
def broker():
    """A fresh Tansu broker per test: no test sees another's events."""
    started = Broker()
    yield started
    started.stop()
