"""SMS and email through GOV.UK Notify's real client against a local server speaking its
API: retries for 500, 429 and time-outs; none for 400; receipts move the status."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from services.notifier.adapters.providers import NotifyProvider
from services.notifier.adapters.tables import attempts, notifications
from services.notifier.bootstrap import bootstrap
from services.notifier.domain.model import UK
from services.notifier.entrypoints.web import create_app
from shared.infra import migrations
from shared.infra.settings import Settings
from tests.integration.services.notifier.test_messages import feed, make_due, send_all
from tests.support import factories
from tests.support.api import ApiClient
from tests.support.clock import ShiftedClock, today_at
from tests.support.providers import Behaviour, FakeNotify

CALLBACK_TOKEN = "notify-callback-token-for-tests"


def midday() -> ShiftedClock:
    """The real clock moved to noon UK time today: outside the SMS quiet hours."""
    return ShiftedClock(today_at(12))


@pytest.fixture
def notify():
    server = FakeNotify().start()
    yield server
    server.stop()


@pytest.fixture
def sms_notifier(settings, intake, notify, monkeypatch):
    monkeypatch.setenv("SMS_PROVIDER", "notify")
    monkeypatch.setenv("NOTIFY_API_KEY", notify.api_key)
    monkeypatch.setenv("NOTIFY_BASE_URL", notify.base_url)
    monkeypatch.setenv("NOTIFY_SMS_TEMPLATE_ID", "f33517ff-2a88-4f6e-b855-c550268ce08a")
    monkeypatch.setenv("NOTIFY_CALLBACK_TOKEN", CALLBACK_TOKEN)
    migrations.upgrade_service("notifier", settings.database_url("notifier"))
    platform = bootstrap(Settings.from_env(env_file=None), clock=midday())
    provider = platform.extensions["notifier"].sender.providers["sms"].provider
    assert isinstance(provider, NotifyProvider)
    provider.client.timeout = 1  # so a slow provider times out quickly in the test
    yield platform
    platform.engine.dispose()


def sms_contribution(intake_api, engagement) -> dict:
    person = factories.participant_payload(preferred_channel="sms")
    return (
        intake_api.as_("case-system")
        .post("/v1/contributions", json=factories.contribution_payload(engagement["id"], participant=person))
        .json
    )


def row(notifier) -> dict:
    with notifier.engine.connect() as connection:
        return dict(connection.execute(sa.select(notifications)).mappings().one())


def attempt_outcomes(notifier) -> list[str]:
    with notifier.engine.connect() as connection:
        return list(connection.execute(sa.select(attempts.c.outcome).order_by(attempts.c.id)).scalars())


def test_an_sms_goes_through_notify_with_a_signed_token_and_our_reference(
    intake, intake_api, engagement, sms_notifier, notify
):
    created = sms_contribution(intake_api, engagement)
    feed(intake, sms_notifier)
    send_all(sms_notifier)

    [sent] = notify.received
    assert notify.refused_tokens == 0
    assert sent["reference"] == row(sms_notifier)["id"]
    assert created["reference"] in sent["personalisation"]["body"]
    assert "/status/" in sent["personalisation"]["body"]
    assert row(sms_notifier)["status"] == "sent"


@pytest.mark.parametrize(
    "trouble",
    [{"status": 500, "times": 2}, {"status": 429, "times": 2}, {"delay": 1.5}],
    ids=["500", "429", "time-out"],
)
def test_temporary_trouble_is_retried_until_it_goes_through(
    intake, intake_api, engagement, sms_notifier, notify, trouble
):
    trouble = Behaviour(**trouble)  # fresh for each run: it counts down
    sms_contribution(intake_api, engagement)
    feed(intake, sms_notifier)
    notify.behaviour = trouble
    for _ in range(3):
        send_all(sms_notifier)
        if row(sms_notifier)["status"] == "sent":
            break
        if trouble.delay and len(attempt_outcomes(sms_notifier)) >= 1:
            notify.behaviour = Behaviour()
        make_due(sms_notifier)

    assert row(sms_notifier)["status"] == "sent"
    assert attempt_outcomes(sms_notifier)[0] == "retry"
    assert attempt_outcomes(sms_notifier)[-1] == "sent"


def test_a_refusal_fails_at_once_without_a_retry_storm(intake, intake_api, engagement, sms_notifier, notify):
    sms_contribution(intake_api, engagement)
    feed(intake, sms_notifier)
    notify.behaviour = Behaviour(status=400, times=100)
    send_all(sms_notifier)
    make_due(sms_notifier)
    send_all(sms_notifier)

    assert row(sms_notifier)["status"] == "failed"
    assert attempt_outcomes(sms_notifier) == ["failed"]
    assert notify.behaviour.times == 99  # asked once, never again


def test_delivery_receipts_are_authenticated_and_move_the_status(
    intake, intake_api, engagement, council, sms_notifier, notify
):
    sms_contribution(intake_api, engagement)
    feed(intake, sms_notifier)
    send_all(sms_notifier)
    client = create_app(sms_notifier).test_client()
    notification_id = row(sms_notifier)["id"]
    receipt = {"id": "provider-id", "reference": notification_id, "status": "delivered", "to": "07700900123"}

    assert (
        client.post("/v1/callbacks/notify", json=receipt, headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    assert client.post("/v1/callbacks/notify", json=receipt).status_code == 401
    authorised = {"Authorization": f"Bearer {CALLBACK_TOKEN}"}
    assert (
        client.post(
            "/v1/callbacks/notify", data="{oops", headers={**authorised, "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert client.post("/v1/callbacks/notify", json={"status": "delivered"}, headers=authorised).status_code == 422
    unknown = client.post(
        "/v1/callbacks/notify", json={**receipt, "reference": "no-such-notification"}, headers=authorised
    )
    assert unknown.status_code == 404
    assert row(sms_notifier)["status"] == "sent"

    assert client.post("/v1/callbacks/notify", json=receipt, headers=authorised).status_code == 200
    assert row(sms_notifier)["status"] == "delivered"
    staff = ApiClient(client, council, role="staff")
    [listed] = staff.get("/v1/notifications?status=delivered").json["items"]
    assert [a["outcome"] for a in listed["attempt_history"]] == ["sent", "delivered"]


def test_an_sms_due_in_quiet_hours_waits_for_the_morning(
    settings, intake, intake_api, engagement, sms_notifier, notify
):
    late_evening = today_at(22, 30)
    sms_contribution(intake_api, engagement)
    feed(intake, sms_notifier)
    sender = sms_notifier.extensions["notifier"].sender
    sender.clock = lambda: late_evening
    send_all(sms_notifier)

    waiting = row(sms_notifier)
    assert notify.received == []
    assert waiting["status"] == "created"
    assert waiting["next_attempt_at"].astimezone(UK).time() == dt.time(8, 0)
    assert waiting["next_attempt_at"] > late_evening


class ReceiptBeforeReturn:
    """The real Notify provider, whose delivery receipt reaches us before `send()` has returned
    (a fast provider can call back before the sender records the send)."""

    def __init__(self, provider, client):
        self.provider, self.client, self.name = provider, client, provider.name

    def send(self, message) -> str:
        reference = self.provider.send(message)
        receipt = {"id": reference, "reference": message.notification_id, "status": "delivered", "to": message.to}
        answer = self.client.post(
            "/v1/callbacks/notify", json=receipt, headers={"Authorization": f"Bearer {CALLBACK_TOKEN}"}
        )
        assert answer.status_code == 200
        return reference


def test_a_receipt_that_arrives_while_the_message_is_being_sent_is_not_lost(
    intake, intake_api, engagement, council, sms_notifier, notify
):
    sms_contribution(intake_api, engagement)
    feed(intake, sms_notifier)
    client = create_app(sms_notifier).test_client()
    limited = sms_notifier.extensions["notifier"].sender.providers["sms"]
    limited.provider = ReceiptBeforeReturn(limited.provider, client)

    send_all(sms_notifier)

    assert row(sms_notifier)["status"] == "delivered"
    [listed] = ApiClient(client, council, role="staff").get("/v1/notifications").json["items"]
    assert [a["outcome"] for a in listed["attempt_history"]] == ["early:delivered", "sent", "delivered"]
