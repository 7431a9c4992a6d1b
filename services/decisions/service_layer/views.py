"""Read-side answers: the outcome chain, "you said, we did", and the overdue backlog.

They only read: what announces or writes is a use case in services.py."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from services.decisions.domain import model
from services.decisions.service_layer.unit_of_work import DecisionsUnitOfWork
from shared.rules import disclosure, outcome_status
from shared.rules.constants import (
    CONTRIBUTION_TYPES,
    LINK_CONFIRMED,
    RATINGS,
)
from shared.rules.domain import UK, NotFound


def _iso(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def told_outcome(message: dict) -> bool:
    """Delivered, and about what was decided: an acknowledgement does not close the loop."""
    return outcome_status.told_outcome(message["kind"], message["status"])


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


@dataclass
class _Chain:
    """What the outcome chain of one contribution is made from, read in one unit of work."""

    contribution: dict
    engagement: dict | None
    all_links: list
    decisions: dict
    versions: dict
    active: list
    changes: list
    messages: list
    rating: dict | None
    text: str
    comment: str | None


def _read_chain(uow: DecisionsUnitOfWork, tenant: str, contribution_id: str) -> _Chain:
    with uow:
        found = uow.read.contribution_in_context(tenant, contribution_id)
        if found is None:
            raise NotFound("contribution")
        contribution, engagement, rating = found
        all_links, decisions = uow.links.all_for_contribution_with_decisions(tenant, contribution_id)
        # Only an amended decision has versions the steps show (the first is the decision itself).
        versions = uow.decisions.versions_of(d.id for d in decisions.values() if d.version > 1)
        active = [link for link in all_links if link.unlinked_at is None and link.state == LINK_CONFIRMED]
        changes = uow.resource_changes.for_decisions(link.decision_id for link in active)
        messages = uow.read.messages_for(tenant, [contribution_id])
        text = uow.sealer.open(contribution["sealed_text"])
        comment = (
            uow.sealer.open_bytes(rating["sealed_comment"]).decode() if rating and rating["sealed_comment"] else None
        )

    return _Chain(
        contribution, engagement, all_links, decisions, versions, active, changes, messages, rating, text, comment
    )


def _steps(c: _Chain) -> list[dict]:
    """Everything that happened to the contribution, oldest first."""
    contribution, all_links, decisions, versions = c.contribution, c.all_links, c.decisions, c.versions
    changes, messages, rating = c.changes, c.messages, c.rating
    steps = [{"at": contribution["received_at"], "step": "received", "reference": contribution["reference"]}]
    if contribution["erased_at"]:  # the text already reads ERASED_TEXT
        steps.append({"at": contribution["erased_at"], "step": "participant_erased"})
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
    return steps


def _decision_view(decision, link) -> dict:
    return {
        "id": decision.id,
        "title": decision.title,
        "outcome": decision.outcome,
        "rationale": decision.rationale,
        "decided_on": _iso(decision.decided_on),
        "scope_limit": decision.scope_limit,
        "revisit_on": _iso(decision.revisit_on),
        "version": decision.version,
        "influence": link.influence,
        "link_state": link.state,
        "linked_at": _iso(link.linked_at),
        "unlinked_at": _iso(link.unlinked_at),
        "unlink_reason": link.unlink_reason,
    }


def outcome_chain(uow: DecisionsUnitOfWork, tenant: str, contribution_id: str, *, today: dt.date) -> dict:
    c = _read_chain(uow, tenant, contribution_id)
    contribution, engagement, decisions, rating = c.contribution, c.engagement, c.decisions, c.rating
    status = outcome_status.contribution_status(
        feedback_due=engagement["feedback_due"] if engagement else None,
        outcomes=(decisions[link.decision_id].outcome for link in c.active),
        resource_statuses=(change.status for change in c.changes),
        messages=((m["kind"], m["status"]) for m in c.messages),
        today=today,
    )
    return {
        "contribution": {
            "id": contribution["id"],
            "reference": contribution["reference"],
            "engagement_id": contribution["engagement_id"],
            "engagement_title": engagement["title"] if engagement else None,
            "feedback_due": _iso(engagement["feedback_due"]) if engagement else None,
            "type": contribution["type"],
            "text": c.text,
            "participant_erased": contribution["erased_at"] is not None,
            "on_behalf_of": contribution["on_behalf_of"],
            "channel": contribution["channel"],
            "received_at": _iso(contribution["received_at"]),
        },
        "status": status,
        "decisions": [_decision_view(decisions[link.decision_id], link) for link in c.all_links],
        "resource_changes": [_change_view(change) for change in c.changes],
        "messages": [
            {k: _iso(message[k]) for k in ("notification_id", "kind", "channel", "status", "status_at", "reason")}
            for message in c.messages
        ],
        "rating": {
            "rating": rating["rating"],
            "rated_at": _iso(rating["rated_at"]),
            "channel": rating["channel"],
            "comment": c.comment,
        }
        if rating
        else None,
        "steps": [{k: _iso(v) for k, v in step.items()} for step in _steps(c)],
    }


def participant_status(uow: DecisionsUnitOfWork, tenant: str, participant_id: str, *, today: dt.date) -> dict:
    """Everything a participant may see on their status page: the chain of each of their
    contributions, newest first; nothing at all once they have been erased."""
    with uow:
        if uow.read.erased_at(tenant, participant_id) is not None:
            return {"erased": True, "chains": []}
        contributions = uow.read.contributions_of_participant(tenant, participant_id)
        chains = [outcome_chain(uow, tenant, c["id"], today=today) for c in contributions]
    return {"erased": False, "chains": chains}


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
                "description": decision.description,
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
            "ratings": {r: rating_counts.get(r, 0) for r in RATINGS},
        },
    }


def public_you_said_we_did(uow: DecisionsUnitOfWork, engagement_id: str) -> dict:
    """The engagement's "you said, we did" for anyone to read: counts only, small ones
    hidden (shared.rules.disclosure), and nothing anyone wrote about a person (no contribution
    text, no influence, no progress notes)."""
    with uow:
        tenant = uow.read.tenant_of_engagement(engagement_id)
        if tenant is None:
            raise NotFound("engagement")
        report = you_said_we_did(uow, tenant, engagement_id)
    said = report["you_said"]
    contributions, by_type = disclosure.breakdown(said["by_type"], said["contributions"])
    ratings = report["closing_the_loop"]["ratings"]
    rated, answers = disclosure.breakdown(ratings, sum(ratings.values()))
    return {
        "tenant": tenant,
        "engagement": report["engagement"],
        "you_said": {
            "contributions": contributions,
            "people_represented": disclosure.count(said["people_represented"]),
            "by_type": by_type,
        },
        "we_did": [
            {
                **{k: decision[k] for k in ("title", "description", "outcome", "rationale", "decided_on")},
                "resource_changes": [_public_change(change) for change in decision["resource_changes"]],
            }
            for decision in report["we_did"]
        ],
        "rated": {"total": rated, "answers": answers},
    }


def _public_change(change: dict) -> dict:
    return {
        **{
            k: change[k]
            for k in ("kind", "description", "amount", "currency", "effective_from", "status", "progress_percent")
        },
        # Each step's date, never its note: what a board writes about progress may name someone.
        "history": [
            {"status": h["status"], "on": dt.datetime.fromisoformat(h["at"]).astimezone(UK).date().isoformat()}
            for h in change["history"]
        ],
    }


def public_engagements(uow: DecisionsUnitOfWork, tenant: str) -> list[dict]:
    """The council's engagements that have decisions, for its public "you said, we did" index."""
    with uow:
        return [
            {k: engagement[k] for k in ("id", "title", "service_area", "feedback_due")}
            for engagement in uow.read.engagements_with_decisions(tenant)
        ]


