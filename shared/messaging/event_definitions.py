"""Every event Outcome Chain carries, defined once: its type, what it means, the schema of its
`data`, the topics it travels on, and the builder every producer makes its `data` with
(`EVENTS[type].build(**fields)`). Each schema here describes every field producers send;
consumers load the part they need with the tolerant schemas it extends
(shared/messaging/event_schemas.py); the AsyncAPI document (shared/messaging/asyncapi.py) is
generated from them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from marshmallow import RAISE, Schema, ValidationError, fields

from shared.messaging import event_schemas as data
from shared.messaging import events
from shared.rules.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_RECEIVED,
    CONTRIBUTION_SUBMITTED,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    DECISION_RECORDED,
    ENGAGEMENT_CREATED,
    ENGAGEMENT_UPDATED,
    NOTIFICATION_DELIVERED,
    NOTIFICATION_FAILED,
    NOTIFICATION_HELD,
    NOTIFICATION_SENT,
    NOTIFICATION_WITHHELD,
    OUTCOME_RATED,
    PARTICIPANT_ERASED,
    PARTICIPANT_REGISTERED,
    PARTICIPANT_UPDATED,
    RESOURCE_CHANGED,
    TOPIC_EVENT_TYPES,
)


class EngagementData(data.EngagementEventData):
    """engagement.created / .updated: the whole engagement as it now is."""

    languages = fields.List(fields.String(), required=True)
    closed_at = fields.AwareDateTime(required=True, allow_none=True)


class ReceivedContributionData(data.ContributionEventData):
    """contribution.received: the contribution as intake received it, its words sealed."""

    status = fields.String(required=True)


class _DecisionAsItStands(Schema):
    """The decision told with every decisions event: what a participant's message quotes."""

    board_id = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    decided_on = fields.Date(required=True)
    rationale = fields.String(required=True, allow_none=True)
    scope_limit_kind = fields.String(required=True, allow_none=True)
    scope_limit = fields.String(required=True, allow_none=True)
    revisit_on = fields.Date(required=True, allow_none=True)


class DecisionRecordedEventData(_DecisionAsItStands, data.DecisionStoryEventData):
    """decision.recorded: the decision as recorded (its links follow as contribution.linked)."""

    contribution_id = fields.String(load_default=None)


class DecisionAmendedData(_DecisionAsItStands, data.DecisionStoryEventData):
    """decision.amended: the decision as amended, what changed, and why (sealed)."""

    participant_id = fields.String(allow_none=True)
    changes = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Raw(allow_none=True)),
        required=True,
        metadata={"description": "{field: [before, after]} for each field the amendment changed"},
    )
    sealed_reason = fields.String(required=True)


class ResourceToldData(data.ResourceSummaryEventData):
    kind = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "its first 300 characters"})


class ContributionLinkedData(_DecisionAsItStands, data.LinkEventData):
    """contribution.linked: the decision, the contribution it answers, and what it changes."""

    participant_id = fields.String(required=True)
    reference = fields.String(required=True)
    engagement_id = fields.String(required=True)
    sealed_influence = fields.String(required=True, allow_none=True)
    resource_changes = fields.List(fields.Nested(ResourceToldData), required=True)


class ContributionUnlinkedData(_DecisionAsItStands, data.UnlinkEventData):
    """contribution.unlinked: the decision, and why it no longer answers the contribution (sealed)."""

    participant_id = fields.String(required=True, allow_none=True)
    sealed_reason = fields.String(required=True)


class ResourceChangedData(_DecisionAsItStands, data.ResourceChangedEventData):
    """resource.changed: the decision and where its resource change now stands."""

    participant_id = fields.String(allow_none=True)
    kind = fields.String(required=True)
    description = fields.String(required=True)
    amount = fields.String(required=True, allow_none=True, metadata={"description": "a decimal, as text"})
    currency = fields.String(required=True, allow_none=True)
    effective_from = fields.Date(required=True, allow_none=True)
    previous_status = fields.String(required=True, allow_none=True)
    progress_percent = fields.Integer(required=True, allow_none=True)
    sealed_note = fields.String(required=True, allow_none=True)


class FeedbackOverdueData(data.FeedbackOverdueEventData):
    """contribution.feedback_overdue: the contribution, and the date its feedback was due."""

    participant_id = fields.String(required=True)
    reference = fields.String(required=True)
    engagement_id = fields.String(required=True)
    engagement_title = fields.String(required=True)
    feedback_due = fields.Date(required=True, allow_none=True)


class NotificationData(data.NotificationEventData):
    participant_id = fields.String(required=True)
    reason = fields.String(required=True, allow_none=True)


class ContributionSubmittedEventData(Schema):
    """contribution.submitted: the body of intake's `POST /v1/contributions` (its OpenAPI
    document, at intake's /openapi.json, has every field), from a council's case system."""

    engagement_id = fields.String(required=True)
    type = fields.String(required=True)
    text = fields.String(required=True)
    channel = fields.String()
    participant_id = fields.String()
    participant = fields.Dict(metadata={"description": "the participant, when not named by participant_id"})


class EventDataError(ValueError):
    """A producer built an event's data that its definition refuses: a bug, never input."""

    def __init__(self, type_: str, errors: dict) -> None:
        super().__init__(f"{type_} data: {errors}")
        self.errors = errors


