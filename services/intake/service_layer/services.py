"""Intake's use cases. Each takes a unit of work and commits it when done."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from services.intake.domain import model
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.messaging.event_definitions import EVENTS
from shared.rules.constants import (
    CONTRIBUTION_RECEIVED,
    CONTRIBUTION_RECEIVED_STATUS,
    CONTRIBUTIONS_TOPIC,
    ENGAGEMENT_CREATED,
    ENGAGEMENT_UPDATED,
    ENGAGEMENTS_TOPIC,
    ERASED_TEXT,
    PARTICIPANT_ERASED,
    PARTICIPANT_REGISTERED,
    PARTICIPANT_UPDATED,
    PARTICIPANTS_TOPIC,
)
from shared.rules.domain import UK, InvalidInput, NotFound, required


@dataclass(frozen=True)
class Submitter:
    """Who is sending: a key over HTTP, or a case system's event over Kafka."""

    tenant: str
    role: str
    identity: str


def fingerprint(document: object) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


# Engagements -------------------------------------------------------------------------


def _announce_engagement(
    uow: IntakeUnitOfWork, engagement: model.Engagement, type_: str, *, now: dt.datetime, source: str
) -> None:
    uow.announce(
        ENGAGEMENTS_TOPIC,
        type=type_,
        source=source,
        tenant=engagement.tenant,
        subject=engagement.id,
        time=now,
        data=EVENTS[type_].build(**{k: v for k, v in vars(engagement).items() if k != "tenant"}),
    )


def create_engagement(
    uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime, source: str
) -> model.Engagement:
    engagement = model.Engagement(id=str(uuid.uuid4()), tenant=tenant, created_at=now, **data)
    model.check_feedback_due(engagement.feedback_due, now.astimezone(UK).date())
    with uow:
        uow.engagements.add(engagement)
        _announce_engagement(uow, engagement, ENGAGEMENT_CREATED, now=now, source=source)
        uow.commit()
    return engagement


def update_engagement(
    uow: IntakeUnitOfWork, tenant: str, engagement_id: str, data: dict, *, now: dt.datetime, source: str
) -> model.Engagement:
    """Replace what people are told about an open engagement; `engagement.updated` tells
    the other services, which keep their copy."""
    with uow:
        engagement = required(uow.engagements.get_for_update(tenant, engagement_id), "engagement")
        engagement.revise(data, now.astimezone(UK).date())
        uow.engagements.update(engagement)
        _announce_engagement(uow, engagement, ENGAGEMENT_UPDATED, now=now, source=source)
        uow.commit()
    return engagement


def close_engagement(
    uow: IntakeUnitOfWork, tenant: str, engagement_id: str, *, now: dt.datetime, source: str
) -> model.Engagement:
    """Close an engagement (idempotent: closing a closed one changes nothing)."""
    with uow:
        engagement = required(uow.engagements.get_for_update(tenant, engagement_id), "engagement")
        if engagement.close(now):
            uow.engagements.update(engagement)
            _announce_engagement(uow, engagement, ENGAGEMENT_UPDATED, now=now, source=source)
            uow.commit()
    return engagement


def get_engagement(uow: IntakeUnitOfWork, tenant: str, engagement_id: str) -> model.Engagement:
    with uow:
        return required(uow.engagements.get(tenant, engagement_id), "engagement")


def list_engagements(uow: IntakeUnitOfWork, tenant: str, *, page: int, per_page: int):
    with uow:
        return uow.engagements.list(tenant, offset=(page - 1) * per_page, limit=per_page)


# Participants ------------------------------------------------------------------------


def _announce_participant(
    uow: IntakeUnitOfWork,
    participant: model.Participant,
    contact_sealed: str,
    type_: str,
    *,
    now: dt.datetime,
    source: str,
) -> None:
    """Preferences in the clear; who the person is and how to reach them only sealed."""
    uow.announce(
        PARTICIPANTS_TOPIC,
        type=type_,
        source=source,
        tenant=participant.tenant,
        subject=participant.id,
        time=now,
        data=EVENTS[type_].build(id=participant.id, **participant.preferences(), sealed_contact=contact_sealed),
    )


