"""Case systems' submissions from `intake.submissions`, as contributions; and what became of
contributions, from `outcomes.decisions` and `outcomes.notifications`."""

from __future__ import annotations

from services.intake.entrypoints.schemas import ContributionSchema
from services.intake.service_layer import outcomes, services
from shared import event_schemas
from shared.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    DECISION_RECORDED,
    NOTIFICATION_EVENT_FOR_STATUS,
    OUTCOME_RATED,
    RESOURCE_CHANGED,
    ROLE_CASE_SYSTEM,
)
from shared.platform import Platform

_contribution_schema = ContributionSchema()


def submission_handler(platform: Platform):
    def handle_submission(uow, envelope: dict) -> None:
        data = _contribution_schema.load(envelope["data"])
        submitter = services.Submitter(
            tenant=envelope["tenant"],
            role=ROLE_CASE_SYSTEM,
            identity=f"{envelope['source']}#{envelope['id']}",
        )
        services.submit_contribution(uow, submitter, data, now=platform.clock(), source=platform.source)

    return handle_submission


_link = event_schemas.LinkEventData()
_unlink = event_schemas.UnlinkEventData()
_amendment = event_schemas.DecisionStoryEventData()
_resource_change = event_schemas.ResourceChangedEventData()
_overdue = event_schemas.FeedbackOverdueEventData()
_notification = event_schemas.NotificationEventData()
_rating = event_schemas.RatingEventData()


def outcome_handlers(platform: Platform) -> dict:
    """What decisions and the notifier announce about contributions, into intake's read model."""

    def when(envelope: dict):
        return envelope.get("time") or platform.clock()

    def linked(uow, envelope: dict) -> None:
        data = _link.load(envelope["data"])
        outcomes.record_link(uow, envelope["tenant"], data, at=when(envelope), now=platform.clock())

    def unlinked(uow, envelope: dict) -> None:
        data = _unlink.load(envelope["data"])
        outcomes.record_unlink(uow, envelope["tenant"], data, at=when(envelope), now=platform.clock())

    def amended(uow, envelope: dict) -> None:
        data = _amendment.load(envelope["data"])
        outcomes.record_amendment(uow, envelope["tenant"], data, at=when(envelope), now=platform.clock())

    def resource_changed(uow, envelope: dict) -> None:
        outcomes.record_resource_change(
            uow, envelope["tenant"], _resource_change.load(envelope["data"]), now=platform.clock()
        )

    def overdue(uow, envelope: dict) -> None:
        outcomes.record_overdue(uow, envelope["tenant"], _overdue.load(envelope["data"]), now=platform.clock())

    def notification(uow, envelope: dict) -> None:
        outcomes.record_message(uow, envelope["tenant"], _notification.load(envelope["data"]), now=platform.clock())

    def rated(uow, envelope: dict) -> None:
        outcomes.record_rating(uow, envelope["tenant"], _rating.load(envelope["data"]), now=platform.clock())

    def recorded(uow, envelope: dict) -> None:
        """A decision on its own changes no contribution: its links (contribution.linked) do."""

    return {
        DECISION_RECORDED: recorded,
        CONTRIBUTION_LINKED: linked,
        CONTRIBUTION_UNLINKED: unlinked,
        DECISION_AMENDED: amended,
        RESOURCE_CHANGED: resource_changed,
        CONTRIBUTION_FEEDBACK_OVERDUE: overdue,
        OUTCOME_RATED: rated,
        **{event_type: notification for event_type in NOTIFICATION_EVENT_FOR_STATUS.values()},
    }