@dataclass(frozen=True)
class EventDefinition:
    type: str
    summary: str
    data: type[Schema]

    @property
    def topics(self) -> list[str]:
        return sorted(topic for topic, types in TOPIC_EVENT_TYPES.items() if self.type in types)

    @cached_property
    def _schema(self) -> Schema:
        return self.data()

    def build(self, **fields_: object) -> dict:
        """The event's `data` as it travels (dates and times as ISO 8601 text), checked against
        the schema: a field missing, unknown or of the wrong kind raises EventDataError."""
        wire = json.loads(events.dumps(fields_))
        self._check(wire)
        return wire

    def build_each(self, shared: dict, each: Iterable[dict]) -> Iterator[dict]:
        """`build(**fields, **shared)` for each `fields` of `each`, for many events that differ
        in a few fields (one per linked contribution): the shared part is turned to wire form and
        checked once, with the first event whole; each later one with the same fields has only
        its own checked, by the schema narrowed to them (the rest is the same shared part, already
        checked): the same check, a third of the work."""
        shared_wire = json.loads(events.dumps(shared))
        checked: set | None = None
        own_part: Schema | None = None  # the definition's schema narrowed to the checked fields
        for fields_ in each:
            wire = json.loads(events.dumps(fields_))
            if wire.keys() & shared_wire.keys():
                raise TypeError(f"{self.type}: fields given twice: {sorted(wire.keys() & shared_wire.keys())}")
            whole = {**wire, **shared_wire}
            if wire.keys() == checked:
                self._check(wire, own_part)
            else:
                self._check(whole, self._schema)
                checked = set(wire.keys())
                own_part = self.data(only=tuple(sorted(checked)))
            yield whole

    def _check(self, wire: dict, schema: Schema | None = None) -> None:
        try:
            (schema or self._schema).load(wire, unknown=RAISE)
        except ValidationError as invalid:
            raise EventDataError(self.type, invalid.normalized_messages()) from None


def _notification(status: str) -> str:
    return f"A message to a participant was {status} (never its content or address)."


EVENTS: dict[str, EventDefinition] = {
    definition.type: definition
    for definition in (
        EventDefinition(
            CONTRIBUTION_SUBMITTED, "A council case system submits a contribution.", ContributionSubmittedEventData
        ),
        EventDefinition(ENGAGEMENT_CREATED, "A council opened an engagement.", EngagementData),
        EventDefinition(ENGAGEMENT_UPDATED, "An engagement was edited or closed.", EngagementData),
        EventDefinition(
            PARTICIPANT_REGISTERED, "A participant was registered (contact sealed).", data.ParticipantEventData
        ),
        EventDefinition(
            PARTICIPANT_UPDATED, "A participant's preferences changed (contact sealed).", data.ParticipantEventData
        ),
        EventDefinition(PARTICIPANT_ERASED, "A participant was erased.", data.ParticipantErasedEventData),
        EventDefinition(
            CONTRIBUTION_RECEIVED, "Intake received a contribution (text sealed).", ReceivedContributionData
        ),
        EventDefinition(DECISION_RECORDED, "A board recorded a decision.", DecisionRecordedEventData),
        EventDefinition(DECISION_AMENDED, "A decision was amended, told per linked contribution.", DecisionAmendedData),
        EventDefinition(CONTRIBUTION_LINKED, "A decision was linked to a contribution.", ContributionLinkedData),
        EventDefinition(
            CONTRIBUTION_UNLINKED, "A decision was unlinked from a contribution.", ContributionUnlinkedData
        ),
        EventDefinition(RESOURCE_CHANGED, "A decision's resource change moved on.", ResourceChangedData),
        EventDefinition(
            CONTRIBUTION_FEEDBACK_OVERDUE,
            "A contribution passed its feedback date with no decision.",
            FeedbackOverdueData,
        ),
        EventDefinition(NOTIFICATION_SENT, _notification("sent"), NotificationData),
        EventDefinition(NOTIFICATION_DELIVERED, _notification("delivered"), NotificationData),
        EventDefinition(NOTIFICATION_FAILED, _notification("not delivered"), NotificationData),
        EventDefinition(NOTIFICATION_WITHHELD, _notification("withheld"), NotificationData),
        EventDefinition(
            NOTIFICATION_HELD, "A letter waits for next month's letter budget (never its content).", NotificationData
        ),
        EventDefinition(OUTCOME_RATED, 'A participant answered "Did this make a difference?".', data.RatingEventData),
    )
}


def announce_rating(
    uow,
    topic: str,
    *,
    source: str,
    tenant: str,
    contribution_id: str,
    participant_id: str,
    rating: str,
    channel: str,
    now,
) -> None:
    """Announce outcome.rated, built one way whether the answer came from the status page
    (decisions) or an SMS reply (notifier). `uow` is any shared.infra.db unit of work."""
    uow.announce(
        topic,
        type=OUTCOME_RATED,
        source=source,
        tenant=tenant,
        subject=contribution_id,
        time=now,
        data=EVENTS[OUTCOME_RATED].build(
            contribution_id=contribution_id, participant_id=participant_id, rating=rating, rated_at=now, channel=channel
        ),
    )
