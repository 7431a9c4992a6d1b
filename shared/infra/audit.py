"""The audit log: who (key id, or the person signed in, and role) read or changed what, in every service database.

The web layer appends one row for every authenticated `/v1` request, or request to a
signed-in page, that changes something and for every read of personal data, refused
attempts included (403, 404, and 401 with a key id we know, e.g. a revoked key). Rows hold the URL rule and its
variables (ids), never a body or a query value, so the log itself holds no personal data.

Append-only: this module only inserts, and the migration adds triggers that refuse
UPDATE and DELETE (and TRUNCATE on PostgreSQL) on the table.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable

import sqlalchemy as sa
from flask import Request

from shared.infra import db
from shared.infra.auth import Principal
from shared.infra.logging import redact
from shared.infra.tables import BigIntId, UTCDateTime, platform_metadata
from shared.rules.constants import AUDIT_CREATE, AUDIT_DELETE, AUDIT_READ, AUDIT_UPDATE

RESOURCE_ID_MAX = 100  # ids are at most 36 characters; a longer URL variable is cut here
# An id is a UUID, or letters, digits, `-` and `_` not shaped like a phone number; a URL
# variable that is not (an email address, a name or a number typed where an id goes) is
# recorded as NOT_AN_ID, never as given.
UUID_SHAPED = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
ID_SHAPED = re.compile(r"[A-Za-z0-9_-]+")
NOT_AN_ID = "[not an id]"

audit_log = sa.Table(
    "audit_log",
    platform_metadata,
    sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("route", sa.String(255), nullable=False),
    # The URL variables as a JSON object, e.g. {"decision_id": "...", "contribution_id": "..."}.
    sa.Column("resource_ids", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("personal_data", sa.Boolean, nullable=False),
    # A person signed in with their council's identity provider (NULL for an API key):
    # the provider, their subject there and the name it gave; `key_id` is then their reference.
    sa.Column("person_issuer", sa.String(1024), nullable=True),
    sa.Column("person_subject", sa.String(255), nullable=True),
    sa.Column("person_name", sa.String(200), nullable=True),
    sa.Index("ix_audit_log_tenant_id", "tenant", "id"),
)

ACTION_FOR_METHOD = {
    "GET": AUDIT_READ,
    "HEAD": AUDIT_READ,
    "POST": AUDIT_CREATE,
    "PUT": AUDIT_UPDATE,
    "PATCH": AUDIT_UPDATE,
    "DELETE": AUDIT_DELETE,
}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def handles_personal_data(view: Callable) -> Callable:
    """Mark a view that reads or writes personal data: its reads are audited too."""
    view.handles_personal_data = True
    return view


def audits_as(action: str) -> Callable[[Callable], Callable]:
    """Name a view's action when its method says otherwise (a POST that revokes is an update)."""

    def mark(view: Callable) -> Callable:
        view.audit_action = action
        return view

    return mark


def written_with_change(status: int) -> Callable[[Callable], Callable]:
    """Write a view's audit row in the transaction of the change it commits (one write, not
    two, and the change is never committed without its row), recorded with `status`: the
    answer the view gives once its change is committed. Answered otherwise (refused, a
    repeat, an error after the commit), the request gets its row afterwards, as any other."""

    def mark(view: Callable) -> Callable:
        view.audit_written_with_change = status
        return view

    return mark


def applies(request: Request, view: Callable | None) -> bool:
    """Whether a request to this view is audited: every change, and reads of personal data."""
    if view is None or not (hasattr(view, "required_roles") or hasattr(view, "page_roles")):
        return False  # unmatched, or neither a key-guarded API route nor a signed-in page
    return request.method not in READ_METHODS or getattr(view, "handles_personal_data", False)


def entry_for(request: Request, view: Callable, who: Principal, status: int, at: dt.datetime) -> dict:
    """The audit row for this request, as `who` made it."""
    resource_ids = {name: _id_or_mask(value) for name, value in (request.view_args or {}).items()}
    return {
        "at": at,
        "tenant": who.tenant,
        "key_id": who.key_id,
        "role": who.role,
        "action": getattr(view, "audit_action", None) or ACTION_FOR_METHOD.get(request.method, AUDIT_READ),
        "method": request.method,
        "route": request.url_rule.rule,
        "resource_ids": json.dumps(resource_ids),
        "status": status,
        "personal_data": getattr(view, "handles_personal_data", False),
        "person_issuer": who.person.issuer if who.person else None,
        "person_subject": who.person.subject if who.person else None,
        "person_name": who.person.name if who.person else None,
    }


def _id_or_mask(value: object) -> str:
    text = str(value)[:RESOURCE_ID_MAX]
    if UUID_SHAPED.fullmatch(text) or (ID_SHAPED.fullmatch(text) and redact(text) == text):
        return text
    return NOT_AN_ID


# One INSERT, its values as parameters: compiled once per process (`.values(**row)` would
# build a new statement, and its cache key, every time).
INSERT = audit_log.insert()


def append(engine: sa.Engine, row: dict) -> None:
    with engine.begin() as connection:
        connection.execute(INSERT, row)


_columns = [c for c in audit_log.c if c.name != "tenant"]


def search(
    engine: sa.Engine,
    tenant: str,
    *,
    key_id: str | None = None,
    role: str | None = None,
    action: str | None = None,
    route: str | None = None,
    resource_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[dict], int]:
    """One tenant's audit rows, newest first; `until` is exclusive."""
    conditions = [audit_log.c.tenant == tenant]
    for column, value in ((audit_log.c.key_id, key_id), (audit_log.c.role, role), (audit_log.c.action, action)):
        if value is not None:
            conditions.append(column == value)
    if route is not None:
        conditions.append(audit_log.c.route == route)
    if resource_id is not None:
        # A value of the JSON object exactly as `entry_for` wrote it: `"name": "<id>"`.
        conditions.append(audit_log.c.resource_ids.contains(": " + json.dumps(resource_id), autoescape=True))
    if since is not None:
        conditions.append(audit_log.c.at >= since)
    if until is not None:
        conditions.append(audit_log.c.at < until)
    with db.read_only(engine) as connection:
        rows = connection.execute(
            sa.select(*_columns)
            .where(*conditions)
            .order_by(audit_log.c.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).mappings()
        items = [{**row, "resource_ids": json.loads(row["resource_ids"])} for row in rows]
        total = connection.execute(sa.select(sa.func.count()).select_from(audit_log).where(*conditions)).scalar_one()
    return items, total
