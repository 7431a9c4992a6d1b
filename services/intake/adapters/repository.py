"""Loading and saving intake's aggregates. Every query is scoped to one tenant."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.intake.adapters.tables import (
    EXTERNAL_REF_LOOKUP,
    contributions,
    engagements,
    equality_answers,
    idempotency_keys,
    participants,
    reference_counters,
)
from services.intake.domain.model import Contact, Contribution, Engagement, Participant
from shared.infra.crypto import Sealer

Insert = Callable[[sa.Table, dict], None]


def _insert_now(session: Session) -> Insert:
    return lambda table, row: session.execute(table.insert(), row)


def _copy(participant: Participant | None) -> Participant | None:
    """A copy to hand out or keep: what one use case changes on its object, another does not see."""
    if participant is None:
        return None
    lines = participant.contact.address_lines
    contact = dataclasses.replace(participant.contact, address_lines=None if lines is None else list(lines))
    return dataclasses.replace(participant, contact=contact)


class EngagementRepository:
    # (database, tenant, id) of engagements this process has seen: engagements are never
    # deleted, so once seen, one is known to exist without asking again (see `exists`).
    _known: ClassVar[set[tuple[sa.URL, str, str]]] = set()
    KNOWN_MAX = 10_000

    def __init__(self, session: Session):
        self.session = session
        self._seen: dict[tuple[str, str], Engagement | None] = {}

    def exists(self, tenant: str, engagement_id: str) -> bool:
        """Whether the council has this engagement (open or closed): asked on every
        submission, answered from memory once seen (engagements are never deleted)."""
        key = (self.session.get_bind().url, tenant, engagement_id)
        if key in self._known:
            return True
        if self.get(tenant, engagement_id) is None:
            return False
        if len(self._known) >= self.KNOWN_MAX:
            self._known.clear()
        self._known.add(key)
        return True

    def add(self, engagement: Engagement) -> None:
        self.session.execute(engagements.insert(), vars(engagement))

    _by_id = sa.select(engagements).where(
        engagements.c.tenant == sa.bindparam("tenant"), engagements.c.id == sa.bindparam("id")
    )

    def get(self, tenant: str, engagement_id: str) -> Engagement | None:
        """One unit of work asks once (changes go through get_for_update)."""
        key = (tenant, engagement_id)
        if key not in self._seen:
            row = self.session.execute(self._by_id, {"tenant": tenant, "id": engagement_id}).mappings().first()
            self._seen[key] = Engagement(**row) if row else None
        return self._seen[key]

    def find(self, engagement_id: str) -> Engagement | None:
        """Any council's engagement, for the public form (whose address names no council)."""
        row = self.session.execute(sa.select(engagements).where(engagements.c.id == engagement_id)).mappings().first()
        return Engagement(**row) if row else None

    def taking_views(self, tenant: str, today) -> list[Engagement]:
        """The council's engagements still open whose feedback date is today or later, soonest first."""
        rows = self.session.execute(
            sa.select(engagements)
            .where(
                engagements.c.tenant == tenant,
                engagements.c.closed_at.is_(None),
                engagements.c.feedback_due >= today,
            )
            .order_by(engagements.c.feedback_due, engagements.c.title, engagements.c.id)
        ).mappings()
        return [Engagement(**row) for row in rows]

    def get_for_update(self, tenant: str, engagement_id: str) -> Engagement | None:
        """Read afresh and locked (on PostgreSQL) to be changed: two edits take turns."""
        row = (
            self.session.execute(self._by_id.with_for_update(), {"tenant": tenant, "id": engagement_id})
            .mappings()
            .first()
        )
        self._seen.pop((tenant, engagement_id), None)
        return Engagement(**row) if row else None

    def update(self, engagement: Engagement) -> None:
        values = {k: v for k, v in vars(engagement).items() if k not in ("id", "tenant", "created_at")}
        self.session.execute(
            engagements.update()
            .where(engagements.c.tenant == engagement.tenant, engagements.c.id == engagement.id)
            .values(**values)
        )

    def list(self, tenant: str, *, offset: int, limit: int) -> tuple[list[Engagement], int]:
        where = engagements.c.tenant == tenant
        rows = self.session.execute(
            sa.select(engagements)
            .where(where)
            .order_by(engagements.c.created_at.desc(), engagements.c.id)
            .offset(offset)
            .limit(limit)
        ).mappings()
        total = self.session.execute(sa.select(sa.func.count()).select_from(engagements).where(where)).scalar_one()
        return [Engagement(**row) for row in rows], total


