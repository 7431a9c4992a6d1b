"""Every event Outcome Chain carries, defined once: its type, what it means, the schema of its
`data`, and the topics it travels on. Consumers load `data` with these schemas
(shared/messaging/event_schemas.py); the AsyncAPI document (shared/messaging/asyncapi.py) is generated from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, fields

from shared.messaging import event_schemas as data
from shared.rules.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_RECEIVED,
    CONTRIBUTION_SUBMITTED,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    DECISION_RECORDED,
    ENGAGEMENT_CREATED,
    NOTIFICATION_DELIVERED,
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    NOTIFICATION_WITHHELD,
    OUTCOME_RATED,
    PARTICIPANT_ERASED,
    PARTICIPANT_REGISTERED,
    PARTICIPANT_UPDATED,
    RESOURCE_CHANGED,
    TOPIC_EVENT_TYPES,
)


class DecisionRecordedEventData(data.DecisionStoryEventData):
    """decision.recorded: the decision as recorded (its links follow as contribution.linked)."""

    contribution_id = fields.String(load_default=None)
    board_id = fields.String(required=True)


class ContributionSubmittedEventData(Schema):
    """contribution.submitted: the body of intake's `POST /v1/contributions` (its OpenAPI
    document, at intake's /openapi.json, has every field), from a council's case system."""

    engagement_id = fields.String(required=True)
    type = fields.String(required=True)
    text = fields.String(required=True)
    channel = fields.String()
    participant_id = fields.String()
    participant = fields.Dict(metadata={"description": "the participant, when not named by participant_id"})


@dataclass(frozen=True)
class EventDefinition:
    type: str
    summary: str
    data: type[Schema]

    @property
    def topics(self) -> list[str]:
        return sorted(topic for topic, types in TOPIC_EVENT_TYPES.items() if self.type in types)


def _notification(status: str) -> str:
    return f"A message to a participant was {status} (never its content or address)."


EVENTS: dict[str, EventDefinition] = {
    definition.type: definition
    for definition in (
        EventDefinition(
            CONTRIBUTION_SUBMITTED, "A council case system submits a contribution.", ContributionSubmittedEventData
        ),
        EventDefinition(ENGAGEMENT_CREATED, "A council opened an engagement.", data.EngagementEventData),
        EventDefinition(
            PARTICIPANT_REGISTERED, "A participant was registered (contact sealed).", data.ParticipantEventData
        ),
        EventDefinition(
            PARTICIPANT_UPDATED, "A participant's preferences changed (contact sealed).", data.ParticipantEventData
        ),
        EventDefinition(PARTICIPANT_ERASED, "A participant was erased.", data.ParticipantErasedEventData),
        EventDefinition(
            CONTRIBUTION_RECEIVED, "Intake received a contribution (text sealed).", data.ContributionEventData
        ),
        EventDefinition(DECISION_RECORDED, "A board recorded a decision.", DecisionRecordedEventData),
        EventDefinition(
            DECISION_AMENDED, "A decision was amended, told per linked contribution.", data.DecisionStoryEventData
        ),
        EventDefinition(CONTRIBUTION_LINKED, "A decision was linked to a contribution.", data.LinkEventData),
        EventDefinition(CONTRIBUTION_UNLINKED, "A decision was unlinked from a contribution.", data.UnlinkEventData),
        EventDefinition(RESOURCE_CHANGED, "A decision's resource change moved on.", data.ResourceChangedEventData),
        EventDefinition(
            CONTRIBUTION_FEEDBACK_OVERDUE,
            "A contribution passed its feedback date with no decision.",
            data.FeedbackOverdueEventData,
        ),
        EventDefinition(NOTIFICATION_SENT, _notification("sent"), data.NotificationEventData),
        EventDefinition(NOTIFICATION_DELIVERED, _notification("delivered"), data.NotificationEventData),
        EventDefinition(NOTIFICATION_FAILED, _notification("not delivered"), data.NotificationEventData),
        EventDefinition(NOTIFICATION_WITHHELD, _notification("withheld"), data.NotificationEventData),
        EventDefinition(OUTCOME_RATED, 'A participant answered "Did this make a difference?".', data.RatingEventData),
    )
}
