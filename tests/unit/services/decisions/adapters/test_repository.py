"""Decisions' repositories: the joined reads the outcome chain is made from answer what the
separate reads did, one statement each."""

from __future__ import annotations

import uuid

from shared.infra.tables import utcnow


def contribution_row(tenant: str, **overrides) -> dict:
    """A contributions_view row as decisions keeps it from contribution.received."""
    now = utcnow()
    row = {
        "id": str(uuid.uuid4()),
        "tenant": tenant,
        "reference": "WIL-2027-000042",
        "engagement_id": str(uuid.uuid4()),
        "participant_id": str(uuid.uuid4()),
        "type": "comment",
        "on_behalf_of": 1,
        "channel": "web",
        "submitted_at": now,
        "received_at": now,
        "sealed_text": "sealed-token",
        "erased_at": None,
    }
    return {**row, **overrides}


def save(decisions, *rows: dict, rating: dict | None = None) -> None:
    with decisions.uow() as uow:
        for row in rows:
            uow.read.save_contribution(row)
        if rating:
            uow.read.save_rating(rating)
        uow.commit()


def in_context(decisions, tenant: str, contribution_id: str):
    with decisions.uow(read_only=True) as uow:
        return uow.read.contribution_in_context(tenant, contribution_id)


def test_a_contribution_before_its_engagement_and_rating_are_known_reads_with_neither(decisions, council):
    row = contribution_row(council.slug)
    save(decisions, row)

    contribution, engagement, rating = in_context(decisions, council.slug, row["id"])

    assert (contribution["id"], contribution["reference"], contribution["received_at"]) == (
        row["id"],
        row["reference"],
        row["received_at"],
    )
    assert engagement is None
    assert rating is None


def test_a_rated_contribution_reads_with_its_rating(decisions, council):
    row = contribution_row(council.slug)
    rated_at = utcnow()
    save(
        decisions,
        row,
        rating={
            "contribution_id": row["id"],
            "tenant": council.slug,
            "rating": "yes",
            "rated_at": rated_at,
            "participant_id": row["participant_id"],
            "channel": "sms",
            "sealed_comment": None,
        },
    )

    _, _, rating = in_context(decisions, council.slug, row["id"])

    assert (rating["rating"], rating["rated_at"], rating["channel"]) == ("yes", rated_at, "sms")


def test_another_tenants_contribution_reads_as_none_like_an_unknown_one(decisions, council, other_council):
    row = contribution_row(council.slug)
    save(decisions, row)

    assert in_context(decisions, other_council.slug, row["id"]) is None
    assert in_context(decisions, council.slug, str(uuid.uuid4())) is None
