"""The decisions service's use cases: boards record decisions, link the contributions that
shaped them and the resource changes that follow, and every step is announced."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from services.decisions.domain import model
from services.decisions.service_layer.unit_of_work import DecisionsUnitOfWork
from shared.messaging.event_definitions import EVENTS, announce_rating
from shared.rules.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_LINKED,
    CONTRIBUTION_UNLINKED,
    DECISION_AMENDED,
    DECISION_RECORDED,
    DECISIONS_TOPIC,
    LINK_CONFIRMED,
    LINK_PENDING,
    RATING_BY_WEB,
    RESOURCE_CHANGED,
)
from shared.rules.domain import InvalidInput, NotFound, required

MAX_CHANGES_TOLD = 20


@dataclass(frozen=True)
class Actor:
    tenant: str
    key_id: str


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def decision_summary(decision: model.Decision) -> dict:
    return {
        "decision_id": decision.id,
        "board_id": decision.board_id,
        "version": decision.version,
        **{k: _json(v) for k, v in decision.snapshot().items()},
    }


# Boards -------------------------------------------------------------------------------


def create_board(uow: DecisionsUnitOfWork, tenant: str, data: dict, *, now: dt.datetime) -> model.Board:
    board = model.Board(id=str(uuid.uuid4()), tenant=tenant, created_at=now, **data)
    with uow:
        uow.boards.add(board)
        uow.commit()
    return board


def list_boards(uow: DecisionsUnitOfWork, tenant: str) -> list[model.Board]:
    with uow:
        return uow.boards.list(tenant)


def get_board(uow: DecisionsUnitOfWork, tenant: str, board_id: str) -> model.Board:
    with uow:
        return required(uow.boards.get(tenant, board_id), "board")


# Decisions ----------------------------------------------------------------------------


def _engagement_limits(uow: DecisionsUnitOfWork, tenant: str, engagement_id: str | None) -> list[str] | None:
    """The engagement's cannot_change items; None if the read model has not seen it yet.
    Another tenant's engagement is refused exactly like an id that does not exist."""
    if engagement_id is None:
        return None
    engagement = uow.read.engagement(tenant, engagement_id)
    if engagement is not None:
        return engagement["cannot_change"]
    if uow.read.tenant_of_engagement(engagement_id) is not None:
        raise InvalidInput.on("engagement_id", "Unknown engagement.")
    return None


def record_decision(
    uow: DecisionsUnitOfWork, actor: Actor, data: dict, *, now: dt.datetime, source: str
) -> tuple[model.Decision, list[model.Link], list[model.ResourceChange]]:
    link_items = data.pop("links", [])
    change_items = data.pop("resource_changes", [])
    with uow:
        if uow.boards.get(actor.tenant, data["board_id"]) is None:
            raise InvalidInput.on("board_id", "Unknown board.")
        decision = model.Decision(id=str(uuid.uuid4()), tenant=actor.tenant, created_at=now, updated_at=now, **data)
        decision.check(_engagement_limits(uow, actor.tenant, decision.engagement_id))
        uow.decisions.add(decision, actor.key_id)
        uow.announce(
            DECISIONS_TOPIC,
            type=DECISION_RECORDED,
            source=source,
            tenant=actor.tenant,
            subject=decision.id,
            time=now,
            data=EVENTS[DECISION_RECORDED].build(**decision_summary(decision)),
        )
        # Changes first, so each contribution.linked can tell the participant what changes.
        changes = []
        for index, item in enumerate(change_items):
            try:
                changes.append(_add_resource_change(uow, actor, decision, item, now=now, source=source))
            except InvalidInput as invalid:
                raise InvalidInput({f"resource_changes[{index}].{k}": v for k, v in invalid.errors.items()}) from None
        new_links = _link(uow, actor, decision, link_items, now=now, source=source, field="links", new=True)
        uow.commit()
    return decision, new_links, changes


