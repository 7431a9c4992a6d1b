"""Names, emails and phone numbers go to the person they belong to, and nowhere else.

The whole chain runs on real parts (a Tansu broker, the three services' consumers and
relays, an SMTP server, a Twilio-speaking server), with distinctive people sent in over
HTTP and over Kafka, and the failures most likely to leak: an invalid submission (dead
letter), a 422 on an invalid email and phone, a bounced email, a refused number. Then
every place the data must never reach is searched: every record on every topic (the
case systems' own `intake.submissions` aside), /metrics, every error body, dead letters
and failure reasons, and every log record at DEBUG, raw and as our JSON handler writes it.
The backend plays no part in what is logged or published, so this runs on SQLite only.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
import sqlalchemy as sa
from flask import Flask

from services.decisions.adapters.tables import contributions_view, messages_view
from services.decisions.bootstrap import INBOUND_TOPICS as DECISIONS_TOPICS
from services.decisions.bootstrap import bootstrap as bootstrap_decisions
from services.decisions.entrypoints.web import create_app as create_decisions_app
from services.intake.bootstrap import INBOUND_TOPICS as INTAKE_TOPICS
from services.intake.bootstrap import bootstrap as bootstrap_intake
from services.intake.entrypoints.web import create_app as create_intake_app
from services.notifier.adapters.tables import attempts, notifications
from services.notifier.bootstrap import INBOUND_TOPICS as NOTIFIER_TOPICS
from services.notifier.bootstrap import bootstrap as bootstrap_notifier
from services.notifier.entrypoints.web import create_app as create_notifier_app
from shared.infra.audit import audit_log
from shared.infra.logging import configure
from shared.infra.settings import Settings
from shared.infra.tables import dead_letters
from shared.rules.constants import ALL_TOPICS, SUBMISSIONS_TOPIC
from shared.rules.contact_details import phone_number
from tests.support import factories
from tests.support.api import ApiClient, create_tenant, scrape
from tests.support.chain import migrate
from tests.support.running import running

FINAL = ("sent", "failed", "withheld")


@pytest.fixture
def database_backend() -> str:
    return "sqlite"


@pytest.fixture
def logs(caplog, capsys):
    """Every log record at DEBUG, raw (caplog) and as our JSON handler writes it to stderr.

    Logging is set up as every service process sets it up (shared.infra.logging.configure), which
    keeps the Kafka client's wire dumps at WARNING; everything else logs at DEBUG. Call the
    returned function first thing in the test, where stderr is the test's own."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def start():
        configure("test", "DEBUG")
        root.addHandler(caplog.handler)
        return caplog, capsys

    yield start
    root.handlers[:] = handlers
    root.setLevel(level)
    for capped in ("kafka", "mail.log"):
        logging.getLogger(capped).setLevel(logging.NOTSET)


def forms_of(person: dict) -> set[str]:
    """How each detail may turn up (compared ignoring case): as given, URL-encoded, without
    spaces, in +44 form with and without spaces, and as the bare national number."""
    found = {person["name"], person["email"], person["email"].replace("@", "%40")}
    digits = person["phone"].replace(" ", "")
    national = digits[1:] if digits.startswith("0") else digits.removeprefix("+44")
    return found | {person["phone"], digits, "+44" + national, f"+44 {national[:4]} {national[4:]}", national}


def keep_error_bodies(app: Flask, bodies: list[str]) -> Flask:
    @app.after_request
    def keep(response):
        if response.status_code >= 400:
            bodies.append(response.get_data(as_text=True))
        return response

    return app


