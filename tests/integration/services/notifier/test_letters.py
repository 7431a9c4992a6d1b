"""Letters by post through GOV.UK Notify's real client against a local server speaking its
letter API: a decision reaches a Welsh easy-read reader on paper, Notify's letter statuses
move the outcome chain, and over the month's budget a letter waits for the next month."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from services.notifier.adapters.letters import NotifyLetters
from services.notifier.adapters.tables import notifications
from services.notifier.bootstrap import bootstrap
from services.notifier.domain.letters import OVER_BUDGET, next_month_start
from services.notifier.entrypoints.web import create_app
from shared.infra import migrations
from shared.infra.settings import Settings
from shared.infra.tables import utcnow
from tests.integration.services.notifier.test_messages import feed, send_all
from tests.support import factories
from tests.support.api import ApiClient
from tests.support.clock import ShiftedClock
from tests.support.providers import FakeNotify

CALLBACK_TOKEN = "notify-callback-token-for-letter-tests"
LETTER_TEMPLATE = str(uuid.uuid4())


@pytest.fixture
def notify():
    server = FakeNotify().start()
    yield server
    server.stop()


def letter_notifier(settings, notify, monkeypatch, *, budget: str = "500", clock=utcnow):
    monkeypatch.setenv("LETTER_PROVIDER", "notify")
    monkeypatch.setenv("NOTIFY_API_KEY", notify.api_key)
    monkeypatch.setenv("NOTIFY_BASE_URL", notify.base_url)
    monkeypatch.setenv("NOTIFY_LETTER_TEMPLATE_ID", LETTER_TEMPLATE)
    monkeypatch.setenv("NOTIFY_CALLBACK_TOKEN", CALLBACK_TOKEN)
    monkeypatch.setenv("LETTERS_PER_MONTH", budget)
    migrations.upgrade_service("notifier", settings.database_url("notifier"))
    return bootstrap(Settings.from_env(env_file=None), clock=clock)


@pytest.fixture
def notifier(settings, intake, notify, monkeypatch):
    platform = letter_notifier(settings, notify, monkeypatch)
    yield platform
    platform.engine.dispose()


def by_post(intake_api, engagement, **preferences) -> dict:
    person = factories.participant_payload(
        name="Owain Jones", preferred_channel="post", **factories.postal_address(), **preferences
    )
    return (
        intake_api.as_("case-system")
        .post("/v1/contributions", json=factories.contribution_payload(engagement["id"], participant=person))
        .json
    )


def receipt(notifier, reference: str, status: str) -> int:
    client = create_app(notifier).test_client()
    response = client.post(
        "/v1/callbacks/notify",
        json={"id": str(uuid.uuid4()), "reference": reference, "status": status, "notification_type": "letter"},
        headers={"Authorization": f"Bearer {CALLBACK_TOKEN}"},
    )
    return response.status_code


def dashboard_letters(intake_api) -> dict:
    return intake_api.as_("staff").get("/v1/reports/dashboard").json["letters"]


def dashboard_page(intake_api) -> str:
    """The staff dashboard as a member of staff signed in with their key sees it."""
    client = intake_api.client
    signed_in = client.post("/sign-in", data={"key": intake_api.tenant.keys["staff"], "next": "/dashboard"})
    assert signed_in.status_code == 303
    return client.get("/dashboard").get_data(as_text=True)


def rows(notifier) -> list[dict]:
    with notifier.engine.connect() as connection:
        found = connection.execute(sa.select(notifications).order_by(notifications.c.created_at)).mappings()
        return [dict(row) for row in found]


def test_a_board_decision_reaches_a_welsh_easy_read_reader_by_letter_with_the_decision_and_the_reason(
    intake, intake_api, engagement, decisions, decisions_api, notifier, notify
):
    created = by_post(intake_api, engagement, language="cy", format="easy_read")
    feed(intake, decisions)
    feed(intake, notifier)
    board = decisions_api.as_("staff").post("/v1/boards", json=factories.board_payload()).json
    decisions_api.post(
        "/v1/decisions",
        json=factories.decision_payload(
            board["id"],
            engagement_id=engagement["id"],
            outcome="partly_adopted",
            rationale="Mae'r gyllideb yn talu am ddau ddydd Sadwrn y mis.",
            links=[{"contribution_id": created["id"], "influence": "Dywedoch fod penwythnosau'n unig."}],
        ),
    )
    feed(decisions, notifier)
    send_all(notifier)

    acknowledgement, update = notify.letters()
    assert update["template_id"] == LETTER_TEMPLATE
    address = update["personalisation"]
    assert [address[f"address_line_{n}"] for n in (1, 3, 4)] == ["Owain Jones", "Caerdydd", "CF10 1BH"]
    assert address["subject"] == "Beth ddigwyddodd i'r hyn a ddywedoch"
    assert "Yr ateb yw: wedi'i gytuno'n rhannol." in address["body"]
    assert "Dyma pam: Mae'r gyllideb yn talu am ddau ddydd Sadwrn y mis." in address["body"]
    assert created["reference"] in acknowledgement["personalisation"]["body"]
    assert [row["status"] for row in rows(notifier)] == ["sent", "sent"]

    # Notify prints and posts it; the chain hears the letter arrived.
    assert receipt(notifier, update["reference"], "accepted") == 200
    assert receipt(notifier, update["reference"], "received") == 200
    notify.set_status(update["id"], "received")
    provider = notifier.extensions["notifier"].sender.providers["post"].provider
    assert isinstance(provider, NotifyLetters)
    assert provider.status(update["id"]) == "received"
    feed(notifier, decisions)
    chain = decisions_api.get(f"/v1/contributions/{created['id']}/outcome-chain").json
    assert {(m["kind"], m["channel"], m["status"]) for m in chain["messages"]} == {
        ("acknowledgement", "post", "sent"),
        ("decision_linked", "post", "delivered"),
    }


def test_a_letter_notify_cannot_print_fails_with_notifys_word_for_it(intake, intake_api, engagement, notifier, notify):
    by_post(intake_api, engagement)
    feed(intake, notifier)
    send_all(notifier)

    [letter] = notify.letters()
    receipt(notifier, letter["reference"], "validation-failed")

    [row] = rows(notifier)
    assert (row["status"], row["reason"]) == ("failed", "the provider reported validation-failed")


def test_over_the_months_budget_a_letter_waits_and_goes_when_the_next_month_begins(
    settings, intake, intake_api, engagement, notify, monkeypatch
):
    notifier = letter_notifier(settings, notify, monkeypatch, budget="1")
    for _ in range(2):
        by_post(intake_api, engagement)
    feed(intake, notifier)
    send_all(notifier)

    assert len(notify.letters()) == 1
    waiting = [row for row in rows(notifier) if row["status"] == "created"]
    assert [(row["channel"], row["reason"]) for row in waiting] == [("post", OVER_BUDGET)]
    assert waiting[0]["next_attempt_at"] == next_month_start(utcnow())
    staff = ApiClient(create_app(notifier).test_client(), intake_api.tenant, role="staff")
    assert staff.get("/v1/letters/budget").json == {"letters_per_month": 1, "sent_this_month": 1, "waiting": 1}
    send_all(notifier)  # tried again, it waits on: the chain hears it is held once
    seen = feed(notifier, intake)
    assert dashboard_letters(intake_api) == {"held": 1}
    assert "letter budget is spent: 1." in dashboard_page(intake_api)
    notifier.engine.dispose()

    next_month = ShiftedClock(next_month_start(utcnow()) + dt.timedelta(days=1, hours=12))
    later = letter_notifier(settings, notify, monkeypatch, budget="1", clock=next_month)
    send_all(later)
    assert len(notify.letters()) == 2
    assert [row["status"] for row in rows(later)] == ["sent", "sent"]
    feed(later, intake, after_id=seen)
    assert dashboard_letters(intake_api) == {"held": 0}
    later.engine.dispose()
