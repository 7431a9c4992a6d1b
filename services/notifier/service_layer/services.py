"""The notifier's use cases behind its HTTP API."""

from __future__ import annotations

import datetime as dt

from services.notifier.adapters.letters import LETTER_RECEIPT_STATUSES
from services.notifier.domain.letters import address_for
from services.notifier.domain.model import rating_from_reply, receipt_reason
from services.notifier.service_layer.sending import announce_status
from services.notifier.service_layer.unit_of_work import NotifierUnitOfWork
from shared.messaging.event_definitions import announce_rating
from shared.rules.constants import (
    CHANNEL_NONE,
    CONTACT_CHANNELS,
    EARLY_RECEIPT_PREFIX,
    NOTIFICATIONS_TOPIC,
    RATING_BY_SMS,
    STATUS_DELIVERED,
    STATUS_FAILED,
    STATUS_SENDING,
    STATUS_SENT,
)
from shared.rules.domain import InvalidInput, NotFound


def list_notifications(
    uow: NotifierUnitOfWork, tenant: str, *, page: int, per_page: int, **filters
) -> tuple[list[dict], int]:
    with uow:
        items, total = uow.notifications.list(tenant, offset=(page - 1) * per_page, limit=per_page, **filters)
        history = uow.notifications.attempts_for([item["id"] for item in items])
    return [{**item, "attempt_history": history.get(item["id"], [])} for item in items], total


NO_ADDRESS = {
    "email": "We have no email address for this person: their council can add one, or choose another way.",
    "sms": "We have no mobile number for this person: their council can add one, or choose another way.",
    "post": "We have no postal address for this person: their council can add one, or choose another way.",
}


def _recipient(uow: NotifierUnitOfWork, tenant: str, participant_id: str):
    recipient = uow.recipients.get(participant_id)
    if recipient is None or recipient.tenant != tenant or recipient.erased_at is not None:
        raise NotFound("participant")
    return recipient


def _reachable_channels(uow: NotifierUnitOfWork, recipient) -> list[str]:
    """The channels they may choose: those we hold an address, number or postal address for
    (intake owns contact details; the notifier only keeps them sealed), and "none"."""
    contact = uow.sealer.open(recipient.contact_sealed) if recipient.contact_sealed else {}
    return [channel for channel in CONTACT_CHANNELS if channel == CHANNEL_NONE or address_for(channel, contact)]


def preferences(uow: NotifierUnitOfWork, tenant: str, participant_id: str) -> dict:
    with uow:
        recipient = _recipient(uow, tenant, participant_id)
        reachable = _reachable_channels(uow, recipient)
    return {
        "preferred_channel": recipient.preferred_channel,
        "language": recipient.language,
        "format": recipient.format,
        "consent_to_contact": recipient.consent_to_contact,
        "unsubscribed": recipient.unsubscribed_at is not None,
        "reachable_channels": reachable,
    }


def set_preferences(
    uow: NotifierUnitOfWork, tenant: str, participant_id: str, values: dict, *, now: dt.datetime
) -> dict:
    """Change how they want to hear from us; a channel we hold no address for is refused (a
    message chosen to go there could only fail)."""
    with uow:
        recipient = _recipient(uow, tenant, participant_id)
        channel = values.get("preferred_channel")
        if channel and channel != recipient.preferred_channel and channel not in _reachable_channels(uow, recipient):
            raise InvalidInput.on("preferred_channel", NO_ADDRESS[channel])
        for name, value in values.items():
            setattr(recipient, name, value)
        if values.get("consent_to_contact"):
            recipient.unsubscribed_at = None  # consenting again undoes an unsubscribe
        recipient.updated_at = now
        uow.recipients.save(recipient)
        uow.commit()
    return preferences(uow, tenant, participant_id)


RECEIPT_STATUSES = {
    # GOV.UK Notify
    "delivered": STATUS_DELIVERED,
    "permanent-failure": STATUS_FAILED,
    "temporary-failure": STATUS_FAILED,
    "technical-failure": STATUS_FAILED,
    # Twilio
    "undelivered": STATUS_FAILED,
    "failed": STATUS_FAILED,
    # GOV.UK Notify's letters
    **LETTER_RECEIPT_STATUSES,
}


def apply_receipt(
    uow: NotifierUnitOfWork, notification: dict | None, provider_status: str, *, now: dt.datetime, source: str
) -> None:
    """A provider says a message was delivered or not: record it and tell the chain."""
    if notification is None:
        raise NotFound("notification")
    status = RECEIPT_STATUSES.get(provider_status)
    if status is None:
        return  # an interim status (queued, sending)
    if notification["status"] == STATUS_SENDING:
        # The provider answered before our sender recorded the send: keep the receipt for it.
        uow.notifications.record_attempt(notification["id"], now, EARLY_RECEIPT_PREFIX + status, provider_status)
        uow.commit()
        return
    if notification["status"] not in (STATUS_SENT, STATUS_DELIVERED, STATUS_FAILED):
        return  # a message we have not sent
    if notification["status"] == status:
        return  # the same receipt twice
    reason = receipt_reason(status, provider_status)
    uow.notifications.update(notification["id"], status=status, reason=reason, updated_at=now)
    uow.notifications.record_attempt(notification["id"], now, status, reason)
    announce_status(uow, notification, status, reason, now, source)
    uow.commit()


def notify_receipt(
    uow: NotifierUnitOfWork, reference: str, provider_status: str, *, now: dt.datetime, source: str
) -> None:
    with uow:
        apply_receipt(uow, uow.notifications.get(reference), provider_status, now=now, source=source)


def twilio_receipt(
    uow: NotifierUnitOfWork, message_sid: str, provider_status: str, *, now: dt.datetime, source: str
) -> None:
    with uow:
        apply_receipt(
            uow, uow.notifications.by_provider_reference("twilio", message_sid), provider_status, now=now, source=source
        )


def unsubscribe(uow: NotifierUnitOfWork, tenant: str, participant_id: str, *, now: dt.datetime) -> None:
    with uow:
        recipient = _recipient(uow, tenant, participant_id)
        if recipient.unsubscribed_at is None:
            recipient.unsubscribed_at = now
            uow.recipients.save(recipient)
            uow.commit()


def record_sms_reply(
    uow: NotifierUnitOfWork, phone_lookup: str | None, body: str, *, now: dt.datetime, source: str
) -> bool:
    """A reply of 1, 2 or 3 answers "Did this make a difference?" for the contribution of
    the last decision update sent to that number: announced as outcome.rated (channel
    sms) for the outcome chain. False, and nothing done, for any other text or sender."""
    rating = rating_from_reply(body)
    if rating is None or phone_lookup is None:
        return False
    with uow:
        update = uow.notifications.latest_decision_update_by_sms(phone_lookup)
        if update is None:
            return False
        announce_rating(
            uow,
            NOTIFICATIONS_TOPIC,
            source=source,
            tenant=update["tenant"],
            contribution_id=update["contribution_id"],
            participant_id=update["participant_id"],
            rating=rating,
            channel=RATING_BY_SMS,
            now=now,
        )
        uow.commit()
    return True


def notification_counts(uow: NotifierUnitOfWork) -> dict[tuple[str, str], int]:
    """How many notifications are in each (status, channel): the operator's view of delivery."""
    with uow:
        return uow.notifications.count_by_status()
