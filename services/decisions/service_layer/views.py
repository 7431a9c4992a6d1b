"""Read-side answers: the outcome chain, "you said, we did", and the overdue backlog."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from services.decisions.domain import model
from services.decisions.service_layer.unit_of_work import DecisionsUnitOfWork
from shared.constants import (
    CONTRIBUTION_FEEDBACK_OVERDUE,
    CONTRIBUTION_TYPES,
    DECISIONS_TOPIC,
    LINK_CONFIRMED,
    OUTCOME_MESSAGE_KINDS,
)
from shared.domain import NotFound


def _iso(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def told_outcome(message: dict) -> bool:
    """Delivered, and about what was decided: an acknowledgement does not close the loop."""
    return message["status"] == "delivered" and message["kind"] in OUTCOME_MESSAGE_KINDS


def _change_view(change: model.ResourceChange) -> dict:
    return {
        "id": change.id,
        "decision_id": change.decision_id,
        "kind": change.kind,
        "description": change.description,
        "amount": str(change.amount) if change.amount is not None else None,
        "currency": change.currency,
        "effective_from": _iso(change.effective_from),
        "status": change.status,
        "progress_percent": change.progress_percent,
        "history": [
            {"status": h.status, "note": h.note, "at": h.at.isoformat(), "progress_percent": h.progress_percent}
            for h in change.history
        ],
    }


def outcome_chain(uow: DecisionsUnitOfWork, tenant: str, contribution_id: str, *, today: dt.date) -> dict:
    with uow:
        contribution = uow.read.contribution(tenant, contribution_id)
        if contribution is None:
            raise NotFound("contribution")
        engagement = uow.read.engagement(tenant, contribution["engagement_id"])
        all_links = uow.links.all_for_contribution(tenant, contribution_id)
        decisions = uow.decisions.get_many(link.decision_id for link in all_links)
        versions = uow.decisions.versions_of(decisions)
        active = [link for link in all_links if link.unlinked_at is None and link.state == LINK_CONFIRMED]
        changes = uow.resource_changes.for_decisions(link.decision_id for link in active)
        messages = uow.read.messages_for(tenant, [contribution_id])
        rating = uow.read.ratings_for(tenant, [contribution_id]).get(contribution_id)
        text = uow.sealer.open(contribution["sealed_text"])

    status = model.derive_status(
        model.ChainFacts(
            feedback_due=engagement["feedback_due"] if engagement else None,
            outcomes=tuple(decisions[link.decision_id].outcome for link in active),
            resource_statuses=tuple(change.status for change in changes),
            feedback_delivered=any(told_outcome(m) for m in messages),
        ),
        today,
    )
    steps = [{"at": contribution["received_at"], "step": "received", "reference": contribution["reference"]}]
    for link in all_links:
        decision = decisions[link.decision_id]
        steps.append(
            {
                "at": link.linked_at,
                "step": "linked" if link.state == LINK_CONFIRMED else f"link_{link.state}",
                "decision_id": decision.id,
                "influence": link.influence,
            }
        )
        for version in versions.get(decision.id, [])[1:]:
            if version["recorded_at"] >= link.linked_at:
                steps.append(
                    {
                        "at": version["recorded_at"],
                        "step": "decision_amended",
                        "decision_id": decision.id,
                        "version": version["version"],
                        "reason": version["reason"],
                    }
                )
        if link.unlinked_at:
            steps.append(
                {"at": link.unlinked_at, "step": "unlinked", "decision_id": decision.id, "reason": link.unlink_reason}
            )
    for change in changes:
        for entry in change.history:
            steps.append(
                {
                    "at": entry.at,
                    "step": "resource_status",
                    "resource_change_id": change.id,
                    "status": entry.status,
                    "note": entry.note,
                }
            )
    for message in messages:
        steps.append(
            {
                "at": message["status_at"],
                "step": f"message_{message['status']}",
                "notification_id": message["notification_id"],
                "kind": message["kind"],
                "channel": message["channel"],
            }
        )
    if rating:
        steps.append({"at": rating["rated_at"], "step": "rated", "rating": rating["rating"]})
    steps.sort(key=lambda step: step["at"])

    return {
        "contribution": {
            "id": contribution["id"],
            "reference": contribution["reference"],
            "engagement_id": contribution["engagement_id"],
            "engagement_title": engagement["title"] if engagement else None,
            "feedback_due": _iso(engagement["feedback_due"]) if engagement else None,
            "type": contribution["type"],
            "text": text,
            "on_behalf_of": contribution["on_behalf_of"],
            "channel": contribution["channel"],
            "received_at": _iso(contribution["received_at"]),
        },
        "status": status,
        "decisions": [
            {
                "id": decisions[link.decision_id].id,
                "title": decisions[link.decision_id].title,
                "outcome": decisions[link.decision_id].outcome,
                "rationale": decisions[link.decision_id].rationale,
                "decided_on": _iso(decisions[link.decision_id].decided_on),
                "scope_limit": decisions[link.decision_id].scope_limit,
                "revisit_on": _iso(decisions[link.decision_id].revisit_on),
                "version": decisions[link.decision_id].version,
                "influence": link.influence,
                "link_state": link.state,
                "linked_at": _iso(link.linked_at),
                "unlinked_at": _iso(link.unlinked_at),
                "unlink_reason": link.unlink_reason,
            }
            for link in all_links
        ],
        "resource_changes": [_change_view(change) for change in changes],
        "messages": [
            {k: _iso(message[k]) for k in ("notification_id", "kind", "channel", "status", "status_at", "reason")}
            for message in messages
        ],
        "rating": {"rating": rating["rating"], "rated_at": _iso(rating["rated_at"])} if rating else None,
        "steps": [{k: _iso(v) for k, v in step.items()} for step in steps],
    }


def you_said_we_did(uow: DecisionsUnitOfWork, tenant: str, engagement_id: str) -> dict:
    with uow:
        engagement = uow.read.engagement(tenant, engagement_id)
        if engagement is None:
            raise NotFound("engagement")
        contributions = uow.read.contributions_of_engagement(tenant, engagement_id)
        ids = [c["id"] for c in contributions]
        decisions = uow.decisions.for_engagement(tenant, engagement_id)
        links_by_decision = {d.id: uow.links.active_for_decision(d.id) for d in decisions}
        changes = uow.resource_changes.for_decisions(d.id for d in decisions)
        delivered = {m["contribution_id"] for m in uow.read.messages_for(tenant, ids) if told_outcome(m)}
        ratings = uow.read.ratings_for(tenant, ids)

    contribution_ids = set(ids)
    decided = {
        link.contribution_id
        for decision in decisions
        if decision.outcome in model.FINAL_OUTCOMES
        for link in links_by_decision[decision.id]
        if link.state == LINK_CONFIRMED and link.contribution_id in contribution_ids
    }
    by_type = Counter(c["type"] for c in contributions)
    total = len(contributions)
    rating_counts = Counter(r["rating"] for r in ratings.values())
    return {
        "engagement": {
            "id": engagement["id"],
            "title": engagement["title"],
            "service_area": engagement["service_area"],
            "description": engagement["description"],
            "can_change": engagement["can_change"],
            "cannot_change": engagement["cannot_change"],
            "decision_maker": engagement["decision_maker"],
            "feedback_due": _iso(engagement["feedback_due"]),
        },
        "you_said": {
            "contributions": total,
            "people_represented": sum(c["on_behalf_of"] for c in contributions),
            "by_type": {kind: by_type.get(kind, 0) for kind in CONTRIBUTION_TYPES},
        },
        "we_did": [
            {
                "decision_id": decision.id,
                "title": decision.title,
                "outcome": decision.outcome,
                "rationale": decision.rationale,
                "decided_on": _iso(decision.decided_on),
                "contributions_linked": sum(
                    1 for link in links_by_decision[decision.id] if link.contribution_id in contribution_ids
                ),
                "resource_changes": [_change_view(c) for c in changes if c.decision_id == decision.id],
            }
            for decision in decisions
        ],
        "closing_the_loop": {
            "share_with_decision": round(len(decided) / total, 3) if total else None,
            "share_with_feedback_delivered": round(len(delivered & contribution_ids) / total, 3) if total else None,
            "ratings": {r: rating_counts.get(r, 0) for r in ("yes", "partly", "no")},
        },
    }


CSV_COLUMNS = (
    "item",
    "title",
    "outcome_or_status",
    "date",
    "contributions_linked",
    "rationale_or_note",
    "amount",
    "currency",
)


def _cell(value) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: neutralise them."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def you_said_we_did_rows(report: dict) -> list[dict]:
    """One row per decision and per resource change, for `Accept: text/csv`."""
    return [{k: _cell(v) for k, v in row.items()} for row in _rows(report)]


def _rows(report: dict) -> list[dict]:
    rows = []
    for decision in report["we_did"]:
        rows.append(
            {
                "item": "decision",
                "title": decision["title"],
                "outcome_or_status": decision["outcome"],
                "date": decision["decided_on"],
                "contributions_linked": decision["contributions_linked"],
                "rationale_or_note": decision["rationale"] or "",
                "amount": "",
                "currency": "",
            }
        )
        for change in decision["resource_changes"]:
            last = change["history"][-1] if change["history"] else {}
            rows.append(
                {
                    "item": f"resource_change:{change['kind']}",
                    "title": change["description"],
                    "outcome_or_status": change["status"],
                    "date": (last.get("at") or "")[:10],
                    "contributions_linked": "",
                    "rationale_or_note": last.get("note") or "",
                    "amount": change["amount"] or "",
                    "currency": change["currency"] or "",
                }
            )
    return rows


def overdue(uow: DecisionsUnitOfWork, tenant: str, *, today: dt.date) -> list[dict]:
    with uow:
        candidates = uow.read.overdue_candidates(today, tenant)
        noticed = uow.read.already_noticed([c["id"] for c in candidates])
    return [
        {
            "contribution_id": c["id"],
            "reference": c["reference"],
            "engagement_id": c["engagement_id"],
            "engagement_title": c["engagement_title"],
            "feedback_due": _iso(c["feedback_due"]),
            "days_overdue": (today - c["feedback_due"]).days,
            "participant_told": c["id"] in noticed,
        }
        for c in candidates
    ]


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
                data={
                    "contribution_id": c["id"],
                    "participant_id": c["participant_id"],
                    "reference": c["reference"],
                    "engagement_id": c["engagement_id"],
                    "engagement_title": c["engagement_title"],
                    "feedback_due": _iso(c["feedback_due"]),
                },
            )
        uow.commit()
    return len(fresh)