CONTACT_DETAILS = ("name", "email", "phone", "address_lines", "postcode")


def _participant_from(tenant: str, data: dict, now: dt.datetime) -> model.Participant:
    return model.Participant(
        id=str(uuid.uuid4()),
        tenant=tenant,
        external_ref=data.get("external_ref"),
        preferred_channel=data["preferred_channel"],
        language=data["language"],
        format=data["format"],
        consent_to_contact=data["consent_to_contact"],
        contact=model.Contact(**{detail: data.get(detail) for detail in CONTACT_DETAILS}),
        created_at=now,
    )


@dataclass
class _ParticipantPlan:
    """A participant worked out (checked, compared with the one on file, sealed) before the
    write: `existing` is who was on file under the external_ref then, `change` the event
    to announce (None: nothing to write)."""

    participant: model.Participant
    existing: model.Participant | None
    change: str | None
    contact_sealed: str | None
    equality: dict | None
    equality_sealed: str | None


def _plan_participant(
    uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime, lock: bool = True
) -> _ParticipantPlan:
    """Register a participant, or refresh the one the case system knows by external_ref: what
    to write. `lock`: the one on file is locked (for a plan made inside the write)."""
    equality = data.get("equality")
    candidate = _participant_from(tenant, data, now)
    candidate.check_reachable()
    existing = (
        uow.participants.get_by_external_ref(tenant, candidate.external_ref, lock=lock)
        if candidate.external_ref
        else None
    )
    change = None
    if existing is None:
        change = PARTICIPANT_REGISTERED
    else:
        candidate.id, candidate.created_at = existing.id, existing.created_at
        # A case system that leaves a detail out has not asked us to forget it.
        for detail in CONTACT_DETAILS:
            if getattr(candidate.contact, detail) is None:
                setattr(candidate.contact, detail, getattr(existing.contact, detail))
        if not candidate.same_details_as(existing):
            change = PARTICIPANT_UPDATED
    return _ParticipantPlan(
        participant=candidate,
        existing=existing,
        change=change,
        contact_sealed=uow.participants.seal_contact(candidate) if change else None,
        equality=equality,
        equality_sealed=uow.sealer.seal(equality) if equality else None,
    )


def _still_current(uow: IntakeUnitOfWork, plan: _ParticipantPlan) -> bool:
    """Whether who is on file under the plan's external_ref is still who was when it was
    made (read again inside the write, locked): a concurrent submission may have registered
    or refreshed them since."""
    external_ref = plan.participant.external_ref
    if not external_ref:
        return True  # a new participant of our own making
    now_on_file = uow.participants.get_by_external_ref(plan.participant.tenant, external_ref)
    if now_on_file is None or plan.existing is None:
        return now_on_file is None and plan.existing is None
    return now_on_file.id == plan.existing.id and now_on_file.same_details_as(plan.existing)


def _apply_participant(
    uow: IntakeUnitOfWork, plan: _ParticipantPlan, *, now: dt.datetime, source: str
) -> tuple[model.Participant, bool]:
    participant = plan.participant
    if plan.change == PARTICIPANT_REGISTERED:
        uow.participants.add(participant, plan.contact_sealed)
    elif plan.change == PARTICIPANT_UPDATED:
        uow.participants.update(participant, plan.contact_sealed, now)
    if plan.change:
        _announce_participant(uow, participant, plan.contact_sealed, plan.change, now=now, source=source)
    if plan.equality:
        uow.participants.record_equality_answers(participant, plan.equality_sealed, now)
    return participant, plan.change == PARTICIPANT_REGISTERED


def _save_participant(
    uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime, source: str
) -> tuple[model.Participant, bool]:
    """Register a participant, or refresh the one the case system knows by external_ref."""
    return _apply_participant(uow, _plan_participant(uow, tenant, data, now=now), now=now, source=source)


def register_participant(
    uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime, source: str
) -> tuple[model.Participant, bool]:
    with uow:
        result = _save_participant(uow, tenant, data, now=now, source=source)
        uow.commit()
    return result


def get_participant(uow: IntakeUnitOfWork, tenant: str, participant_id: str) -> model.Participant:
    with uow:
        return required(uow.participants.get(tenant, participant_id), "participant")


