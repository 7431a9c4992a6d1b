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
    refuse_other_tenant(uow.read.tenant_of_engagement(data["id"]), event, "engagement")
    uow.read.save_engagement({**data, "tenant": event["tenant"]})


def contribution_received(event: dict, uow: DecisionsUnitOfWork, clock: Callable[[], dt.datetime], source: str) -> None:
    data = _contribution.load(event["data"])
    refuse_other_tenant(uow.read.contribution_tenants([data["id"]]).get(data["id"]), event, "contribution")
    refuse_other_tenant(uow.read.tenant_of_engagement(data["engagement_id"]), event, "engagement")
    contribution = {**data, "tenant": event["tenant"]}
    erased_at = uow.read.erased_at(event["tenant"], data["participant_id"])
    if erased_at is not None:  # the erasure overtook the contribution (another topic)
        contribution.update(sealed_text=uow.sealer.seal(ERASED_TEXT), erased_at=erased_at)
    uow.read.save_contribution(contribution)
    services.confirm_pending_links(uow, event["tenant"], contribution, now=clock(), source=source)


def notification_status(event: dict, uow: DecisionsUnitOfWork) -> None:
    data = _notification.load(event["data"])
    known = uow.read.message(data["notification_id"])
    refuse_other_tenant(known["tenant"] if known else None, event, "notification")
    if data["contribution_id"]:
        contribution_id = data["contribution_id"]
        refuse_other_tenant(
            uow.read.contribution_tenants([contribution_id]).get(contribution_id), event, "contribution"
        )
    if known is not None:
        if MESSAGE_STATUS_RANK[data["status"]] < MESSAGE_STATUS_RANK.get(known["status"], 0):
            return  # an older status arriving late
    uow.read.save_message({**data, "tenant": event["tenant"]})


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
