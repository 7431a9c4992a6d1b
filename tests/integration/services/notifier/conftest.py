import pytest

from services.notifier.bootstrap import bootstrap as bootstrap_notifier
from services.notifier.entrypoints.web import create_app as create_notifier_app
from shared.infra import migrations
from tests.support.api import ApiClient


@pytest.fixture
def notifier(settings, intake, smtp, monkeypatch):
    monkeypatch.setenv("SMTP_PORT", str(smtp.port))
    from shared.infra.settings import Settings

    migrations.upgrade_service("notifier", settings.database_url("notifier"))
    platform = bootstrap_notifier(Settings.from_env(env_file=None))
    yield platform
    platform.engine.dispose()


@pytest.fixture
def notifier_api(notifier, council) -> ApiClient:
    return ApiClient(create_notifier_app(notifier).test_client(), council, role="staff")