def get_decision(
    uow: DecisionsUnitOfWork, tenant: str, decision_id: str
) -> tuple[model.Decision, list[model.Link], list[model.ResourceChange], list[dict]]:
    with uow:
        decision = required(uow.decisions.get(tenant, decision_id), "decision")
        return (
            decision,
            uow.links.active_for_decision(decision.id),
            uow.resource_changes.for_decisions([decision.id]),
            uow.decisions.versions(decision.id),
        )


def list_decisions(uow: DecisionsUnitOfWork, tenant: str, *, board_id, engagement_id, page: int, per_page: int):
    with uow:
        return uow.decisions.list(
            tenant, board_id=board_id, engagement_id=engagement_id, offset=(page - 1) * per_page, limit=per_page
        )


def amend_decision(
    uow: DecisionsUnitOfWork,
    actor: Actor,
    decision_id: str,
    changes: dict,
    reason: str,
    *,
    now: dt.datetime,
    source: str,
) -> model.Decision:
    with uow:
        decision = required(uow.decisions.get(actor.tenant, decision_id, for_update=True), "decision")
        changed = decision.amend(changes, now)
        decision.check(_engagement_limits(uow, actor.tenant, decision.engagement_id))
        uow.decisions.save_amendment(decision, reason, actor.key_id)
        data = {
            **decision_summary(decision),
            "changes": {k: [_json(a), _json(b)] for k, (a, b) in changed.items()},
            "sealed_reason": uow.sealer.seal(reason),
        }
        _announce_to_each_linked(uow, decision, DECISION_AMENDED, data, now=now, source=source)
        uow.commit()
    return decision


def _announce_to_each_linked(
    uow: DecisionsUnitOfWork, decision: model.Decision, type_: str, data: dict, *, now: dt.datetime, source: str
) -> None:
    """One event per confirmed linked contribution, keyed by it, so each contribution's
    story stays in order; one keyed by the decision when nothing is linked yet."""
    confirmed = [link for link in uow.links.active_for_decision(decision.id) if link.state == LINK_CONFIRMED]
    known = uow.read.contributions(link.contribution_id for link in confirmed)
    for link in confirmed:
        contribution = known.get(link.contribution_id, {})
        uow.announce(
            DECISIONS_TOPIC,
            type=type_,
            source=source,
            tenant=decision.tenant,
            subject=link.contribution_id,
            time=now,
            data=EVENTS[type_].build(
                **data, contribution_id=link.contribution_id, participant_id=contribution.get("participant_id")
            ),
        )
    if not confirmed:
        uow.announce(
            DECISIONS_TOPIC,
            type=type_,
            source=source,
            tenant=decision.tenant,
            subject=decision.id,
            time=now,
            data=EVENTS[type_].build(**data, contribution_id=None),
        )


# Links --------------------------------------------------------------------------------


def _link(
    uow: DecisionsUnitOfWork,
    actor: Actor,
    decision: model.Decision,
    items: list[dict],
    *,
    now: dt.datetime,
    source: str,
    field: str | None,
    new: bool = False,
) -> list[model.Link]:
    """`field` names the list the items came in (None for a single link sent on its own);
    `new`: the decision was recorded in this unit of work, so nothing is linked to it yet."""
    ids = [item["contribution_id"] for item in items]

    def named(index: int) -> str:
        return f"{field}[{index}].contribution_id" if field else "contribution_id"

    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, contribution_id in enumerate(ids):
        if contribution_id in seen:
            errors[named(index)] = ["Listed twice."]
        seen.add(contribution_id)
    for contribution_id in set() if new else uow.links.active_contribution_ids(decision.id, ids):
        errors[named(ids.index(contribution_id))] = ["Already linked to this decision."]
    if errors:
        raise InvalidInput(errors)
    # Another council's contribution is treated exactly like one not seen yet: a pending
    # link, the same answer, so no id of theirs can be confirmed. Pending links are only
    # ever confirmed by a contribution of their own tenant (confirm_pending_links).
    known = {cid: row for cid, row in uow.read.contributions(ids).items() if row["tenant"] == actor.tenant}
    new_links = [
        model.Link(
            id=str(uuid.uuid4()),
            tenant=actor.tenant,
            decision_id=decision.id,
            contribution_id=item["contribution_id"],
            influence=item["influence"],
            state=LINK_CONFIRMED if item["contribution_id"] in known else LINK_PENDING,
            linked_at=now,
            confirmed_at=now if item["contribution_id"] in known else None,
        )
        for item in items
    ]
    uow.links.add_many(new_links)
    changes = _changes_summary(uow, decision.id)
    confirmed = [(link, known[link.contribution_id]) for link in new_links if link.state == LINK_CONFIRMED]
    _announce_links(uow, decision, confirmed, changes, now=now, source=source)
    return new_links


