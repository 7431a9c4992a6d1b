"""Events become recipients, read models and notifications to send.

Every notification is recorded in the same transaction as the event that caused it, one
per (event, participant). Sending happens later (service_layer/sending.py), so a slow or
broken provider never holds the consumer up.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from services.notifier.domain.model import Recipient, phone_lookup_key
from services.notifier.service_layer.unit_of_work import NotifierUnitOfWork
from shared.infra.settings import Settings
from shared.messaging.consumer import event_key
from shared.messaging.event_schemas import (
    ContributionEventData,
    ContributionStoryEventData,
    EngagementEventData,
    ParticipantEventData,
)
from shared.messaging.events import RejectedEvent, refuse_other_tenant
from shared.rules.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_RECEIVED,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    DECISION_RECORDED,
    ENGAGEMENT_CREATED,
    ENGAGEMENT_UPDATED,
    MESSAGE_ACKNOWLEDGEMENT,
    MESSAGE_DECISION_AMENDED,
    MESSAGE_DECISION_LINKED,
    MESSAGE_INTERIM_UPDATE,
    MESSAGE_RESOURCE_CHANGED,
    MESSAGE_UNLINKED,
    OUTCOME_RATED,
    PARTICIPANT_ERASED,
    PARTICIPANT_REGISTERED,
    PARTICIPANT_UPDATED,
    RESOURCE_CHANGED,
    STATUS_CREATED,
)

_participant = ParticipantEventData()
_engagement = EngagementEventData()
_contribution = ContributionEventData()
_story = ContributionStoryEventData()

# Resource changes worth telling a participant about (creation is told with the link).
TOLD_STATUSES = ("in_progress", "implemented", "cancelled")


def _event_time(envelope: dict) -> dt.datetime:
    return envelope.get("time") or dt.datetime.now(dt.UTC)  # parsed by the envelope schema


def record_notification(
    uow: NotifierUnitOfWork,
    envelope: dict,
    *,
    participant_id: str,
    contribution_id: str | None,
    kind: str,
    context: dict,
    now: dt.datetime,
) -> bool:
    recipient = uow.recipients.get(participant_id)
    refuse_other_tenant(recipient and recipient.tenant, envelope, "participant")
    return uow.notifications.add(
        {
            "id": str(uuid.uuid4()),
            "tenant": envelope["tenant"],
            "event_id": event_key(envelope["source"], envelope["id"]),
            "participant_id": participant_id,
            "contribution_id": contribution_id,
            "channel": recipient.preferred_channel if recipient else "unknown",
            "kind": kind,
            "context": context,
            "status": STATUS_CREATED,
            "reason": None,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
    )


def participant_changed(event: dict, uow: NotifierUnitOfWork, settings: Settings) -> None:
    data = _participant.load(event["data"])
    known = uow.recipients.get(data["id"])
    refuse_other_tenant(known and known.tenant, event, "participant")
    at = _event_time(event)
    if known is not None and (known.updated_at >= at or known.erased_at is not None):
        return  # an older update arriving late, or a person since erased
    uow.recipients.save(
        Recipient(
            participant_id=data["id"],
            tenant=event["tenant"],
            contact_sealed=data["sealed_contact"],
            preferred_channel=data["preferred_channel"],
            language=data["language"],
            format=data["format"],
            consent_to_contact=data["consent_to_contact"],
            updated_at=at,
            unsubscribed_at=known.unsubscribed_at if known else None,
            phone_lookup=phone_lookup_key(
                settings.link_signing_secret, uow.sealer.open(data["sealed_contact"]).get("phone")
            ),
        )
    )


def participant_erased(event: dict, uow: NotifierUnitOfWork) -> None:
    """Forget how to reach the person; what is still to send is withheld, with the reason."""
    participant_id = event["data"].get("id")
    if not isinstance(participant_id, str):
        raise RejectedEvent("invalid data: id: Missing data for required field.", event["tenant"])
    known = uow.recipients.get(participant_id)
    refuse_other_tenant(known and known.tenant, event, "participant")
    erased = known or Recipient(
        participant_id=participant_id,
        tenant=event["tenant"],
        contact_sealed=None,
        preferred_channel="none",
        language="en",
        format="standard",
        consent_to_contact=False,
        updated_at=_event_time(event),
    )
    erased.contact_sealed, erased.phone_lookup, erased.erased_at = None, None, _event_time(event)
    uow.recipients.save(erased)


def engagement_created(event: dict, uow: NotifierUnitOfWork) -> None:
    data = _engagement.load(event["data"])
    known = uow.read.engagement(data["id"])
    refuse_other_tenant(known and known["tenant"], event, "engagement")
    uow.read.save_engagement(
        {k: data[k] for k in ("id", "title", "can_change", "cannot_change", "decision_maker", "feedback_due")}
        | {"tenant": event["tenant"]}
    )


def contribution_received(event: dict, uow: NotifierUnitOfWork, clock: Callable[[], dt.datetime]) -> None:
    data = _contribution.load(event["data"])
    known = uow.read.contribution(data["id"])
    refuse_other_tenant(known and known["tenant"], event, "contribution")
    engagement = uow.read.engagement(data["engagement_id"])
    refuse_other_tenant(engagement and engagement["tenant"], event, "engagement")
    uow.read.save_contribution(
        {
            "id": data["id"],
            "tenant": event["tenant"],
            "participant_id": data["participant_id"],
            "engagement_id": data["engagement_id"],
            "reference": data["reference"],
            "type": data["type"],
        }
    )
    record_notification(
        uow,
        event,
        participant_id=data["participant_id"],
        contribution_id=data["id"],
        kind=MESSAGE_ACKNOWLEDGEMENT,
        context={},
        now=clock(),
    )


def story(kind: str, *, only_if: Callable[[dict], bool] = lambda data: True) -> Callable[..., None]:
    """A handler telling a contribution's participant of its story (`kind`), when `only_if`."""

    def handle(event: dict, uow: NotifierUnitOfWork, clock: Callable[[], dt.datetime]) -> None:
        data = event["data"]
        if data.get("contribution_id") is None:
            return  # about the decision as a whole: nobody in particular to tell
        ids = _story.load(data)
        known = uow.read.contribution(ids["contribution_id"])
        refuse_other_tenant(known and known["tenant"], event, "contribution")
        if not only_if(data):
            return
        record_notification(
            uow,
            event,
            participant_id=ids["participant_id"],
            contribution_id=ids["contribution_id"],
            kind=kind,
            context=data,
            now=clock(),
        )

    handle.__name__ = f"tell_{kind}"
    return handle


