"""What decisions does with other services' events: it keeps its own read models.

Each handler is `handler(event, uow, ...)`; shared.infra.platform.consume wires HANDLERS once,
passing the dependencies a handler names (clock, source).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from services.decisions.service_layer import services
from services.decisions.service_layer.unit_of_work import DecisionsUnitOfWork
from shared.messaging.event_schemas import (
    ContributionEventData,
    EngagementEventData,
    NotificationEventData,
    ParticipantErasedEventData,
    RatingEventData,
)
from shared.messaging.events import RejectedEvent, refuse_other_tenant
from shared.rules.constants import (
    CONTRIBUTION_RECEIVED,
    ENGAGEMENT_CREATED,
    ENGAGEMENT_UPDATED,
    ERASED_TEXT,
    MESSAGE_STATUS_RANK,
    NOTIFICATION_DELIVERED,
    NOTIFICATION_FAILED,
    NOTIFICATION_HELD,
    NOTIFICATION_SENT,
    NOTIFICATION_WITHHELD,
    OUTCOME_RATED,
    PARTICIPANT_ERASED,
    PARTICIPANT_REGISTERED,
    PARTICIPANT_UPDATED,
)

_engagement = EngagementEventData()
_contribution = ContributionEventData()
_notification = NotificationEventData()
_rating = RatingEventData()
_erasure = ParticipantErasedEventData()


def engagement_created(event: dict, uow: DecisionsUnitOfWork) -> None:
    data = _engagement.load(event["data"])
    held_by = uow.read.tenant_of_engagement(data["id"])
    refuse_other_tenant(held_by, event, "engagement")
    uow.read.add_or_replace_engagement({**data, "tenant": event["tenant"]}, held=held_by is not None)


def contribution_received(event: dict, uow: DecisionsUnitOfWork, clock: Callable[[], dt.datetime], source: str) -> None:
    data = _contribution.load(event["data"])
    tenant = event["tenant"]
    held = uow.read.contribution_arrival(tenant, data)
    refuse_other_tenant(held.contribution_tenant, event, "contribution")
    refuse_other_tenant(held.engagement_tenant, event, "engagement")
    contribution = {**data, "tenant": tenant}
    if held.erased_at is not None:  # the erasure overtook the contribution (another topic)
        contribution.update(sealed_text=uow.sealer.seal(ERASED_TEXT), erased_at=held.erased_at)
    uow.read.add_or_replace_contribution(contribution, held=held.contribution_tenant is not None)
    if held.links_waiting:  # a decision linked it before it arrived
        services.confirm_pending_links(uow, tenant, contribution, now=clock(), source=source)


def notification_status(event: dict, uow: DecisionsUnitOfWork) -> None:
    data = _notification.load(event["data"])
    held = uow.read.message_arrival(data["notification_id"], data["contribution_id"])
    refuse_other_tenant(held.tenant, event, "notification")
    refuse_other_tenant(held.contribution_tenant, event, "contribution")
    if held.status is not None and MESSAGE_STATUS_RANK[data["status"]] < MESSAGE_STATUS_RANK.get(held.status, 0):
        return  # an older status arriving late
    uow.read.add_or_replace_message({**data, "tenant": event["tenant"]}, held=held.tenant is not None)


def outcome_rated(event: dict, uow: DecisionsUnitOfWork) -> None:
    data = _rating.load(event["data"])
    refuse_other_tenant(
        uow.read.contribution_tenants([data["contribution_id"]]).get(data["contribution_id"]),
        event,
        "contribution",
    )
    services.keep_rating(uow, event["tenant"], data)


def participant_erased(event: dict, uow: DecisionsUnitOfWork) -> None:
    """The person's words go from every contribution of theirs; decisions, links and
    resource changes stay, so the chain still tells what happened."""
    data = _erasure.load(event["data"])
    if uow.read.participant_tenants(data["id"]) - {event["tenant"]}:
        raise RejectedEvent("tenant does not match the participant it refers to", event["tenant"])
    uow.read.record_erasure(event["tenant"], data["id"], data["erased_at"], uow.sealer.seal(ERASED_TEXT))


def participant_details(event: dict, uow: DecisionsUnitOfWork) -> None:
    """Decisions keeps nothing about who participants are: only their erasure matters."""


HANDLERS: dict[str, Callable[..., None]] = {
    PARTICIPANT_REGISTERED: participant_details,
    PARTICIPANT_UPDATED: participant_details,
    PARTICIPANT_ERASED: participant_erased,
    ENGAGEMENT_CREATED: engagement_created,
    ENGAGEMENT_UPDATED: engagement_created,  # the whole engagement again: the same upsert
    CONTRIBUTION_RECEIVED: contribution_received,
    NOTIFICATION_SENT: notification_status,
    NOTIFICATION_DELIVERED: notification_status,
    NOTIFICATION_FAILED: notification_status,
    NOTIFICATION_WITHHELD: notification_status,
    NOTIFICATION_HELD: notification_status,
    OUTCOME_RATED: outcome_rated,
}
