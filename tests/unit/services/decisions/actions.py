"""What a board does, through decisions' use cases: shared by the service-layer and view tests."""

from __future__ import annotations

import sqlalchemy as sa

from services.decisions.entrypoints.schemas import DecisionSchema, ResourceChangeSchema
from services.decisions.service_layer import services
from shared.infra.tables import utcnow
from shared.messaging.events import make
from shared.rules.constants import NOTIFICATIONS_TOPIC, OUTCOME_RATED
from tests.support import factories


def record(decisions, actor, board_id, *, now=None, **overrides):
    """Record a decision from a request body, as the API would; (decision, links, changes)."""
    data = DecisionSchema().load(factories.decision_payload(board_id, **overrides))
    return services.record_decision(decisions.uow(), actor, data, now=now or utcnow(), source=decisions.source)


def link(decisions, actor, decision_id, *contribution_ids, now=None, influence=None):
    items = [factories.link_payload(cid, **({"influence": influence} if influence else {})) for cid in contribution_ids]
    return services.link_contributions(
        decisions.uow(), actor, decision_id, items, now=now or utcnow(), source=decisions.source
    )


def add_change(decisions, actor, decision_id, *, now=None, **overrides):
    data = ResourceChangeSchema().load(factories.resource_change_payload(**overrides))
    return services.add_resource_change(
        decisions.uow(), actor, decision_id, data, now=now or utcnow(), source=decisions.source
    )


def move(decisions, actor, change_id, status, note=None, progress_percent=None, *, now=None):
    return services.move_resource_change(
        decisions.uow(),
        actor,
        change_id,
        status=status,
        note=note,
        progress_percent=progress_percent,
        now=now or utcnow(),
        source=decisions.source,
    )


def amend(decisions, actor, decision_id, reason="Corrected after the minutes were agreed.", *, now=None, **changes):
    return services.amend_decision(
        decisions.uow(), actor, decision_id, changes, reason, now=now or utcnow(), source=decisions.source
    )


def unlink(decisions, actor, decision_id, contribution_id, reason="Linked by mistake.", *, now=None):
    return services.unlink_contribution(
        decisions.uow(), actor, decision_id, contribution_id, reason, now=now or utcnow(), source=decisions.source
    )


def stored(decisions, table: sa.Table) -> list:
    with decisions.engine.connect() as connection:
        return connection.execute(sa.select(table)).all()


def rate(feed, tenant: str, contribution_id: str, rating: str, at=None) -> None:
    """The participant answers "Did this make a difference?" by SMS: the notifier's event."""
    at = at or utcnow()
    feed.send(
        NOTIFICATIONS_TOPIC,
        make(
            type=OUTCOME_RATED,
            source="urn:outcome-chain:notifier",
            tenant=tenant,
            subject=contribution_id,
            time=at,
            data={"contribution_id": contribution_id, "rating": rating, "rated_at": at.isoformat()},
        ),
    )