def told_resource_change(data: dict) -> bool:
    return data.get("status") in TOLD_STATUSES and data.get("status") != data.get("previous_status")


def decision_recorded(event: dict, uow: NotifierUnitOfWork) -> None:
    """Each person hears of a decision through their own contribution.linked, not this."""


def outcome_rated(event: dict, uow: NotifierUnitOfWork) -> None:
    """The participant's own answer on their status page: nothing to tell them."""


HANDLERS: dict[str, Callable[..., None]] = {
    PARTICIPANT_REGISTERED: participant_changed,
    PARTICIPANT_UPDATED: participant_changed,
    PARTICIPANT_ERASED: participant_erased,
    ENGAGEMENT_CREATED: engagement_created,
    ENGAGEMENT_UPDATED: engagement_created,  # the whole engagement again: the same upsert
    CONTRIBUTION_RECEIVED: contribution_received,
    DECISION_RECORDED: decision_recorded,
    OUTCOME_RATED: outcome_rated,
    CONTRIBUTION_LINKED: story(MESSAGE_DECISION_LINKED),
    DECISION_AMENDED: story(MESSAGE_DECISION_AMENDED),
    CONTRIBUTION_UNLINKED: story(MESSAGE_UNLINKED),
    RESOURCE_CHANGED: story(MESSAGE_RESOURCE_CHANGED, only_if=told_resource_change),
    CONTRIBUTION_FEEDBACK_OVERDUE: story(MESSAGE_INTERIM_UPDATE),
}