def erase_participant(
    uow: IntakeUnitOfWork, tenant: str, participant_id: str, *, now: dt.datetime, source: str
) -> model.Participant:
    """Forget a person at their request, in one transaction: name, contact details,
    external_ref and equality answers go; their contributions keep their place in the chain
    (type, dates, reference, counts) with the words replaced; what the outbox still holds
    about them is taken back; `participant.erased` tells the other services to do the same.
    Erasing an erased participant changes nothing."""
    with uow:
        participant = required(uow.participants.get(tenant, participant_id, lock="update"), "participant")
        if participant.erased_at is not None:
            return participant
        participant.erase(now)
        uow.participants.erase(participant)
        contribution_ids = uow.contributions.erase_texts_of(tenant, participant.id, ERASED_TEXT)
        # The broker already has the published events; those still waiting go out without
        # the person: their participant events are superseded by the erasure, and their
        # contributions' words are replaced as above.
        uow.withdraw_announcements(PARTICIPANTS_TOPIC, [participant.id])
        sealed_erased_text = uow.sealer.seal(ERASED_TEXT)
        uow.withdraw_announcements(
            CONTRIBUTIONS_TOPIC, contribution_ids, rewrite=lambda data: data.update(sealed_text=sealed_erased_text)
        )
        uow.announce(
            PARTICIPANTS_TOPIC,
            type=PARTICIPANT_ERASED,
            source=source,
            tenant=tenant,
            subject=participant.id,
            time=now,
            data=EVENTS[PARTICIPANT_ERASED].build(id=participant.id, erased_at=now),
        )
        uow.commit()
    return participant


def equality_report(uow: IntakeUnitOfWork, tenant: str, engagement_id: str | None) -> dict:
    with uow:
        if engagement_id and uow.engagements.get(tenant, engagement_id) is None:
            raise NotFound("engagement")
        answer_sets = uow.participants.equality_answer_sets(tenant, engagement_id)
    return {"engagement_id": engagement_id, **model.equality_summary(answer_sets)}


# Contributions -----------------------------------------------------------------------


def submit_contribution(
    uow: IntakeUnitOfWork,
    submitter: Submitter,
    data: dict,
    *,
    now: dt.datetime,
    source: str,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
) -> tuple[model.Contribution, bool]:
    """Accept a contribution; (contribution, False) when it is a repeat of one accepted.

    On SQLite (one writer at a time), reading, checking and sealing come first, in a
    transaction that does not take the write lock; the write then holds the lock only for
    its inserts. What a concurrent request can change meanwhile is settled inside the write:
    an idempotency key used since by the winner of a race fails its unique index (and the
    winner's answer is returned), and the participant is read again, locked (an erasure, or
    a refresh by external_ref). On PostgreSQL, and inside a consumer's batch, it is all one
    transaction, the participant locked as it is read, so there is nothing to read again."""
    tenant = submitter.tenant
    apart = not uow.active and uow.one_writer_at_a_time
    key = (idempotency_key, request_fingerprint)
    try:
        with uow.reading() if apart else uow:
            earlier = _earlier_request(uow, tenant, idempotency_key, request_fingerprint) if idempotency_key else None
            if earlier:
                return earlier, False
            accepted = _prepare(uow, submitter, data, now=now, lock=not apart)
            if not apart:
                return _write(uow, submitter, accepted, data, key, recheck=False, now=now, source=source), True
        with uow:
            return _write(uow, submitter, accepted, data, key, recheck=True, now=now, source=source), True
    except sa.exc.IntegrityError:
        if not idempotency_key:
            raise
        with uow:  # a concurrent request with the same key won the race
            earlier = _earlier_request(uow, tenant, idempotency_key, request_fingerprint)
        if earlier is None:
            raise
        return earlier, False


def _write(
    uow: IntakeUnitOfWork,
    submitter: Submitter,
    accepted: _Acceptance,
    data: dict,
    key: tuple[str | None, str | None],
    *,
    recheck: bool,
    now: dt.datetime,
    source: str,
) -> model.Contribution:
    """`_accept`, the idempotency key (with the request's fingerprint) remembered, committed."""
    contribution = _accept(uow, submitter, accepted, data, recheck=recheck, now=now, source=source)
    idempotency_key, request_fingerprint = key
    if idempotency_key:
        uow.contributions.remember_idempotent(
            submitter.tenant, idempotency_key, request_fingerprint, contribution.id, now
        )
    uow.commit()
    return contribution