class ParticipantRepository:
    """Contact details are sealed on the way in and opened on the way out."""

    def __init__(self, session: Session, sealer: Sealer, insert: Insert | None = None):
        self.session = session
        self.sealer = sealer
        self._insert = insert or _insert_now(session)
        # external_ref -> its lookup keys, worked out once per unit of work (a consumer's
        # batch): found with them, then stored with the primary's.
        self._lookups: dict[str, list[str]] = {}
        # (tenant, external_ref) -> who is on file (None: nobody), read locked by
        # `read_by_external_refs` for a consumer's batch, and kept up to date by this
        # repository's writes while the unit of work lasts.
        self._by_ref: dict[tuple[str, str], Participant | None] = {}

    def seal_contact(self, participant: Participant) -> str:
        """Who the person is and how to reach them, as one ciphertext."""
        return self.sealer.seal({**vars(participant.contact), "external_ref": participant.external_ref})

    def _lookup_keys(self, external_ref: str) -> list[str]:
        if external_ref not in self._lookups:
            self._lookups[external_ref] = self.sealer.lookup_keys(EXTERNAL_REF_LOOKUP, external_ref)
        return self._lookups[external_ref]

    def _external_ref_lookup(self, participant: Participant) -> str | None:
        return None if participant.external_ref is None else self._lookup_keys(participant.external_ref)[0]

    def add(self, participant: Participant, contact_sealed: str) -> None:
        self._remember(participant)
        self._insert(
            participants,
            dict(
                id=participant.id,
                tenant=participant.tenant,
                external_ref_lookup=self._external_ref_lookup(participant),
                contact_sealed=contact_sealed,
                created_at=participant.created_at,
                updated_at=participant.created_at,
                **participant.preferences(),
            ),
        )

    def update(self, participant: Participant, contact_sealed: str, now: dt.datetime) -> None:
        self._remember(participant)
        self.session.execute(
            participants.update()
            .where(participants.c.id == participant.id, participants.c.tenant == participant.tenant)
            .values(
                contact_sealed=contact_sealed,
                # Under the primary data key, as the contact details are sealed now.
                external_ref_lookup=self._external_ref_lookup(participant),
                updated_at=now,
                **participant.preferences(),
            )
        )

    def erase(self, participant: Participant) -> None:
        """Keep the row (contributions refer to it), nothing that says who the person was;
        their equality-monitoring answers go too."""
        self._by_ref.clear()
        self.session.execute(
            participants.update()
            .where(participants.c.id == participant.id, participants.c.tenant == participant.tenant)
            .values(
                contact_sealed=self.seal_contact(participant),  # erased: empty fields only
                external_ref_lookup=None,
                updated_at=participant.erased_at,
                erased_at=participant.erased_at,
                **participant.preferences(),
            )
        )
        self.session.execute(equality_answers.delete().where(equality_answers.c.participant_id == participant.id))

    def _from_row(self, row) -> Participant:
        sealed = self.sealer.open(row.contact_sealed)
        return Participant(
            id=row.id,
            tenant=row.tenant,
            external_ref=sealed.get("external_ref"),
            preferred_channel=row.preferred_channel,
            language=row.language,
            format=row.format,
            consent_to_contact=row.consent_to_contact,
            created_at=row.created_at,
            erased_at=row.erased_at,
            contact=Contact(**{k: v for k, v in sealed.items() if k != "external_ref"}),
        )

    @staticmethod
    def _locked_variants(query: sa.Select) -> dict[str | None, sa.Select]:
        return {None: query, "share": query.with_for_update(read=True), "update": query.with_for_update()}

    # Built once, with each lock: building a statement per call cost four times running it.
    _by_id = _locked_variants(
        sa.select(participants).where(
            participants.c.tenant == sa.bindparam("tenant"), participants.c.id == sa.bindparam("id")
        )
    )
    _by_lookup = _locked_variants(
        sa.select(participants).where(
            participants.c.tenant == sa.bindparam("tenant"),
            participants.c.external_ref_lookup.in_(sa.bindparam("lookups", expanding=True)),
        )
    )

    def _one(self, queries: dict[str | None, sa.Select], parameters: dict, *, lock: str | None) -> Participant | None:
        row = self.session.execute(queries[lock], parameters).first()
        return self._from_row(row) if row else None

    def get(self, tenant: str, participant_id: str, *, lock: str | None = None) -> Participant | None:
        """`lock` ("share" to add to the person, "update" to change them) locks the row on
        PostgreSQL (SQLite has one writer anyway): a submission and an erasure of the same
        person take turns, so neither undoes the other; submissions share."""
        return self._one(self._by_id, {"tenant": tenant, "id": participant_id}, lock=lock)

    def get_by_external_ref(self, tenant: str, external_ref: str, *, lock: bool = True) -> Participant | None:
        """Read to register or refresh, so the row is locked for update (unless `lock` is
        False: a first look before the write, which reads it again). Looked up by its keyed
        hash under every data key: one stored before a key rotation is found too."""
        if (tenant, external_ref) in self._by_ref:  # read, locked, for the batch
            return _copy(self._by_ref[tenant, external_ref])
        return self._one(
            self._by_lookup,
            {"tenant": tenant, "lookups": self._lookup_keys(external_ref)},
            lock="update" if lock else None,
        )

    def read_by_external_refs(self, tenant: str, external_refs: Iterable[str]) -> None:
        """Read who is on file under each of these external_refs, locked for update, in one
        query, for `get_by_external_ref` to answer from while the unit of work lasts (a
        consumer's batch of submissions)."""
        wanted = sorted({ref for ref in external_refs if (tenant, ref) not in self._by_ref})
        for start in range(0, len(wanted), 100):
            refs = wanted[start : start + 100]
            lookups = [key for ref in refs for key in self._lookup_keys(ref)]
            found: dict[str, Participant] = {}
            for row in self.session.execute(self._by_lookup["update"], {"tenant": tenant, "lookups": lookups}):
                participant = self._from_row(row)
                found.setdefault(participant.external_ref, participant)
            self._by_ref.update({(tenant, ref): found.get(ref) for ref in refs})

    def _remember(self, participant: Participant) -> None:
        key = (participant.tenant, participant.external_ref)
        if key in self._by_ref:
            self._by_ref[key] = _copy(participant)

    def record_equality_answers(self, participant: Participant, answers_sealed: str, now: dt.datetime) -> None:
        """Replace the person's answers with these (sealed beforehand, outside the write)."""
        self.session.execute(equality_answers.delete().where(equality_answers.c.participant_id == participant.id))
        self.session.execute(
            equality_answers.insert(),
            dict(
                participant_id=participant.id,
                tenant=participant.tenant,
                answers_sealed=answers_sealed,
                recorded_at=now,
            ),
        )

    def equality_answer_sets(self, tenant: str, engagement_id: str | None) -> list[dict]:
        """Everyone's answers (one dict each), optionally only those who contributed to one engagement."""
        query = sa.select(equality_answers.c.answers_sealed).where(equality_answers.c.tenant == tenant)
        if engagement_id:
            query = query.where(
                sa.exists().where(
                    contributions.c.participant_id == equality_answers.c.participant_id,
                    contributions.c.engagement_id == engagement_id,
                )
            )
        return [self.sealer.open(sealed) for sealed in self.session.execute(query).scalars()]


