"""Decisions' unit-tier fixtures: intake's real events, fed through decisions' real processor.

Contributions and engagements are created with intake's API, so they land in intake's
outbox exactly as the relay would publish them; `feed.deliver()` hands the new rows to
decisions' EventProcessor as Kafka records (no broker), participant events included
(decisions acts only on participant.erased).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3

import pytest
import sqlalchemy as sa

from services.decisions.bootstrap import bootstrap as bootstrap_decisions
from services.decisions.entrypoints.web import create_app as create_decisions_app
from services.decisions.service_layer import services
from shared.infra import migrations
from shared.infra.tables import dead_letters, outbox, utcnow
from shared.messaging import events
from shared.messaging.consumer import Message
from shared.rules.constants import (
    CONTRIBUTIONS_TOPIC,
    ENGAGEMENTS_TOPIC,
    MESSAGE_DECISION_LINKED,
    NOTIFICATIONS_TOPIC,
    PARTICIPANTS_TOPIC,
)
from tests.support import factories
from tests.support.api import ApiClient

CONSUMED_FROM_INTAKE = (ENGAGEMENTS_TOPIC, CONTRIBUTIONS_TOPIC, PARTICIPANTS_TOPIC)
NOTIFIER_SOURCE = "urn:outcome-chain:notifier"


class IntakeEvents:
    """Intake's outbox rows, delivered to decisions' processor as the consumer would."""

    def __init__(self, intake, decisions):
        self.intake = intake
        self.decisions = decisions
        self.delivered_up_to = 0  # the last outbox id handed over
        self._offsets = iter(range(1_000_000, 2_000_000))

    def messages(self, after: int = 0) -> list[Message]:
        """Every consumed intake event after this outbox id, as Kafka records (offset = row id)."""
        with self.intake.engine.connect() as connection:
            rows = connection.execute(
                sa.select(outbox)
                .where(outbox.c.id > after, outbox.c.topic.in_(CONSUMED_FROM_INTAKE))
                .order_by(outbox.c.id)
            ).all()
        return [Message(row.topic, 0, row.id, row.message_key.encode(), bytes(row.payload)) for row in rows]

    def deliver(self) -> list[Message]:
        """Hand over what intake announced since the last delivery; return what was handed over."""
        batch = self.messages(self.delivered_up_to)
        if batch:
            self.decisions.processor.process(batch)
            self.delivered_up_to = batch[-1].offset
        return batch

    def send(self, topic: str, envelope: dict) -> Message:
        """Deliver one event built by the test (another service's, or a tampered copy)."""
        message = Message(
            topic, 0, next(self._offsets), (envelope.get("subject") or "").encode(), events.dumps(envelope)
        )
        self.decisions.processor.process([message])
        return message

    def notification(self, tenant: str, contribution_id: str | None, status: str, at: dt.datetime, **data) -> dict:
        """notification.<status> as the notifier announces it on outcomes.notifications."""
        body = {
            "notification_id": data.pop("notification_id"),
            "contribution_id": contribution_id,
            "kind": data.pop("kind", MESSAGE_DECISION_LINKED),
            "channel": data.pop("channel", "email"),
            "status": status,
            "status_at": at.isoformat(),
            **data,
        }
        envelope = events.make(
            type=f"notification.{status}",
            source=NOTIFIER_SOURCE,
            tenant=tenant,
            subject=body["notification_id"],
            data=body,
            time=at,
        )
        self.send(NOTIFICATIONS_TOPIC, envelope)
        return envelope


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory) -> dict[str, str]:
    """Auth, intake and decisions databases migrated once per session, to copy for each test.

    The fixtures of the top-level conftest migrate again; on a database already at head
    that is a quick no-op, which keeps this suite fast.
    """
    directory = tmp_path_factory.mktemp("decisions-templates")
    paths = {name: directory / f"{name}.db" for name in ("auth", "intake", "decisions", "notifier")}
    migrations.upgrade_auth(f"sqlite:///{paths['auth']}")
    for service in ("intake", "decisions"):
        migrations.upgrade_service(service, f"sqlite:///{paths[service]}")
    for name in ("auth", "intake", "decisions"):
        with sqlite3.connect(paths[name]) as connection:  # fold the WAL into the file before copying
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
    return {name: str(path) for name, path in paths.items()}


@pytest.fixture
def database_urls(tmp_path, migrated_templates) -> dict[str, str]:
    """SQLite only, as for the whole unit tier, starting from the migrated templates."""
    urls = {}
    for name, template in migrated_templates.items():
        target = tmp_path / f"{name}.db"
        if name != "notifier":
            shutil.copyfile(template, target)
        urls[name] = f"sqlite:///{target}"
    return urls


@pytest.fixture
def feed(intake, decisions) -> IntakeEvents:
    return IntakeEvents(intake, decisions)


@pytest.fixture
def new_contribution(intake_api, engagement, feed):
    """Submit a contribution through intake's API and (by default) deliver its events to decisions."""

    def create(engagement_id: str | None = None, *, api=None, deliver: bool = True, **overrides) -> dict:
        client = api or intake_api
        payload = factories.contribution_payload(engagement_id or engagement["id"], **overrides)
        response = client.post("/v1/contributions", json=payload)
        assert response.status_code == 201, response.get_data(as_text=True)
        if deliver:
            feed.deliver()
        return response.get_json()

    return create


@pytest.fixture
def known_engagement(engagement, feed) -> dict:
    """The intake engagement, already in decisions' read model."""
    feed.deliver()
    return engagement


@pytest.fixture
def board_actor(council) -> services.Actor:
    return services.Actor(tenant=council.slug, key_id=council.key_ids["board"])


@pytest.fixture
def board_id(decisions, council) -> str:
    board = services.create_board(decisions.uow(), council.slug, factories.board_payload(), now=utcnow())
    return board.id


@pytest.fixture
def announced(decisions):
    """decisions' outbox: [(message key, CloudEvent)] in order, optionally of one type."""

    def read(type_: str | None = None) -> list[tuple[str, dict]]:
        with decisions.engine.connect() as connection:
            rows = connection.execute(sa.select(outbox.c.message_key, outbox.c.payload).order_by(outbox.c.id)).all()
        found = [(key, json.loads(payload)) for key, payload in rows]
        return [(key, event) for key, event in found if type_ is None or event["type"] == type_]

    return read


@pytest.fixture
def dead_lettered(decisions):
    """decisions' dead letters, oldest first."""

    def read() -> list:
        with decisions.engine.connect() as connection:
            return connection.execute(sa.select(dead_letters).order_by(dead_letters.c.received_at)).all()

    return read


@pytest.fixture
def decisions_at(settings, decisions):
    """A second decisions platform on the same database whose clock reads a given moment."""
    built = []

    def build(moment: dt.datetime):
        platform = bootstrap_decisions(settings, clock=lambda: moment)
        built.append(platform)
        return platform

    yield build
    for platform in built:
        platform.engine.dispose()
        platform.keys.engine.dispose()


@pytest.fixture
def decisions_api_at(decisions_at, council):
    """decisions' API, as the board, on a platform whose clock reads a given moment."""

    def build(moment: dt.datetime) -> ApiClient:
        return ApiClient(create_decisions_app(decisions_at(moment)).test_client(), council, role="board")

    return build
