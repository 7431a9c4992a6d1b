"""What happened to each contribution, learnt from decisions' and the notifier's events.

Intake keeps it as its own read model (decisions and links, resource-change statuses,
messages, the participant's rating) and moves each contribution's `status` along the
chain with the rule decisions uses (shared/rules/outcome_status.contribution_status). The equality-monitoring
answers never leave intake; these facts come to them instead.

Each function runs inside the consumer's unit of work (which commits, and records the
event as processed with its effects). An event is refused, and so dead-lettered, if it is
about another council's contribution, or one intake never received: intake gives every
contribution its id, so an unknown one means a fault to look at (replayable once fixed),
never something that turns up later.
"""

from __future__ import annotations

import datetime as dt

from services.intake.adapters.tables import (
    outcome_decisions,
    outcome_links,
    outcome_messages,
    outcome_resource_changes,
)
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.messaging.events import RejectedEvent, refuse_other_tenant
from shared.rules.domain import UK
from shared.rules.outcome_status import contribution_status


def _own_contribution(uow: IntakeUnitOfWork, tenant: str, contribution_id: str) -> None:
    owner = uow.outcomes.tenant_of_contribution(contribution_id)
    if owner is None:
        raise RejectedEvent("unknown contribution: intake never received it", tenant)
    refuse_other_tenant(owner, {"tenant": tenant}, "contribution")


def _refresh(uow: IntakeUnitOfWork, tenant: str, contribution_id: str, now: dt.datetime) -> str:
    """Recompute what the dashboard reads of one contribution, and its status; the status."""
    chain = uow.outcomes.chain(tenant, contribution_id)
    status = contribution_status(
        feedback_due=chain.feedback_due,
        outcomes=(link.outcome for link in chain.links),
        resource_statuses=chain.resource_statuses,
        messages=((m.kind, m.status) for m in chain.messages),
        today=now.astimezone(UK).date(),
    )
    uow.outcomes.store(tenant, contribution_id, chain, status, now=now)
    return status


def record_link(uow: IntakeUnitOfWork, tenant: str, data: dict, *, at: dt.datetime, now: dt.datetime) -> str:
    """contribution.linked: the decision, and its resource changes as they stood then."""
    contribution_id = data["contribution_id"]
    _own_contribution(uow, tenant, contribution_id)
    refuse_other_tenant(uow.outcomes.tenant_of(outcome_links, "link_id", data["link_id"]), {"tenant": tenant}, "link")
    _note_decision(uow, tenant, data, at)
    uow.outcomes.add_link(tenant, contribution_id, data["link_id"], data["decision_id"], at)
    for change in data["resource_changes"]:
        _note_resource_status(uow, tenant, data["decision_id"], change["resource_change_id"], change["status"], at)
    return _refresh(uow, tenant, contribution_id, now)


def record_unlink(uow: IntakeUnitOfWork, tenant: str, data: dict, *, at: dt.datetime, now: dt.datetime) -> str:
    contribution_id = data["contribution_id"]
    _own_contribution(uow, tenant, contribution_id)
    uow.outcomes.unlink(tenant, contribution_id, data["link_id"], at)
    return _refresh(uow, tenant, contribution_id, now)


def record_amendment(
    uow: IntakeUnitOfWork, tenant: str, data: dict, *, at: dt.datetime, now: dt.datetime
) -> str | None:
    """decision.amended: a newer version's outcome (an older one arriving late changes nothing)."""
    contribution_id = data["contribution_id"]
    if contribution_id is None:
        return None  # about a decision nothing is linked to yet: nothing of ours changes
    _own_contribution(uow, tenant, contribution_id)
    _note_decision(uow, tenant, data, at)
    return _refresh(uow, tenant, contribution_id, now)


def _note_decision(uow: IntakeUnitOfWork, tenant: str, data: dict, at: dt.datetime) -> None:
    """Every decisions event carries the decision as it stands: its outcome, by version."""
    owner = uow.outcomes.tenant_of(outcome_decisions, "decision_id", data["decision_id"])
    refuse_other_tenant(owner, {"tenant": tenant}, "decision")
    uow.outcomes.note_decision(tenant, data["decision_id"], data["outcome"], data["version"], at)


def _note_resource_status(
    uow: IntakeUnitOfWork, tenant: str, decision_id: str, change_id: str, status: str, at: dt.datetime
) -> None:
    owner = uow.outcomes.tenant_of(outcome_resource_changes, "resource_change_id", change_id)
    refuse_other_tenant(owner, {"tenant": tenant}, "resource change")
    uow.outcomes.note_resource_status(tenant, decision_id, change_id, status, at)


def record_resource_change(uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime) -> str | None:
    """resource.changed: its status as of `changed_at` (an older one arriving late is ignored)."""
    contribution_id = data["contribution_id"]
    if contribution_id is None:
        return None
    _own_contribution(uow, tenant, contribution_id)
    _note_decision(uow, tenant, data, data["changed_at"])
    _note_resource_status(
        uow, tenant, data["decision_id"], data["resource_change_id"], data["status"], data["changed_at"]
    )
    return _refresh(uow, tenant, contribution_id, now)


def record_message(uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime) -> str | None:
    """notification.<status>: a message to the participant about one of their contributions."""
    contribution_id = data["contribution_id"]
    if contribution_id is None:
        return None  # about the person, not a contribution
    _own_contribution(uow, tenant, contribution_id)
    owner = uow.outcomes.tenant_of(outcome_messages, "notification_id", data["notification_id"])
    refuse_other_tenant(owner, {"tenant": tenant}, "notification")
    uow.outcomes.note_message(
        tenant, contribution_id, data["notification_id"], data["kind"], data["status"], data["status_at"]
    )
    return _refresh(uow, tenant, contribution_id, now)


def record_rating(uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime) -> None:
    """outcome.rated: "Did this make a difference?" (the status page, or a reply by SMS)."""
    _own_contribution(uow, tenant, data["contribution_id"])
    uow.outcomes.note_rating(tenant, data["contribution_id"], data["rating"], data["rated_at"], now)


def record_overdue(uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime) -> str:
    """contribution.feedback_overdue: the feedback date passed with no decision."""
    _own_contribution(uow, tenant, data["contribution_id"])
    return _refresh(uow, tenant, data["contribution_id"], now)
