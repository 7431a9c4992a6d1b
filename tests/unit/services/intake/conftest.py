"""Intake's read model of outcomes, fed by the real services (unit tier: no broker).

`loop` runs intake, decisions and the notifier on SQLite files; what one announces is
handed to the others' real processors by `Relay`, as the consumers would. Decisions'
events come from its real use cases; the notifier's from its real sender (messages go to
a recording provider) or, for receipts no local provider gives, from its real
`announce_status`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from services.decisions.service_layer import services as decision_services
from services.intake.adapters.tables import contribution_outcomes, contributions
from services.notifier.service_layer.sending import announce_status
from shared.infra.tables import dead_letters
from shared.messaging import events
from shared.rules.constants import MESSAGE_DECISION_LINKED, NOTIFICATIONS_TOPIC
from tests.support import factories
from tests.support.api import ApiClient, Tenant, create_tenant
from tests.support.chain import Chain, chain_with_keys, migrate
from tests.support.relay import Relay

NOTIFIER_SOURCE = "urn:outcome-chain:notifier"


class _Announcements:
    """Stands in for the notifier's unit of work: keeps what `announce_status` announces."""

    def __init__(self):
        self.envelopes: list[dict] = []

    def announce(self, topic: str, **fields) -> None:
        self.envelopes.append(events.make(**fields))


@dataclass
class Loop:
    chain: Chain
    relay: Relay
    council: Tenant
    other: Tenant

    def intake_api(self, role: str = "staff", tenant: Tenant | None = None) -> ApiClient:
        return self.chain.intake_api(tenant or self.council, role)

    def engagement(self, tenant: Tenant | None = None, **overrides) -> dict:
        response = self.intake_api(tenant=tenant).post(
            "/v1/engagements", json=factories.engagement_payload(**overrides)
        )
        assert response.status_code == 201, response.json
        return response.json

    def contribute(self, engagement_id: str, *, equality: dict | None = None, tenant=None, **overrides) -> dict:
        participant = factories.participant_payload(**({"equality": equality} if equality else {}))
        body = factories.contribution_payload(engagement_id, participant=participant, **overrides)
        response = self.intake_api("case-system", tenant).post("/v1/contributions", json=body)
        assert response.status_code == 201, response.json
        return response.json

    def board(self, tenant: Tenant | None = None) -> str:
        api = self.chain.decisions_api(tenant or self.council, "staff")
        return api.post("/v1/boards", json=factories.board_payload()).json["id"]

    def decide(self, contribution_ids: list[str], *, tenant=None, **overrides) -> dict:
        """A board's decision linked to these contributions, announced and relayed."""
        self.relay.deliver()  # decisions learns of the contributions first
        api = self.chain.decisions_api(tenant or self.council)
        payload = factories.decision_payload(
            self.board(tenant), links=[factories.link_payload(cid) for cid in contribution_ids], **overrides
        )
        response = api.post("/v1/decisions", json=payload)
        assert response.status_code == 201, response.json
        self.relay.deliver()
        return response.json

    def decisions_api(self, tenant: Tenant | None = None) -> ApiClient:
        return self.chain.decisions_api(tenant or self.council)

    def send_messages(self) -> None:
        """The notifier sends what is due (to the recording provider); its news is relayed."""
        self.relay.deliver()
        self.chain.send_all()
        self.relay.deliver()

    def receipt(self, contribution: dict, status: str, at: dt.datetime, **notification) -> dict:
        """notification.<status> as the notifier announces a provider's receipt."""
        recorder = _Announcements()
        announce_status(
            recorder,
            {
                "id": notification.pop("id"),
                "tenant": notification.pop("tenant", self.council.slug),
                "contribution_id": contribution["id"],
                "participant_id": contribution["participant_id"],
                "kind": notification.pop("kind", MESSAGE_DECISION_LINKED),
                "channel": "email",
            },
            status,
            None if status in ("sent", "delivered") else "the provider reported a failure",
            at,
            NOTIFIER_SOURCE,
        )
        return recorder.envelopes[0]

    def send_event(self, topic: str, envelope: dict) -> None:
        self.chain.intake.processor.process([self.relay.message(topic, events.dumps(envelope))])

    def send_receipt(self, *args, **kwargs) -> dict:
        envelope = self.receipt(*args, **kwargs)
        self.send_event(NOTIFICATIONS_TOPIC, envelope)
        return envelope

    def outcome(self, contribution_id: str):
        with self.chain.intake.engine.connect() as connection:
            return connection.execute(
                sa.select(contribution_outcomes).where(contribution_outcomes.c.contribution_id == contribution_id)
            ).first()

    def status(self, contribution_id: str) -> str:
        with self.chain.intake.engine.connect() as connection:
            return connection.execute(
                sa.select(contributions.c.status).where(contributions.c.id == contribution_id)
            ).scalar_one()

    def dead_letters(self) -> list:
        with self.chain.intake.engine.connect() as connection:
            return connection.execute(sa.select(dead_letters).order_by(dead_letters.c.received_at)).all()

    def rate(self, contribution: dict, rating: str, at: dt.datetime) -> None:
        """The participant answers on their status page (decisions' real use case)."""
        decision_services.rate_contribution(
            self.chain.decisions.uow(),
            self.council.slug,
            contribution["participant_id"],
            contribution["id"],
            rating,
            None,
            now=at,
            source=self.chain.decisions.source,
        )
        self.relay.deliver()


@pytest.fixture
def loop(settings) -> Loop:
    migrate(settings)
    chain = chain_with_keys(settings, *settings.data_encryption_keys)
    council = create_tenant(chain.intake.keys, "wiltshire")
    other = create_tenant(chain.intake.keys, "dorset")
    relay = Relay({"intake": chain.intake, "decisions": chain.decisions, "notifier": chain.notifier})
    yield Loop(chain, relay, council, other)
    chain.dispose()
