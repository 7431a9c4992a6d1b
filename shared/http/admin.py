"""What a council's `admin` key may do on every service: manage its keys and its case systems'
registered sources, read the audit log.

Only `admin` reads the audit log, so the roles it records (case systems, boards, staff)
cannot see or search it. Keys live in the shared registry (AUTH_DATABASE_URL), so a key
made or revoked through one service is known to, or refused by, every service at once.
"""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from shared.http.openapi import documented
from shared.http.schemas import PageSchema, moment, page_of, page_response, text
from shared.http.web import json_body, platform, principal, query_args, requires
from shared.infra import audit
from shared.infra.auth import UnknownKey, UnknownSource
from shared.rules.constants import AUDIT_ACTIONS, AUDIT_UPDATE, ROLE_ADMIN, ROLES, SOURCE_URI_MAX, SOURCE_URI_PATTERN
from shared.rules.domain import Conflict, NotFound


class KeySchema(Schema):
    id = fields.String(dump_only=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    label = text(200, load_default=None)
    created_at = fields.AwareDateTime(dump_only=True)
    revoked_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class NewKeySchema(KeySchema):
    key = fields.String(
        dump_only=True, metadata={"description": "The key itself, shown this once; only a hash is kept."}
    )


class SourceSchema(Schema):
    id = fields.String(dump_only=True)
    source = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=SOURCE_URI_MAX),
            validate.Regexp(SOURCE_URI_PATTERN, error="Must be a URI: printable ASCII, no spaces."),
        ],
        metadata={
            "description": "The CloudEvents `source` a case system of the council publishes "
            "`contribution.submitted` as; submissions from any other source are dead letters."
        },
    )
    created_at = fields.AwareDateTime(dump_only=True)


class AuditEntrySchema(Schema):
    id = fields.Integer(dump_only=True)
    at = fields.AwareDateTime(dump_only=True)
    key_id = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    action = fields.String(dump_only=True, metadata={"description": "read, create, update or delete"})
    method = fields.String(dump_only=True)
    route = fields.String(
        dump_only=True, metadata={"description": "The URL rule, e.g. /v1/participants/<participant_id>"}
    )
    resource_ids = fields.Dict(
        keys=fields.String(), values=fields.String(), dump_only=True, metadata={"description": "The URL's ids"}
    )
    status = fields.Integer(dump_only=True)
    personal_data = fields.Boolean(dump_only=True)
    person_issuer = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "A person's identity provider; null for an API key"}
    )
    person_subject = fields.String(dump_only=True, allow_none=True, metadata={"description": "Their subject there"})
    person_name = fields.String(dump_only=True, allow_none=True, metadata={"description": "The name it gave"})


class AuditQuerySchema(PageSchema):
    key_id = fields.String(load_default=None, validate=validate.Length(min=1, max=32))
    role = fields.String(load_default=None, validate=validate.OneOf(ROLES))
    action = fields.String(load_default=None, validate=validate.OneOf(AUDIT_ACTIONS))
    route = fields.String(load_default=None, validate=validate.Length(min=1, max=255))
    resource_id = fields.String(load_default=None, validate=validate.Length(min=1, max=audit.RESOURCE_ID_MAX))
    since = moment(load_default=None)
    until = moment(load_default=None)


def blueprint() -> Blueprint:
    """Each council's own keys, case-system sources and audit trail, for its admins."""
    routes = Blueprint("admin", __name__, url_prefix="/v1")
    routes.add_url_rule("/keys", view_func=list_keys, methods=["GET"])
    routes.add_url_rule("/keys", view_func=create_key, methods=["POST"])
    routes.add_url_rule("/keys/<key_id>/revoke", view_func=revoke_key, methods=["POST"])
    routes.add_url_rule("/sources", view_func=list_sources, methods=["GET"])
    routes.add_url_rule("/sources", view_func=add_source, methods=["POST"])
    routes.add_url_rule("/sources/<source_id>", view_func=get_source, methods=["GET"])
    routes.add_url_rule("/sources/<source_id>", view_func=remove_source, methods=["DELETE"])
    routes.add_url_rule("/audit", view_func=audit_entries, methods=["GET"])
    return routes


key_schema = KeySchema()
new_key_schema = NewKeySchema()
page_schema = PageSchema()
entry_schema = AuditEntrySchema()
source_schema = SourceSchema()
audit_query_schema = AuditQuerySchema()


@documented(query=PageSchema, responses={200: page_response(KeySchema)})
@requires(ROLE_ADMIN)
def list_keys():
    args = query_args(page_schema)
    keys = platform().keys.list_keys(principal().tenant)
    start = (args["page"] - 1) * args["per_page"]
    return page_of(key_schema, keys[start : start + args["per_page"]], len(keys), **args)


@documented(body=KeySchema, responses={201: NewKeySchema})
@requires(ROLE_ADMIN)
def create_key():
    data = json_body(key_schema)
    keys, tenant = platform().keys, principal().tenant
    key_id, key = keys.create_key(tenant, data["role"], label=data["label"])
    created = {**keys.get_key(tenant, key_id), "key": key}
    return new_key_schema.dump(created), 201, {"Location": f"/v1/keys/{key_id}"}


@documented(responses={200: KeySchema})
@requires(ROLE_ADMIN)
@audit.audits_as(AUDIT_UPDATE)
def revoke_key(key_id: str):
    keys, tenant = platform().keys, principal().tenant
    try:
        keys.revoke(key_id, tenant=tenant)
    except UnknownKey:
        raise NotFound("key") from None
    return key_schema.dump(keys.get_key(tenant, key_id))


@documented(query=PageSchema, responses={200: page_response(SourceSchema)})
@requires(ROLE_ADMIN)
def list_sources():
    args = query_args(page_schema)
    sources = platform().keys.list_sources(principal().tenant)
    start = (args["page"] - 1) * args["per_page"]
    return page_of(source_schema, sources[start : start + args["per_page"]], len(sources), **args)


@documented(body=SourceSchema, responses={201: SourceSchema})
@requires(ROLE_ADMIN)
def add_source():
    data = json_body(source_schema)
    registered, created = platform().keys.add_source(principal().tenant, data["source"])
    if not created:
        raise Conflict("This source is already registered.")
    return source_schema.dump(registered), 201, {"Location": f"/v1/sources/{registered['id']}"}


@documented(responses={200: SourceSchema})
@requires(ROLE_ADMIN)
def get_source(source_id: str):
    try:
        return source_schema.dump(platform().keys.get_source(principal().tenant, source_id))
    except UnknownSource:
        raise NotFound("source") from None


@documented(responses={204: None})
@requires(ROLE_ADMIN)
def remove_source(source_id: str):
    try:
        platform().keys.remove_source(principal().tenant, source_id=source_id)
    except UnknownSource:
        raise NotFound("source") from None
    return "", 204


@documented(query=AuditQuerySchema, responses={200: page_response(AuditEntrySchema)})
@requires(ROLE_ADMIN)
def audit_entries():
    args = query_args(audit_query_schema)
    items, total = audit.search(platform().engine, principal().tenant, **args)
    return page_of(entry_schema, items, total, args["page"], args["per_page"])
