"""Intake's HTTP API: thin views that validate, call a use case and answer."""

from __future__ import annotations

from flask import Blueprint, request

from services.intake.entrypoints import schemas
from services.intake.service_layer import dashboard, services
from shared.http.openapi import documented, header
from shared.http.schemas import PageSchema, page_of, page_response
from shared.http.web import json_body, platform, principal, query_args, reads, requires
from shared.infra.audit import audits_as, handles_personal_data, written_with_change
from shared.messaging import dead_letters
from shared.rules.constants import AUDIT_UPDATE, ROLE_BOARD, ROLE_CASE_SYSTEM, ROLE_STAFF
from shared.rules.domain import UK, InvalidInput

api = Blueprint("intake", __name__, url_prefix="/v1")

IDEMPOTENCY_KEY = header(
    "Idempotency-Key",
    "A repeat with the same key returns the first answer (with `Idempotent-Replayed: true`); "
    "the same key with a different body is 422.",
    max_length=255,
)

engagement_schema = schemas.EngagementSchema()
participant_schema = schemas.ParticipantSchema()
participant_with_contact_schema = schemas.ParticipantWithContactSchema()
contribution_schema = schemas.ContributionSchema()
page_schema = PageSchema()
contribution_query_schema = schemas.ContributionQuerySchema()
equality_query_schema = schemas.EqualityReportQuerySchema()
dashboard_query_schema = schemas.DashboardQuerySchema()


def _only_own_submissions() -> str | None:
    """A case system reads what case systems submitted, not what staff keyed in."""
    return ROLE_CASE_SYSTEM if principal().role == ROLE_CASE_SYSTEM else None


@api.post("/engagements")
@documented(body=schemas.EngagementSchema, responses={201: schemas.EngagementSchema})
@requires(ROLE_STAFF)
def create_engagement():
    data = json_body(engagement_schema)
    p = platform()
    engagement = services.create_engagement(p.uow(), principal().tenant, data, now=p.clock(), source=p.source)
    return engagement_schema.dump(engagement), 201, {"Location": f"/v1/engagements/{engagement.id}"}


@api.put("/engagements/<engagement_id>")
@documented(body=schemas.EngagementSchema, responses={200: schemas.EngagementSchema}, errors=(404,))
@requires(ROLE_STAFF)
def update_engagement(engagement_id: str):
    """Replace an open engagement's details (a closed one is 422); announced as engagement.updated."""
    data = json_body(engagement_schema)
    p = platform()
    engagement = services.update_engagement(
        p.uow(), principal().tenant, engagement_id, data, now=p.clock(), source=p.source
    )
    return engagement_schema.dump(engagement)


@api.post("/engagements/<engagement_id>/close")
@documented(responses={200: schemas.EngagementSchema}, errors=(404,))
@requires(ROLE_STAFF)
@audits_as(AUDIT_UPDATE)
def close_engagement(engagement_id: str):
    """Close an engagement (closing a closed one changes nothing); announced as engagement.updated."""
    p = platform()
    engagement = services.close_engagement(p.uow(), principal().tenant, engagement_id, now=p.clock(), source=p.source)
    return engagement_schema.dump(engagement)


@api.get("/engagements/<engagement_id>")
@documented(responses={200: schemas.EngagementSchema})
@requires(ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF)
def get_engagement(engagement_id: str):
    return engagement_schema.dump(services.get_engagement(reads(), principal().tenant, engagement_id))


@api.get("/engagements")
@documented(query=PageSchema, responses={200: page_response(schemas.EngagementSchema)})
@requires(ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF)
def list_engagements():
    args = query_args(page_schema)
    items, total = services.list_engagements(reads(), principal().tenant, **args)
    return page_of(engagement_schema, items, total, **args)


