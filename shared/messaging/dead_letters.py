"""Dead letters: events that could not be accepted, listed and replayed over the API."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint
from marshmallow import Schema, fields, validate

from shared.http.openapi import documented
from shared.http.schemas import PageSchema, page_response
from shared.http.web import platform, principal, query_args, requires
from shared.infra import db
from shared.infra.audit import audits_as
from shared.infra.tables import dead_letters
from shared.messaging import events
from shared.rules.constants import AUDIT_UPDATE, DEAD_LETTER_OPEN, DEAD_LETTER_REPLAYED
from shared.rules.domain import NotFound


class DeadLetterSchema(Schema):
    id = fields.String()
    topic = fields.String()
    partition = fields.Integer()
    offset = fields.Integer()
    # Missing when the record was not a CloudEvent; "(not shown: ...)" when what the sender
    # wrote is not shaped like the attribute (shared/messaging/events.py, shown_attribute).
    event_source = fields.String(allow_none=True, metadata={"description": "The CloudEvents `source`, if shown."})
    event_id = fields.String(allow_none=True, metadata={"description": "The CloudEvents `id`, if shown."})
    event_type = fields.String(allow_none=True, metadata={"description": "The CloudEvents `type`, if shown."})
    reason = fields.String()
    status = fields.String()
    received_at = fields.AwareDateTime()
    replayed_at = fields.AwareDateTime(allow_none=True)
    replay_count = fields.Integer()


class ReplayedDeadLetterSchema(DeadLetterSchema):
    outcome = fields.String(metadata={"description": "accepted, or duplicate (an event already applied)."})


class DeadLetterQuerySchema(PageSchema):
    status = fields.String(load_default=None, validate=validate.OneOf((DEAD_LETTER_OPEN, DEAD_LETTER_REPLAYED)))


_columns = [dead_letters.c[name] for name in DeadLetterSchema().fields]


def _shown(row: sa.RowMapping) -> dict:
    """A dead letter as staff and operators see it; rows kept before the attributes were
    checked on the way in are checked on the way out."""
    item = dict(row)
    for attribute in ("source", "id", "type"):
        item[f"event_{attribute}"] = events.shown_attribute(attribute, item[f"event_{attribute}"])
    return item


def list_for_tenant(
    engine: sa.Engine, tenant: str | None, *, status: str | None, page: int, per_page: int
) -> tuple[list[dict], int]:
    """A tenant's dead letters; tenant None lists every one (the operator's CLI)."""
    conditions = []
    if tenant is not None:
        conditions.append(dead_letters.c.tenant == tenant)
    if status:
        conditions.append(dead_letters.c.status == status)
    with db.read_only(engine) as connection:
        rows = connection.execute(
            sa.select(*_columns)
            .where(*conditions)
            .order_by(dead_letters.c.received_at.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).mappings()
        items = [_shown(row) for row in rows]
        total = connection.execute(sa.select(sa.func.count()).select_from(dead_letters).where(*conditions)).scalar_one()
    return items, total


def get_for_tenant(engine: sa.Engine, tenant: str | None, dead_letter_id: str) -> dict:
    conditions = [dead_letters.c.id == dead_letter_id]
    if tenant is not None:
        conditions.append(dead_letters.c.tenant == tenant)
    with db.read_only(engine) as connection:
        row = connection.execute(sa.select(*_columns).where(*conditions)).mappings().first()
    if row is None:
        raise NotFound("dead letter")
    return _shown(row)


def blueprint(roles: tuple[str, ...]) -> Blueprint:
    routes = Blueprint("dead_letters", __name__)
    schema = DeadLetterSchema()
    query_schema = DeadLetterQuerySchema()

    @routes.get("/dead-letters")
    @documented(query=DeadLetterQuerySchema, responses={200: page_response(DeadLetterSchema)})
    @requires(*roles)
    def list_dead_letters():
        args = query_args(query_schema)
        items, total = list_for_tenant(platform().engine, principal().tenant, **args)
        return {
            "items": schema.dump(items, many=True),
            "page": args["page"],
            "per_page": args["per_page"],
            "total": total,
        }

    @routes.get("/dead-letters/<dead_letter_id>")
    @documented(responses={200: DeadLetterSchema})
    @requires(*roles)
    def get_dead_letter(dead_letter_id: str):
        return schema.dump(get_for_tenant(platform().engine, principal().tenant, dead_letter_id))

    @routes.post("/dead-letters/<dead_letter_id>/replay")
    @documented(responses={200: ReplayedDeadLetterSchema}, errors=(422,))
    @requires(*roles)
    @audits_as(AUDIT_UPDATE)
    def replay_dead_letter(dead_letter_id: str):
        p = platform()
        outcome = p.processor.replay(dead_letter_id, tenant=principal().tenant)
        return {**schema.dump(get_for_tenant(p.engine, principal().tenant, dead_letter_id)), "outcome": outcome}

    return routes