class ContributionRepository:
    def __init__(self, session: Session, insert: Insert | None = None):
        self.session = session
        self._insert = insert or _insert_now(session)
        # (tenant, year) -> [next, last] of the numbers `reserve_reference_numbers` took
        self._reserved: dict[tuple[str, int], list[int]] = {}

    def add(self, contribution: Contribution, submitted_by_role: str) -> None:
        self._insert(contributions, dict(**vars(contribution), submitted_by_role=submitted_by_role))

    def get(self, tenant: str, contribution_id: str, *, submitted_by_role: str | None = None) -> Contribution | None:
        query = sa.select(contributions).where(contributions.c.tenant == tenant, contributions.c.id == contribution_id)
        if submitted_by_role:
            query = query.where(contributions.c.submitted_by_role == submitted_by_role)
        row = self.session.execute(query).mappings().first()
        return self._from_row(row) if row else None

    def list(
        self,
        tenant: str,
        *,
        engagement_id: str | None,
        status: str | None,
        submitted_by_role: str | None,
        offset: int,
        limit: int,
    ) -> tuple[list[Contribution], int]:
        conditions = [contributions.c.tenant == tenant]
        if engagement_id:
            conditions.append(contributions.c.engagement_id == engagement_id)
        if status:
            conditions.append(contributions.c.status == status)
        if submitted_by_role:
            conditions.append(contributions.c.submitted_by_role == submitted_by_role)
        rows = self.session.execute(
            sa.select(contributions)
            .where(*conditions)
            .order_by(contributions.c.received_at.desc(), contributions.c.id)
            .offset(offset)
            .limit(limit)
        ).mappings()
        total = self.session.execute(
            sa.select(sa.func.count()).select_from(contributions).where(*conditions)
        ).scalar_one()
        return [self._from_row(row) for row in rows], total

    @staticmethod
    def _from_row(row) -> Contribution:
        values = dict(row)
        values.pop("submitted_by_role")
        return Contribution(**values)

    def erase_texts_of(self, tenant: str, participant_id: str, erased_text: str) -> list[str]:
        """Replace the words of everything the person contributed; type, dates, reference,
        engagement and on_behalf_of stay, so the chain and the counts hold. Returns the
        ids of those contributions."""
        where = sa.and_(contributions.c.tenant == tenant, contributions.c.participant_id == participant_id)
        self.session.execute(contributions.update().where(where).values(text=erased_text))
        return list(self.session.execute(sa.select(contributions.c.id).where(where)).scalars())

    _next_number = {
        dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(reference_counters)
        .values(tenant=sa.bindparam("tenant"), year=sa.bindparam("year"), last=1)
        .on_conflict_do_update(index_elements=["tenant", "year"], set_={"last": reference_counters.c.last + 1})
        .returning(reference_counters.c.last)
        for dialect in (postgresql, sqlite)
    }

    _take_numbers = {
        dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(reference_counters)
        .values(tenant=sa.bindparam("tenant"), year=sa.bindparam("year"), last=sa.bindparam("count"))
        .on_conflict_do_update(
            index_elements=["tenant", "year"], set_={"last": reference_counters.c.last + sa.bindparam("count")}
        )
        .returning(reference_counters.c.last)
        for dialect in (postgresql, sqlite)
    }

    def next_reference_number(self, tenant: str, year: int) -> int:
        """Atomically take the next number of the tenant's year (an upsert, no race), or
        the next of those reserved for this unit of work."""
        reserved = self._reserved.get((tenant, year))
        if reserved and reserved[0] <= reserved[1]:
            reserved[0] += 1
            return reserved[0] - 1
        statement = self._next_number[self.session.get_bind().dialect.name]
        return self.session.execute(statement, {"tenant": tenant, "year": year}).scalar_one()

    def reserve_reference_numbers(self, tenant: str, year: int, count: int) -> None:
        """Take the next `count` numbers of the tenant's year in one statement, for
        next_reference_number to hand out (a consumer's batch of submissions); the counter
        stays locked until commit, and `give_back_unused` returns what was not used."""
        statement = self._take_numbers[self.session.get_bind().dialect.name]
        last = self.session.execute(statement, {"tenant": tenant, "year": year, "count": count}).scalar_one()
        self._reserved[(tenant, year)] = [last - count + 1, last]

    def give_back_unused(self) -> None:
        """Before commit: numbers reserved and not used go back, so references stay gapless."""
        for (tenant, year), (following, last) in self._reserved.items():
            if following <= last:
                self.session.execute(
                    reference_counters.update()
                    .where(
                        reference_counters.c.tenant == tenant,
                        reference_counters.c.year == year,
                        reference_counters.c.last == last,
                    )
                    .values(last=following - 1)
                )
        self._reserved.clear()

    def find_idempotent(self, tenant: str, key: str) -> tuple[str, str] | None:
        """(fingerprint, contribution id) of an earlier request with this key."""
        row = self.session.execute(
            sa.select(idempotency_keys.c.fingerprint, idempotency_keys.c.contribution_id).where(
                idempotency_keys.c.tenant == tenant, idempotency_keys.c.key == key
            )
        ).first()
        return (row.fingerprint, row.contribution_id) if row else None

    def remember_idempotent(
        self, tenant: str, key: str, fingerprint: str, contribution_id: str, now: dt.datetime
    ) -> None:
        self.session.execute(
            idempotency_keys.insert(),
            dict(tenant=tenant, key=key, fingerprint=fingerprint, contribution_id=contribution_id, created_at=now),
        )
