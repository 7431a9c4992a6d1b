"""The three services on one set of databases, for tests that hand events along by hand
(no broker): each service's real outbox rows go to another's real processor."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import sqlalchemy as sa

from services.decisions.bootstrap import bootstrap as bootstrap_decisions
from services.decisions.entrypoints.web import create_app as create_decisions_app
from services.intake.bootstrap import bootstrap as bootstrap_intake
from services.intake.entrypoints.web import create_app as create_intake_app
from services.notifier.adapters.providers import OutgoingMessage
from services.notifier.bootstrap import bootstrap as bootstrap_notifier
from shared.infra import migrations
from shared.infra.platform import Platform
from shared.infra.settings import Settings
from shared.infra.tables import outbox
from shared.messaging.consumer import Message
from tests.support import factories
from tests.support.api import ApiClient, Tenant, create_tenant


@dataclass
class RecordingProvider:
    """A channel that keeps what it was given to send."""

    name: str = "recording"
    sent: list[OutgoingMessage] = field(default_factory=list)

    def send(self, message: OutgoingMessage) -> str:
        self.sent.append(message)
        return f"ref-{len(self.sent)}"


@dataclass
class Chain:
    intake: Platform
    decisions: Platform
    notifier: Platform
    provider: RecordingProvider

    def intake_api(self, tenant: Tenant, role: str = "case-system") -> ApiClient:
        return ApiClient(create_intake_app(self.intake).test_client(), tenant, role=role)

    def decisions_api(self, tenant: Tenant, role: str = "board") -> ApiClient:
        return ApiClient(create_decisions_app(self.decisions).test_client(), tenant, role=role)

    def send_all(self) -> None:
        sender = self.notifier.extensions["notifier"].sender
        while sender.send_due():
            pass

    def dispose(self) -> None:
        for platform in (self.intake, self.decisions, self.notifier):
            platform.engine.dispose()
            platform.keys.engine.dispose()


def migrate(settings: Settings) -> None:
    migrations.upgrade_auth(settings.auth_database_url)
    for service in ("intake", "decisions", "notifier"):
        migrations.upgrade_service(service, settings.database_url(service))


def chain_with_keys(settings: Settings, *keys: str) -> Chain:
    """The services as deployed with DATA_ENCRYPTION_KEYS=keys; messages go to `chain.provider`."""
    keyed = dataclasses.replace(settings, data_encryption_keys=keys)
    recording = RecordingProvider()
    return Chain(
        intake=bootstrap_intake(keyed),
        decisions=bootstrap_decisions(keyed),
        notifier=bootstrap_notifier(keyed, providers={"email": recording, "sms": recording}),
        provider=recording,
    )


def outbox_messages(platform: Platform, after_id: int = 0) -> list[Message]:
    with platform.engine.connect() as connection:
        rows = connection.execute(sa.select(outbox).where(outbox.c.id > after_id).order_by(outbox.c.id)).all()
    return [Message(row.topic, 0, row.id, row.message_key.encode(), bytes(row.payload)) for row in rows]


def feed(source: Platform, target: Platform, after_id: int = 0) -> int:
    """Hand `source`'s outbox events after `after_id` to `target`; return the last id handed."""
    messages = outbox_messages(source, after_id)
    target.processor.process(messages)
    return messages[-1].offset if messages else after_id


@dataclass
class Seeded:
    """What `seed` put through the services for one participant."""

    participant: dict
    contribution: dict
    text: str
    influence: str
    note: str  # on the change's progress, in an event still in decisions' outbox
    told: int  # the last decisions outbox id the notifier was given


def seed(chain: Chain, tenant: Tenant) -> Seeded:
    """A contribution over HTTP, told to decisions and the notifier; a board links it to a
    decision with a change, told to the notifier too; then the change is done, with a note,
    and that event is left in decisions' outbox. Nothing is sent yet."""
    engagement = chain.intake_api(tenant, "staff").post("/v1/engagements", json=factories.engagement_payload()).json
    body = factories.contribution_payload(engagement["id"])
    created = chain.intake_api(tenant).post("/v1/contributions", json=body)
    assert created.status_code == 201, created.json
    feed(chain.intake, chain.decisions)
    feed(chain.intake, chain.notifier)
    decisions_api = chain.decisions_api(tenant)
    board = decisions_api.as_("staff").post("/v1/boards", json=factories.board_payload()).json
    link = factories.link_payload(created.json["id"])
    decided = decisions_api.post(
        "/v1/decisions",
        json=factories.decision_payload(
            board["id"],
            engagement_id=engagement["id"],
            links=[link],
            resource_changes=[factories.resource_change_payload()],
        ),
    )
    assert decided.status_code == 201, decided.json
    told = feed(chain.decisions, chain.notifier)
    note = "Two support workers started on 5 April."
    change = decided.json["resource_changes"][0]["id"]
    done = decisions_api.patch(f"/v1/resource-changes/{change}", json={"status": "implemented", "note": note})
    assert done.status_code == 200, done.json
    return Seeded(
        participant=body["participant"] | {"id": created.json["participant_id"]},
        contribution=created.json,
        text=body["text"],
        influence=link["influence"],
        note=note,
        told=told,
    )


def deployed_on(settings: Settings, key: str) -> tuple[Chain, Tenant, Seeded]:
    """A migrated chain sealing with `key` only, one council, and `seed` put through it:
    a deployment as it stood before a new key. The caller disposes of the chain."""
    migrate(settings)
    chain = chain_with_keys(settings, key)
    council = create_tenant(chain.intake.keys, "wiltshire")
    return chain, council, seed(chain, council)
