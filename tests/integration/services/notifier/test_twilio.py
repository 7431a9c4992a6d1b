"""SMS through Twilio's API on a local server: sent with our status callback; an invalid
number fails at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.notifier.adapters.tables import notifications
from services.notifier.bootstrap import bootstrap
from shared.infra import migrations
from shared.infra.settings import Settings
from tests.integration.services.notifier.test_messages import feed, send_all
from tests.integration.services.notifier.test_providers import midday
from tests.support import factories


@pytest.fixture
def twilio_notifier(settings, intake, twilio, monkeypatch):
    monkeypatch.setenv("SMS_PROVIDER", "twilio")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", twilio.auth_token)
    monkeypatch.setenv("TWILIO_FROM", "+447700900000")
    monkeypatch.setenv("TWILIO_BASE_URL", twilio.base_url)
    migrations.upgrade_service("notifier", settings.database_url("notifier"))
    platform = bootstrap(Settings.from_env(env_file=None), clock=midday())
    yield platform
    platform.engine.dispose()


def test_sms_goes_through_twilio_and_an_invalid_number_fails_without_retry(
    intake, intake_api, engagement, twilio_notifier, twilio
):
    good = factories.participant_payload(preferred_channel="sms", phone="+44 7700 900111")
    bad = factories.participant_payload(preferred_channel="sms", phone="+44 7700 900222")
    twilio.invalid_numbers.add("+447700900222")  # numbers go out in E.164
    for person in (good, bad):
        intake_api.as_("case-system").post(
            "/v1/contributions", json=factories.contribution_payload(engagement["id"], participant=person)
        )
    feed(intake, twilio_notifier)
    send_all(twilio_notifier)

    [sent] = twilio.received
    assert sent["To"] == "+447700900111" and sent["From"] == "+447700900000"
    assert sent["StatusCallback"].endswith("/v1/callbacks/twilio")
    with twilio_notifier.engine.connect() as connection:
        rows = {r.provider_reference: (r.status, r.attempts) for r in connection.execute(sa.select(notifications))}
    assert rows[sent["sid"]] == ("sent", 1)
    assert sorted(rows.values()) == [("failed", 1), ("sent", 1)]