# Choosing contributions on the board page ------------------------------------------------

SEARCH_SCAN_MAX = 2_000  # an engagement's newest contributions opened per search, at most
SEARCH_RESULTS_MAX = 50


def engagements_to_choose(uow: DecisionsUnitOfWork, tenant: str) -> list[dict]:
    with uow:
        return [{"id": e["id"], "title": e["title"]} for e in uow.read.engagements_of(tenant)]


def _for_display(uow: DecisionsUnitOfWork, row: dict) -> dict:
    return {
        "id": row["id"],
        "reference": row["reference"],
        "engagement_id": row["engagement_id"],
        "type": row["type"],
        "on_behalf_of": row["on_behalf_of"],
        "received_at": row["received_at"],
        "erased": row["erased_at"] is not None,
        "text": uow.sealer.open(row["sealed_text"]),
    }


def search_contributions(
    uow: DecisionsUnitOfWork, tenant: str, *, engagement_id: str, type_: str | None, words: str
) -> tuple[list[dict], bool]:
    """(matches, whether there were more than shown) among one engagement's contributions.

    The words are sealed at rest, so they are searched here, after opening, and only over
    one engagement's newest SEARCH_SCAN_MAX: every word given must appear, in any case."""
    wanted = words.casefold().split()
    with uow:
        rows = uow.read.latest_contributions(tenant, engagement_id, type_, SEARCH_SCAN_MAX)
        found = []
        for row in rows:
            shown = _for_display(uow, row)
            if all(word in shown["text"].casefold() for word in wanted):
                found.append(shown)
                if len(found) > SEARCH_RESULTS_MAX:
                    break
    return found[:SEARCH_RESULTS_MAX], len(found) > SEARCH_RESULTS_MAX


