"""Decisions' HTTP API: thin views that validate, call a use case and answer."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, request

from services.decisions.entrypoints import schemas
from services.decisions.service_layer import services, views
from shared.http.openapi import documented, one_of
from shared.http.schemas import list_response, page_of, page_response
from shared.http.web import allows_bulk_body, json_body, platform, principal, query_args, reads, requires
from shared.infra.audit import audits_as, handles_personal_data
from shared.messaging import dead_letters
from shared.rules.constants import AUDIT_UPDATE, ROLE_BOARD, ROLE_STAFF
from shared.rules.domain import UK

api = Blueprint("decisions", __name__, url_prefix="/v1")

board_schema = schemas.BoardSchema()
decision_schema = schemas.DecisionSchema()
amendment_schema = schemas.DecisionAmendmentSchema()
decision_query_schema = schemas.DecisionQuerySchema()
link_schema = schemas.LinkSchema()
links_schema = schemas.LinksSchema()
unlink_schema = schemas.UnlinkSchema()
change_schema = schemas.ResourceChangeWithHistorySchema()
move_schema = schemas.ResourceChangeMoveSchema()
version_schema = schemas.VersionSchema()


def _actor() -> services.Actor:
    return services.Actor(tenant=principal().tenant, key_id=principal().key_id)


def _today():
    return platform().clock().astimezone(UK).date()


def _decision_view(decision, links, changes, versions=None) -> dict:
    body = {
        **decision_schema.dump(decision),
        "links": link_schema.dump(links, many=True),
        "resource_changes": change_schema.dump(changes, many=True),
    }
    if versions is not None:
        body["versions"] = version_schema.dump(versions, many=True)
    return body


@api.post("/boards")
@documented(body=schemas.BoardSchema, responses={201: schemas.BoardSchema})
@requires(ROLE_STAFF)
def create_board():
    data = json_body(board_schema)
    board = services.create_board(platform().uow(), principal().tenant, data, now=platform().clock())
    return board_schema.dump(board), 201, {"Location": f"/v1/boards/{board.id}"}


@api.get("/boards")
@documented(responses={200: list_response(schemas.BoardSchema)})
@requires(ROLE_BOARD, ROLE_STAFF)
def list_boards():
    return {"items": board_schema.dump(services.list_boards(reads(), principal().tenant), many=True)}


@api.get("/boards/<board_id>")
@documented(responses={200: schemas.BoardSchema})
@requires(ROLE_BOARD, ROLE_STAFF)
def get_board(board_id: str):
    return board_schema.dump(services.get_board(reads(), principal().tenant, board_id))


@api.post("/decisions")
@documented(body=schemas.DecisionSchema, responses={201: schemas.DecisionViewSchema})
@requires(ROLE_BOARD, ROLE_STAFF)
@allows_bulk_body
def record_decision():
    data = json_body(decision_schema)
    p = platform()
    decision, links, changes = services.record_decision(p.uow(), _actor(), data, now=p.clock(), source=p.source)
    return _decision_view(decision, links, changes), 201, {"Location": f"/v1/decisions/{decision.id}"}


@api.get("/decisions")
@documented(query=schemas.DecisionQuerySchema, responses={200: page_response(schemas.DecisionSchema)})
@requires(ROLE_BOARD, ROLE_STAFF)
def list_decisions():
    args = query_args(decision_query_schema)
    items, total = services.list_decisions(reads(), principal().tenant, **args)
    return page_of(decision_schema, items, total, args["page"], args["per_page"])


@api.get("/decisions/<decision_id>")
@documented(responses={200: schemas.DecisionViewSchema})
@requires(ROLE_BOARD, ROLE_STAFF)
def get_decision(decision_id: str):
    return _decision_view(*services.get_decision(reads(), principal().tenant, decision_id))


@api.patch("/decisions/<decision_id>")
@documented(body=schemas.DecisionAmendmentSchema, responses={200: schemas.DecisionViewSchema})
@requires(ROLE_BOARD, ROLE_STAFF)
def amend_decision(decision_id: str):
    changes = json_body(amendment_schema)
    reason = changes.pop("reason")
    p = platform()
    services.amend_decision(p.uow(), _actor(), decision_id, changes, reason, now=p.clock(), source=p.source)
    return _decision_view(*services.get_decision(reads(), principal().tenant, decision_id))


@api.post("/decisions/<decision_id>/links")
@documented(
    body=one_of(schemas.LinkSchema, schemas.LinksSchema),
    responses={201: one_of(schemas.LinkSchema, schemas.LinksSchema)},
)
@requires(ROLE_BOARD, ROLE_STAFF)
@allows_bulk_body
def link_contributions(decision_id: str):
    """One link as {contribution_id, influence}, or many as {links: [...]}."""
    many = isinstance(request.get_json(silent=True), dict) and "links" in request.get_json(silent=True)
    items = json_body(links_schema)["links"] if many else [json_body(link_schema)]
    p = platform()
    created = services.link_contributions(
        p.uow(), _actor(), decision_id, items, now=p.clock(), source=p.source, as_list=many
    )
    return ({"links": link_schema.dump(created, many=True)} if many else link_schema.dump(created[0])), 201


@api.post("/decisions/<decision_id>/links/<contribution_id>/unlink")
@documented(body=schemas.UnlinkSchema, responses={200: schemas.UnlinkedLinkSchema})
@requires(ROLE_BOARD, ROLE_STAFF)
@audits_as(AUDIT_UPDATE)
def unlink_contribution(decision_id: str, contribution_id: str):
    reason = json_body(unlink_schema)["reason"]
    p = platform()
    link = services.unlink_contribution(
        p.uow(), _actor(), decision_id, contribution_id, reason, now=p.clock(), source=p.source
    )
    return {**link_schema.dump(link), "unlinked_at": link.unlinked_at.isoformat(), "unlink_reason": link.unlink_reason}


@api.post("/decisions/<decision_id>/resource-changes")
@documented(body=schemas.ResourceChangeWithHistorySchema, responses={201: schemas.ResourceChangeWithHistorySchema})
@requires(ROLE_BOARD, ROLE_STAFF)
def add_resource_change(decision_id: str):
    data = json_body(change_schema)
    p = platform()
    change = services.add_resource_change(p.uow(), _actor(), decision_id, data, now=p.clock(), source=p.source)
    return change_schema.dump(change), 201, {"Location": f"/v1/resource-changes/{change.id}"}


@api.patch("/resource-changes/<change_id>")
@documented(body=schemas.ResourceChangeMoveSchema, responses={200: schemas.ResourceChangeWithHistorySchema})
@requires(ROLE_BOARD, ROLE_STAFF)
def move_resource_change(change_id: str):
    data = json_body(move_schema)
    p = platform()
    change = services.move_resource_change(p.uow(), _actor(), change_id, **data, now=p.clock(), source=p.source)
    return change_schema.dump(change)


@api.get("/contributions/<contribution_id>/outcome-chain")
@documented(responses={200: schemas.OutcomeChainSchema})
@requires(ROLE_BOARD, ROLE_STAFF)
@handles_personal_data
def outcome_chain(contribution_id: str):
    return views.outcome_chain(reads(), principal().tenant, contribution_id, today=_today())


@api.get("/engagements/<engagement_id>/you-said-we-did")
@documented(
    responses={
        200: {
            "application/json": schemas.YouSaidWeDidSchema,
            "text/csv": {
                "type": "string",
                "description": "With `Accept: text/csv`: one row per decision and per resource change.",
            },
        }
    }
)
@requires(ROLE_BOARD, ROLE_STAFF)
def you_said_we_did(engagement_id: str):
    report = views.you_said_we_did(reads(), principal().tenant, engagement_id)
    if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=views.CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(views.you_said_we_did_rows(report))
        return Response(
            buffer.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="you-said-we-did-{engagement_id}.csv"'},
        )
    return report


@api.get("/overdue")
@documented(responses={200: list_response(schemas.OverdueContributionSchema, with_total=True)})
@requires(ROLE_BOARD, ROLE_STAFF)
def overdue():
    items = views.overdue(reads(), principal().tenant, today=_today())
    return {"items": items, "total": len(items)}


api.register_blueprint(dead_letters.blueprint(roles=(ROLE_STAFF,)))
