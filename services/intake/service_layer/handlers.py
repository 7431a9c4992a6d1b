"""What intake does with events: case systems' submissions from `intake.submissions` become
contributions; what became of contributions, from `outcomes.decisions` and
`outcomes.notifications`, goes into intake's read model for the staff dashboard.

Each handler is `handler(event, uow, ...)`; shared.infra.platform.consume wires HANDLERS once,
passing the dependencies a handler names (clock, source, submission_schema).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from marshmallow import Schema

from services.intake.service_layer import outcomes, services
from shared.messaging import event_schemas
from shared.rules.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_SUBMITTED,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    DECISION_RECORDED,
    NOTIFICATION_EVENT_FOR_STATUS,
    OUTCOME_RATED,
    RESOURCE_CHANGED,
    ROLE_CASE_SYSTEM,
)

Clock = Callable[[], dt.datetime]

_link = event_schemas.LinkEventData()
_unlink = event_schemas.UnlinkEventData()
_amendment = event_schemas.DecisionStoryEventData()
_resource_change = event_schemas.ResourceChangedEventData()
_overdue = event_schemas.FeedbackOverdueEventData()
_notification = event_schemas.NotificationEventData()
_rating = event_schemas.RatingEventData()


def contribution_submitted(event: dict, uow, clock: Clock, source: str, submission_schema: Schema) -> None:
    """A case system's submission, checked as the API checks one (the same schema)."""
    data = submission_schema.load(event["data"])
    submitter = services.Submitter(
        tenant=event["tenant"],
        role=ROLE_CASE_SYSTEM,
        identity=f"{event['source']}#{event['id']}",
    )
    services.submit_contribution(uow, submitter, data, now=clock(), source=source)


def _prepare_submissions(events: list[dict], uow, clock: Clock) -> None:
    """Before a consumer's batch of submissions, in one statement each rather than one per
    submission: everyone they name by external_ref, read (locked), and a reference number
    for each (those not used are given back at commit). Only a look ahead: a submission
    finding nothing prepared for it reads and takes its own."""
    wanted: dict[str, set[str]] = {}
    submissions: dict[str, set[tuple[str, str]]] = {}
    for event in events:
        submissions.setdefault(event["tenant"], set()).add((event["source"], event["id"]))
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        participant = data.get("participant")
        external_ref = participant.get("external_ref") if isinstance(participant, dict) else None
        if isinstance(external_ref, str) and external_ref and not data.get("participant_id"):
            wanted.setdefault(event["tenant"], set()).add(external_ref)
    for tenant, external_refs in wanted.items():
        uow.participants.read_by_external_refs(tenant, external_refs)
    year = services.reference_year(clock())
    for tenant, ids in submissions.items():
        uow.contributions.reserve_reference_numbers(tenant, year, len(ids))


contribution_submitted.prepare = _prepare_submissions


def _when(event: dict, clock: Clock) -> dt.datetime:
    return event.get("time") or clock()


def contribution_linked(event: dict, uow, clock: Clock) -> None:
    data = _link.load(event["data"])
    outcomes.record_link(uow, event["tenant"], data, at=_when(event, clock), now=clock())


def contribution_unlinked(event: dict, uow, clock: Clock) -> None:
    data = _unlink.load(event["data"])
    outcomes.record_unlink(uow, event["tenant"], data, at=_when(event, clock), now=clock())


def decision_amended(event: dict, uow, clock: Clock) -> None:
    data = _amendment.load(event["data"])
    outcomes.record_amendment(uow, event["tenant"], data, at=_when(event, clock), now=clock())


def resource_changed(event: dict, uow, clock: Clock) -> None:
    outcomes.record_resource_change(uow, event["tenant"], _resource_change.load(event["data"]), now=clock())


def feedback_overdue(event: dict, uow, clock: Clock) -> None:
    outcomes.record_overdue(uow, event["tenant"], _overdue.load(event["data"]), now=clock())


def notification_status(event: dict, uow, clock: Clock) -> None:
    outcomes.record_message(uow, event["tenant"], _notification.load(event["data"]), now=clock())


def outcome_rated(event: dict, uow, clock: Clock) -> None:
    outcomes.record_rating(uow, event["tenant"], _rating.load(event["data"]), now=clock())


def decision_recorded(event: dict, uow) -> None:
    """A decision on its own changes no contribution: its links (contribution.linked) do."""


HANDLERS: dict[str, Callable[..., None]] = {
    CONTRIBUTION_SUBMITTED: contribution_submitted,
    DECISION_RECORDED: decision_recorded,
    CONTRIBUTION_LINKED: contribution_linked,
    CONTRIBUTION_UNLINKED: contribution_unlinked,
    DECISION_AMENDED: decision_amended,
    RESOURCE_CHANGED: resource_changed,
    CONTRIBUTION_FEEDBACK_OVERDUE: feedback_overdue,
    OUTCOME_RATED: outcome_rated,
    **{event_type: notification_status for event_type in NOTIFICATION_EVENT_FOR_STATUS.values()},
}