def contributions_for_display(uow: DecisionsUnitOfWork, tenant: str, ids: list[str]) -> dict[str, dict]:
    """{id: what the board sees of it} for those of `ids` that are this tenant's."""
    with uow:
        known = uow.read.contributions(ids)
        return {cid: _for_display(uow, row) for cid, row in known.items() if row["tenant"] == tenant}


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


def overdue_counts(uow: DecisionsUnitOfWork, *, today: dt.date) -> dict[str, int]:
    """{tenant: contributions past their feedback date with no decision}, for the operator."""
    with uow:
        return uow.read.count_overdue(today)


# Exports -------------------------------------------------------------------------------

CHAIN_CSV_COLUMNS = (
    "reference",
    "contribution_id",
    "engagement_id",
    "engagement_title",
    "type",
    "channel",
    "on_behalf_of",
    "received_at",
    "feedback_due",
    "status",
    "text",
    "decision_id",
    "decision_title",
    "outcome",
    "decided_on",
    "rationale",
    "influence",
    "link_state",
    "resource_changes",
    "messages_delivered",
    "rating",
)


def outcome_chains(uow_factory, tenant: str, engagement_id: str | None, *, today: dt.date) -> Iterator[dict]:
    """Every chain of the tenant's contributions (or one engagement's), read one at a time;
    an unknown engagement is NotFound at once, before anything is read."""
    with uow_factory() as uow:
        if engagement_id and uow.read.engagement(tenant, engagement_id) is None:
            raise NotFound("engagement")
        ids = uow.read.contribution_ids(tenant, engagement_id)
    return (outcome_chain(uow_factory(), tenant, contribution_id, today=today) for contribution_id in ids)


def outcome_chain_rows(chain: dict) -> list[dict]:
    """One row per contribution-decision link (one row with the decision cells empty when
    nothing is linked yet), safe to open in a spreadsheet."""
    contribution = chain["contribution"]
    changes = "; ".join(f"{c['kind']}: {c['description']} ({c['status']})" for c in chain["resource_changes"])
    common = {
        "reference": contribution["reference"],
        "contribution_id": contribution["id"],
        "engagement_id": contribution["engagement_id"],
        "engagement_title": contribution["engagement_title"],
        "type": contribution["type"],
        "channel": contribution["channel"],
        "on_behalf_of": contribution["on_behalf_of"],
        "received_at": contribution["received_at"],
        "feedback_due": contribution["feedback_due"],
        "status": chain["status"],
        "text": contribution["text"],
        "resource_changes": changes,
        "messages_delivered": sum(1 for m in chain["messages"] if m["status"] == "delivered"),
        "rating": chain["rating"]["rating"] if chain["rating"] else "",
    }
    linked = [
        {
            "decision_id": d["id"],
            "decision_title": d["title"],
            "outcome": d["outcome"],
            "decided_on": d["decided_on"],
            "rationale": d["rationale"],
            "influence": d["influence"],
            "link_state": "unlinked" if d["unlinked_at"] else d["link_state"],
        }
        for d in chain["decisions"]
    ] or [{}]
    return [{k: _cell({**common, **link}.get(k)) for k in CHAIN_CSV_COLUMNS} for link in linked]