def _changes_summary(uow: DecisionsUnitOfWork, decision_id: str) -> list[dict]:
    """What the decision changes, as it stands: told to each participant it is linked to."""
    changes = uow.resource_changes.for_decisions([decision_id])
    # Bounded, so one event per linked contribution stays small whatever the decision holds.
    return [
        {"resource_change_id": c.id, "kind": c.kind, "description": c.description[:300], "status": c.status}
        for c in changes[:MAX_CHANGES_TOLD]
    ]


def _announce_links(
    uow: DecisionsUnitOfWork,
    decision: model.Decision,
    linked: list[tuple[model.Link, dict]],
    changes: list[dict],
    *,
    now: dt.datetime,
    source: str,
) -> None:
    """One contribution.linked for each (link, its contribution); what the events share (the
    decision and its changes) is built and checked once."""
    shared = {**decision_summary(decision), "resource_changes": changes}
    each = (
        {
            "link_id": link.id,
            "contribution_id": link.contribution_id,
            "participant_id": contribution["participant_id"],
            "reference": contribution["reference"],
            "engagement_id": contribution["engagement_id"],
            # What the board wrote about one person's words could identify them: sealed.
            "sealed_influence": uow.sealer.seal(link.influence),
        }
        for link, contribution in linked
    )
    for data in EVENTS[CONTRIBUTION_LINKED].build_each(shared, each):
        uow.announce(
            DECISIONS_TOPIC,
            type=CONTRIBUTION_LINKED,
            source=source,
            tenant=decision.tenant,
            subject=data["contribution_id"],
            time=now,
            data=data,
        )


def link_contributions(
    uow: DecisionsUnitOfWork,
    actor: Actor,
    decision_id: str,
    items: list[dict],
    *,
    now: dt.datetime,
    source: str,
    as_list: bool = True,
) -> list[model.Link]:
    with uow:
        decision = required(uow.decisions.get(actor.tenant, decision_id, for_update=True), "decision")
        new_links = _link(uow, actor, decision, items, now=now, source=source, field="links" if as_list else None)
        uow.commit()
    return new_links


def unlink_contribution(
    uow: DecisionsUnitOfWork,
    actor: Actor,
    decision_id: str,
    contribution_id: str,
    reason: str,
    *,
    now: dt.datetime,
    source: str,
) -> model.Link:
    with uow:
        decision = required(uow.decisions.get(actor.tenant, decision_id), "decision")
        link = required(uow.links.find_active(actor.tenant, decision_id, contribution_id), "link")
        link.unlinked_at, link.unlink_reason = now, reason
        uow.links.save_state(link)
        if link.state == LINK_CONFIRMED:
            contribution = uow.read.contribution(actor.tenant, contribution_id) or {}
            uow.announce(
                DECISIONS_TOPIC,
                type=CONTRIBUTION_UNLINKED,
                source=source,
                tenant=actor.tenant,
                subject=contribution_id,
                time=now,
                data=EVENTS[CONTRIBUTION_UNLINKED].build(
                    link_id=link.id,
                    contribution_id=contribution_id,
                    participant_id=contribution.get("participant_id"),
                    sealed_reason=uow.sealer.seal(reason),
                    **decision_summary(decision),
                ),
            )
        uow.commit()
    return link