def _earlier_request(
    uow: IntakeUnitOfWork, tenant: str, key: str, request_fingerprint: str | None
) -> model.Contribution | None:
    found = uow.contributions.find_idempotent(tenant, key)
    if found is None:
        return None
    earlier_fingerprint, contribution_id = found
    if earlier_fingerprint != request_fingerprint:
        raise InvalidInput.on("Idempotency-Key", "Already used for a different request.")
    return uow.contributions.get(tenant, contribution_id)


@dataclass
class _Acceptance:
    """A contribution checked and sealed, waiting for its write."""

    engagement_id: str
    participant: model.Participant | _ParticipantPlan
    submitted_at: dt.datetime
    sealed_text: str


def _participant_errors(invalid: InvalidInput) -> InvalidInput:
    return InvalidInput({f"participant.{k}": v for k, v in invalid.errors.items()})


def _prepare(uow: IntakeUnitOfWork, submitter: Submitter, data: dict, *, now: dt.datetime, lock: bool) -> _Acceptance:
    """Everything `_accept` needs that can be read, checked and sealed before the write
    (`lock`: read inside the write itself, so the rows read are locked)."""
    tenant = submitter.tenant
    if not uow.engagements.exists(tenant, data["engagement_id"]):
        raise InvalidInput.on("engagement_id", "Unknown engagement.")
    if data.get("participant_id"):
        participant = _contributor(uow, tenant, data["participant_id"], lock=lock)
    else:
        try:
            participant = _plan_participant(uow, tenant, data["participant"], now=now, lock=lock)
        except InvalidInput as invalid:
            raise _participant_errors(invalid) from None
    submitted_at = data.get("submitted_at") or now
    model.check_submitted_at(submitted_at, now)
    return _Acceptance(data["engagement_id"], participant, submitted_at, uow.sealer.seal(data["text"]))


def _contributor(uow: IntakeUnitOfWork, tenant: str, participant_id: str, *, lock: bool) -> model.Participant:
    """The participant named by id, who must not have been erased (`lock`: shared, so an
    erasure waits for the submission)."""
    participant = uow.participants.get(tenant, participant_id, lock="share" if lock else None)
    if participant is None:
        raise InvalidInput.on("participant_id", "Unknown participant.")
    participant.check_can_contribute()
    return participant


def _accept(
    uow: IntakeUnitOfWork,
    submitter: Submitter,
    accepted: _Acceptance,
    data: dict,
    *,
    recheck: bool,
    now: dt.datetime,
    source: str,
) -> model.Contribution:
    """Write a prepared contribution; with `recheck`, first read again, locked, what may have
    changed since it was prepared (engagements are never deleted, so they need no second look)."""
    tenant = submitter.tenant
    participant = accepted.participant
    if isinstance(participant, model.Participant):
        if recheck:
            participant = _contributor(uow, tenant, participant.id, lock=True)
    else:
        plan = participant
        if recheck and not _still_current(uow, plan):
            try:
                plan = _plan_participant(uow, tenant, data["participant"], now=now)
            except InvalidInput as invalid:
                raise _participant_errors(invalid) from None
        participant, _ = _apply_participant(uow, plan, now=now, source=source)
    year = reference_year(now)
    contribution = model.Contribution(
        id=str(uuid.uuid4()),
        tenant=tenant,
        reference=model.reference_for(tenant, year, uow.contributions.next_reference_number(tenant, year)),
        engagement_id=accepted.engagement_id,
        participant_id=participant.id,
        type=data["type"],
        text=data["text"],
        on_behalf_of=data["on_behalf_of"],
        channel=data["channel"],
        submitted_at=accepted.submitted_at,
        received_at=now,
        status=CONTRIBUTION_RECEIVED_STATUS,
        submitted_by=submitter.identity,
    )
    uow.contributions.add(contribution, submitter.role)
    uow.announce(
        CONTRIBUTIONS_TOPIC,
        type=CONTRIBUTION_RECEIVED,
        source=source,
        tenant=tenant,
        subject=contribution.id,
        time=now,
        data=EVENTS[CONTRIBUTION_RECEIVED].build(
            id=contribution.id,
            reference=contribution.reference,
            engagement_id=contribution.engagement_id,
            participant_id=contribution.participant_id,
            type=contribution.type,
            on_behalf_of=contribution.on_behalf_of,
            channel=contribution.channel,
            submitted_at=contribution.submitted_at,
            received_at=contribution.received_at,
            status=contribution.status,
            sealed_text=accepted.sealed_text,
        ),
    )
    return contribution