@api.post("/participants")
@documented(body=schemas.ParticipantSchema, responses={201: schemas.ParticipantSchema, 200: schemas.ParticipantSchema})
@requires(ROLE_CASE_SYSTEM, ROLE_STAFF)
@handles_personal_data
def register_participant():
    data = json_body(participant_schema)
    p = platform()
    participant, created = services.register_participant(
        p.uow(), principal().tenant, data, now=p.clock(), source=p.source
    )
    return (
        participant_schema.dump(participant),
        201 if created else 200,
        {"Location": f"/v1/participants/{participant.id}"},
    )


@api.get("/participants/<participant_id>")
@documented(responses={200: schemas.ParticipantWithContactSchema})
@requires(ROLE_CASE_SYSTEM, ROLE_STAFF)
@handles_personal_data
def get_participant(participant_id: str):
    participant = services.get_participant(reads(), principal().tenant, participant_id)
    return participant_with_contact_schema.dump(participant)


@api.delete("/participants/<participant_id>")
@documented(responses={204: None})
@requires(ROLE_STAFF)
@handles_personal_data
def erase_participant(participant_id: str):
    """Erasure at the person's request: every service forgets who they were (idempotent)."""
    p = platform()
    services.erase_participant(p.uow(), principal().tenant, participant_id, now=p.clock(), source=p.source)
    return "", 204


@api.get("/reports/equality")
@documented(query=schemas.EqualityReportQuerySchema, responses={200: schemas.EqualityReportSchema}, errors=(404,))
@requires(ROLE_STAFF)
def equality_report():
    """Voluntary equality-monitoring answers, in aggregate only, small numbers hidden."""
    args = query_args(equality_query_schema)
    return services.equality_report(reads(), principal().tenant, args["engagement_id"])


@api.get("/reports/dashboard")
@documented(query=schemas.DashboardQuerySchema, responses={200: schemas.DashboardSchema}, errors=(404,))
@requires(ROLE_STAFF)
def dashboard_report():
    """The staff dashboard's numbers (the same as `/dashboard` shows), for councils to script."""
    args = query_args(dashboard_query_schema)
    p = platform()
    return dashboard.dashboard(reads(), principal().tenant, **args, today=p.clock().astimezone(UK).date())


@api.post("/contributions")
@documented(body=schemas.ContributionSchema, headers=(IDEMPOTENCY_KEY,), responses={201: schemas.ContributionSchema})
@requires(ROLE_CASE_SYSTEM, ROLE_STAFF)
@handles_personal_data
@written_with_change(201)
def submit_contribution():
    data = json_body(contribution_schema)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 255):
        raise InvalidInput.on("Idempotency-Key", "Must be 1 to 255 characters.")
    p, who = platform(), principal()
    contribution, created = services.submit_contribution(
        p.uow(),
        services.Submitter(tenant=who.tenant, role=who.role, identity=who.key_id),
        data,
        now=p.clock(),
        source=p.source,
        idempotency_key=key,
        request_fingerprint=services.fingerprint(request.get_json()) if key else None,
    )
    headers = {"Location": f"/v1/contributions/{contribution.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return contribution_schema.dump(contribution), 201, headers


@api.get("/contributions/<contribution_id>")
@documented(responses={200: schemas.ContributionSchema})
@requires(ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF)
@handles_personal_data
def get_contribution(contribution_id: str):
    contribution = services.get_contribution(
        reads(), principal().tenant, contribution_id, only_role=_only_own_submissions()
    )
    return contribution_schema.dump(contribution)


@api.get("/contributions")
@documented(query=schemas.ContributionQuerySchema, responses={200: page_response(schemas.ContributionSchema)})
@requires(ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF)
@handles_personal_data
def list_contributions():
    args = query_args(contribution_query_schema)
    items, total = services.list_contributions(reads(), principal().tenant, only_role=_only_own_submissions(), **args)
    return page_of(contribution_schema, items, total, args["page"], args["per_page"])


api.register_blueprint(dead_letters.blueprint(roles=(ROLE_CASE_SYSTEM, ROLE_STAFF)))