def confirm_pending_links(
    uow: DecisionsUnitOfWork, tenant: str, contribution: dict, *, now: dt.datetime, source: str
) -> int:
    """The contribution's event has arrived: its pending links become real, and are announced."""
    pending = uow.links.pending_for_contribution(tenant, contribution["id"])
    decisions = uow.decisions.get_many(link.decision_id for link in pending)
    for link in pending:
        link.confirm(now)
        uow.links.save_state(link)
        changes = _changes_summary(uow, link.decision_id)
        _announce_links(uow, decisions[link.decision_id], [(link, contribution)], changes, now=now, source=source)
    return len(pending)


def resolve_links(uow: DecisionsUnitOfWork, *, older_than: dt.timedelta, now: dt.datetime, source: str) -> int:
    """Confirm pending links whose contribution is known after all (a link and its
    contribution's event can cross on PostgreSQL), then flag the rest that waited too long."""
    with uow:
        confirmed = 0
        for tenant, contribution_id in uow.links.waiting_on_known_contributions():
            confirmed += confirm_pending_links(
                uow, tenant, uow.read.contribution(tenant, contribution_id), now=now, source=source
            )
        stale = uow.links.flag_unresolved(now - older_than)
        uow.commit()
    return confirmed + len(stale)


# Resource changes ---------------------------------------------------------------------


def _resource_event(
    uow: DecisionsUnitOfWork, change: model.ResourceChange, entry: model.StatusChange, previous_status: str | None
) -> dict:
    return {
        "resource_change_id": change.id,
        "kind": change.kind,
        "description": change.description,
        "amount": _json(change.amount),
        "currency": change.currency,
        "effective_from": _json(change.effective_from),
        "status": change.status,
        "previous_status": previous_status,
        "progress_percent": change.progress_percent,
        "sealed_note": uow.sealer.seal(entry.note) if entry.note else None,
        "changed_at": entry.at.isoformat(),
    }


def _add_resource_change(
    uow: DecisionsUnitOfWork, actor: Actor, decision: model.Decision, data: dict, *, now: dt.datetime, source: str
) -> model.ResourceChange:
    change = model.ResourceChange(
        id=str(uuid.uuid4()), tenant=actor.tenant, decision_id=decision.id, status="planned", created_at=now, **data
    )
    change.check_money()
    entry = model.StatusChange(status="planned", note=None, at=now, progress_percent=change.progress_percent)
    change.history.append(entry)
    uow.resource_changes.add(change)
    _announce_to_each_linked(
        uow,
        decision,
        RESOURCE_CHANGED,
        {**decision_summary(decision), **_resource_event(uow, change, entry, None)},
        now=now,
        source=source,
    )
    return change


def add_resource_change(
    uow: DecisionsUnitOfWork, actor: Actor, decision_id: str, data: dict, *, now: dt.datetime, source: str
) -> model.ResourceChange:
    with uow:
        decision = required(uow.decisions.get(actor.tenant, decision_id), "decision")
        change = _add_resource_change(uow, actor, decision, data, now=now, source=source)
        uow.commit()
    return change


def get_resource_change(uow: DecisionsUnitOfWork, tenant: str, change_id: str) -> model.ResourceChange:
    with uow:
        return required(uow.resource_changes.get(tenant, change_id), "resource change")