def wait_until(predicate, timeout: float = 60.0, step=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        if step:
            step()
        time.sleep(0.1)


def rows(platform, query) -> list:
    with platform.engine.connect() as connection:
        return list(connection.execute(query))


def test_no_name_email_or_number_reaches_a_topic_log_metric_error_or_reason(
    settings, broker, smtp, twilio, logs, monkeypatch
):
    caplog, stderr = logs()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap)
    monkeypatch.setenv("SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("SMS_PROVIDER", "twilio")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", twilio.auth_token)
    monkeypatch.setenv("TWILIO_FROM", "+447700900000")
    monkeypatch.setenv("TWILIO_BASE_URL", twilio.base_url)
    monkeypatch.setenv("NOTIFIER_SMS_QUIET_HOURS", "off")
    settings = Settings.from_env(env_file=None)
    migrate(settings)
    intake, decisions, notifier = (
        bootstrap_intake(settings),
        bootstrap_decisions(settings),
        bootstrap_notifier(settings),
    )
    council = create_tenant(intake.keys, "wiltshire")
    error_bodies: list[str] = []
    intake_app = keep_error_bodies(create_intake_app(intake), error_bodies)
    decisions_app = keep_error_bodies(create_decisions_app(decisions), error_bodies)
    notifier_app = keep_error_bodies(create_notifier_app(notifier), error_bodies)
    case_system = ApiClient(intake_app.test_client(), council, role="case-system")
    staff = {
        "intake": case_system.as_("staff"),
        "decisions": ApiClient(decisions_app.test_client(), council, role="staff"),
        "notifier": ApiClient(notifier_app.test_client(), council, role="staff"),
    }

    by_email, registered_first, by_kafka, invalid_on_kafka, bouncing = (
        factories.distinctive_participant() for _ in range(5)
    )
    by_sms, refused_number = (factories.distinctive_participant(preferred_channel="sms") for _ in range(2))
    mistyped_over_http, mistyped_on_kafka = (factories.distinctive_participant() for _ in range(2))
    for person in (mistyped_over_http, mistyped_on_kafka):
        person |= {"email": person["email"].replace("@", " at "), "phone": person["phone"].replace("0", "O") + "x"}
    smtp.refused.add(bouncing["email"])
    twilio.invalid_numbers.add(phone_number(refused_number["phone"]))  # numbers go out in E.164
    people = [by_email, registered_first, by_kafka, invalid_on_kafka, bouncing, by_sms, refused_number]
    people += [mistyped_over_http, mistyped_on_kafka]

    engagement = staff["intake"].post("/v1/engagements", json=factories.engagement_payload()).json
    for person in (by_email, bouncing, by_sms, refused_number):
        created = case_system.post(
            "/v1/contributions", json=factories.contribution_payload(engagement["id"], participant=person)
        )
        assert created.status_code == 201, created.json
    known = case_system.post("/v1/participants", json=registered_first)
    assert known.status_code == 201, known.json
    by_reference = factories.contribution_payload(engagement["id"], participant_id=known.json["id"])
    del by_reference["participant"]
    assert case_system.post("/v1/contributions", json=by_reference).status_code == 201
    refused = case_system.post(
        "/v1/contributions", json=factories.contribution_payload(engagement["id"], participant=mistyped_over_http)
    )
    assert refused.status_code == 422
    assert {"participant.email", "participant.phone"} <= set(refused.json["errors"])
    truncated = json.dumps(factories.contribution_payload(engagement["id"], participant=by_email))[:-20]
    assert case_system.post("/v1/contributions", data=truncated, content_type="application/json").status_code == 400
    assert case_system.get(f"/v1/participants/{by_email['email']}").status_code == 404
    broker.produce(
        SUBMISSIONS_TOPIC,
        [
            factories.submission_event(
                council.slug, factories.contribution_payload(engagement["id"], participant=by_kafka)
            ),
            factories.submission_event(
                council.slug,
                factories.contribution_payload(engagement["id"], participant=invalid_on_kafka, on_behalf_of=0),
            ),
            factories.submission_event(
                council.slug, factories.contribution_payload(engagement["id"], participant=mistyped_on_kafka)
            ),
        ],
    )

    with (
        running(intake, broker.bootstrap, INTAKE_TOPICS),
        running(decisions, broker.bootstrap, DECISIONS_TOPICS),
        running(notifier, broker.bootstrap, NOTIFIER_TOPICS),
    ):
        wait_until(lambda: len(rows(decisions, sa.select(contributions_view.c.id))) == 6)
        contributions = [row.id for row in rows(decisions, sa.select(contributions_view.c.id))]
        board = staff["decisions"].post("/v1/boards", json=factories.board_payload()).json
        decided = (
            staff["decisions"]
            .as_("board")
            .post(
                "/v1/decisions",
                json=factories.decision_payload(
                    board["id"],
                    engagement_id=engagement["id"],
                    links=[factories.link_payload(c) for c in contributions],
                ),
            )
        )
        assert decided.status_code == 201, decided.json
        sender = notifier.extensions["notifier"].sender

        def all_told() -> bool:
            statuses = [row.status for row in rows(notifier, sa.select(notifications.c.status))]
            return len(statuses) == 12 and all(status in FINAL for status in statuses)

        wait_until(all_told, step=sender.send_due)
        wait_until(
            lambda: len(rows(decisions, sa.select(messages_view).where(messages_view.c.status.in_(FINAL)))) == 12
        )
        wait_until(lambda: staff["intake"].get("/v1/dead-letters").json["total"] == 2)
        for dead_letter in staff["intake"].get("/v1/dead-letters").json["items"]:
            assert staff["intake"].post(f"/v1/dead-letters/{dead_letter['id']}/replay").status_code == 422

    # The chain ran: people were told, and two could not be reached.
    mailed = " ".join(str(message["To"]) for message in smtp.messages())
    assert by_email["email"] in mailed and by_kafka["email"] in mailed and bouncing["email"] not in mailed
    assert [sent["To"] for sent in twilio.received] == [phone_number(by_sms["phone"])] * 2
    failed = rows(notifier, sa.select(notifications.c.reason).where(notifications.c.status == "failed"))
    assert len(failed) == 4

    places: dict[str, str] = {}
    for topic in ALL_TOPICS:
        if topic != SUBMISSIONS_TOPIC:  # what the case systems themselves wrote
            records = broker.records(topic)
            places[f"topic {topic}"] = "\n".join(
                repr((record.key, record.value, record.headers)) + record.value.decode(errors="replace")
                for record in records
            )
    for name, app in (("intake", intake_app), ("decisions", decisions_app), ("notifier", notifier_app)):
        places[f"{name} /metrics"] = scrape(app.test_client()).get_data(as_text=True)
        places[f"{name} GET /v1/dead-letters"] = json.dumps(staff[name].get("/v1/dead-letters").json)
    places["error bodies"] = "\n".join(error_bodies)
    for name, platform in (("intake", intake), ("decisions", decisions), ("notifier", notifier)):
        places[f"{name} dead-letter reasons"] = "\n".join(r.reason for r in rows(platform, sa.select(dead_letters)))
    for name, platform in (("intake", intake), ("decisions", decisions), ("notifier", notifier)):
        places[f"{name} audit log"] = "\n".join(repr(r) for r in rows(platform, sa.select(audit_log)))
    places["notification reasons"] = "\n".join(str(r.reason) for r in rows(notifier, sa.select(notifications)))
    places["attempt details"] = "\n".join(str(r.detail) for r in rows(notifier, sa.select(attempts)))
    places["decisions' messages"] = "\n".join(str(r.reason) for r in rows(decisions, sa.select(messages_view)))
    places["notifications API"] = "\n".join(
        json.dumps(staff["notifier"].get(f"/v1/notifications?contribution_id={c}").json) for c in contributions
    )
    places["log records"] = "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    places["JSON logs"] = stderr.readouterr().err
    assert places["JSON logs"] and places["topic outcomes.participants"] and places["topic intake.submissions.dlq"]

    leaks = [
        f"{form!r} in {place}"
        for person in people
        for form in forms_of(person)
        for place, text in places.items()
        if form.lower() in text.lower()
    ]
    assert leaks == [], "\n".join(leaks)

    for platform in (intake, decisions, notifier):
        platform.engine.dispose()