def reference_year(now: dt.datetime) -> int:
    """The year a contribution received at `now` is numbered in (the UK's)."""
    return now.astimezone(UK).year


def get_contribution(
    uow: IntakeUnitOfWork, tenant: str, contribution_id: str, *, only_role: str | None = None
) -> model.Contribution:
    with uow:
        return required(uow.contributions.get(tenant, contribution_id, submitted_by_role=only_role), "contribution")


def list_contributions(
    uow: IntakeUnitOfWork, tenant: str, *, only_role: str | None, engagement_id, status, page: int, per_page: int
):
    with uow:
        return uow.contributions.list(
            tenant,
            engagement_id=engagement_id,
            status=status,
            submitted_by_role=only_role,
            offset=(page - 1) * per_page,
            limit=per_page,
        )


# Importing contributions gathered on paper or at meetings -----------------------------


@dataclass(frozen=True)
class ImportRow:
    """One contribution from a file. The key is stable per file and row, so a re-run after
    a crash finds what the first run imported through the usual idempotency records."""

    number: int
    data: dict
    idempotency_key: str


def check_import(
    uow: IntakeUnitOfWork, tenant: str, rows: list[ImportRow], *, now: dt.datetime
) -> tuple[dict[int, dict[str, list[str]]], set[int]]:
    """Every row's broken rules ({row number: {field: messages}}) and the rows an earlier
    run already imported. Nothing is written: an import with a bad row imports nothing."""
    problems: dict[int, dict[str, list[str]]] = {}
    done: set[int] = set()
    with uow:
        for row in rows:
            try:
                if _earlier_request(uow, tenant, row.idempotency_key, fingerprint(row.data)):
                    done.add(row.number)
                    continue
                _check_acceptable(uow, tenant, row.data, now)
            except InvalidInput as invalid:
                problems[row.number] = invalid.errors
    return problems, done


def check_contribution(uow: IntakeUnitOfWork, tenant: str, data: dict, *, now: dt.datetime) -> None:
    """The rules submit_contribution keeps beyond the schema, checked without writing
    anything (to read a contribution back to the person before it is saved)."""
    with uow:
        _check_acceptable(uow, tenant, data, now)


def _check_acceptable(uow: IntakeUnitOfWork, tenant: str, data: dict, now: dt.datetime) -> None:
    """The rules `_accept` keeps, checked without writing anything."""
    if not uow.engagements.exists(tenant, data["engagement_id"]):
        raise InvalidInput.on("engagement_id", "Unknown engagement.")
    if data.get("participant_id"):
        if uow.participants.get(tenant, data["participant_id"]) is None:
            raise InvalidInput.on("participant_id", "Unknown participant.")
    else:
        try:
            _participant_from(tenant, data["participant"], now).check_reachable()
        except InvalidInput as invalid:
            raise _participant_errors(invalid) from None
    model.check_submitted_at(data.get("submitted_at") or now, now)


def import_contributions(
    uow: IntakeUnitOfWork,
    submitter: Submitter,
    rows: list[ImportRow],
    *,
    clock,
    source: str,
    progress=lambda: None,
) -> int:
    """Accept each row as its own transaction (announced through the outbox exactly as an
    HTTP submission is); returns how many were new. Check the rows first with check_import."""
    imported = 0
    for row in rows:
        _, created = submit_contribution(
            uow,
            submitter,
            row.data,
            now=clock(),
            source=source,
            idempotency_key=row.idempotency_key,
            request_fingerprint=fingerprint(row.data),
        )
        imported += created
        progress()
    return imported