def move_resource_change(
    uow: DecisionsUnitOfWork,
    actor: Actor,
    change_id: str,
    *,
    status: str | None,
    note: str | None,
    progress_percent: int | None,
    now: dt.datetime,
    source: str,
) -> model.ResourceChange:
    with uow:
        change = required(uow.resource_changes.get(actor.tenant, change_id, for_update=True), "resource change")
        previous = change.status
        entry = change.move(status, note, progress_percent, now)
        uow.resource_changes.save_move(change, entry)
        decision = uow.decisions.get(actor.tenant, change.decision_id)
        _announce_to_each_linked(
            uow,
            decision,
            RESOURCE_CHANGED,
            {**decision_summary(decision), **_resource_event(uow, change, entry, previous)},
            now=now,
            source=source,
        )
        uow.commit()
    return change


# Ratings ------------------------------------------------------------------------------


def keep_rating(uow: DecisionsUnitOfWork, tenant: str, rating: dict) -> bool:
    """Store a participant's answer; a later answer replaces an earlier one, whichever
    channel it came by and whatever order the events arrive in. False if it was older."""
    known = uow.read.ratings_for(tenant, [rating["contribution_id"]]).get(rating["contribution_id"])
    if known is not None and known["rated_at"] > rating["rated_at"]:
        return False
    uow.read.save_rating({"sealed_comment": None, **rating, "tenant": tenant})
    return True


def rate_contribution(
    uow: DecisionsUnitOfWork,
    tenant: str,
    participant_id: str,
    contribution_id: str,
    rating: str,
    comment: str | None,
    *,
    now: dt.datetime,
    source: str,
) -> None:
    """The participant answers "Did this make a difference?" on their status page.

    Only their own contribution, and only once a decision is recorded on it: anything else
    is NotFound, exactly like an unknown id. The comment is stored sealed and never
    announced; `outcome.rated` carries the answer alone.
    """
    with uow:
        contribution = uow.read.contribution(tenant, contribution_id)
        if contribution is None or contribution["participant_id"] != participant_id or contribution["erased_at"]:
            raise NotFound("contribution")
        active = [
            link
            for link in uow.links.all_for_contribution(tenant, contribution_id)
            if link.unlinked_at is None and link.state == LINK_CONFIRMED
        ]
        decided = uow.decisions.get_many(link.decision_id for link in active)
        if not any(decision.outcome in model.FINAL_OUTCOMES for decision in decided.values()):
            raise InvalidInput.on("contribution", "There is no decision on this yet.")
        keep_rating(
            uow,
            tenant,
            {
                "contribution_id": contribution_id,
                "participant_id": participant_id,
                "rating": rating,
                "rated_at": now,
                "channel": RATING_BY_WEB,
                "sealed_comment": uow.sealer.seal_optional(comment or None),
            },
        )
        announce_rating(
            uow,
            DECISIONS_TOPIC,
            source=source,
            tenant=tenant,
            contribution_id=contribution_id,
            participant_id=participant_id,
            rating=rating,
            channel=RATING_BY_WEB,
            now=now,
        )
        uow.commit()


OVERDUE_BATCH = 500  # the scheduled check runs again at once while it finds work


def announce_overdue(uow: DecisionsUnitOfWork, *, today: dt.date, now: dt.datetime, source: str) -> int:
    """Announce contribution.feedback_overdue once per contribution whose date has passed."""
    with uow:
        fresh = uow.read.overdue_candidates(today, not_yet_noticed=True, limit=OVERDUE_BATCH)
        for c in fresh:
            uow.read.record_notice(c["tenant"], c["id"], now)
            uow.announce(
                DECISIONS_TOPIC,
                type=CONTRIBUTION_FEEDBACK_OVERDUE,
                source=source,
                tenant=c["tenant"],
                subject=c["id"],
                time=now,
                data=EVENTS[CONTRIBUTION_FEEDBACK_OVERDUE].build(
                    contribution_id=c["id"],
                    participant_id=c["participant_id"],
                    reference=c["reference"],
                    engagement_id=c["engagement_id"],
                    engagement_title=c["engagement_title"],
                    feedback_due=c["feedback_due"],
                ),
            )
        uow.commit()
    return len(fresh)
