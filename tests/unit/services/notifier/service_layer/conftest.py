"""The notifier on SQLite, fed intake's real events through its real processor (no broker)."""

from __future__ import annotations

import pytest

from services.notifier.bootstrap import bootstrap as bootstrap_notifier
from shared.infra import migrations
from tests.support.relay import Relay


@pytest.fixture
def notifier(settings, intake):
    migrations.upgrade_service("notifier", settings.database_url("notifier"))
    platform = bootstrap_notifier(settings)
    yield platform
    platform.engine.dispose()
    platform.keys.engine.dispose()


@pytest.fixture
def relay(intake, notifier) -> Relay:
    return Relay({"intake": intake, "notifier": notifier})
