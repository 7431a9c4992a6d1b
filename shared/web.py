"""The Flask parts every service shares: app factory, auth, JSON bodies, health."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, g, jsonify, request
from marshmallow import Schema
from werkzeug.exceptions import BadRequest

from shared import db, errors, metrics, outbox
from shared.auth import Principal
from shared.constants import BULK_MAX_BODY_BYTES, DEAD_LETTER_OPEN, MAX_BODY_BYTES
from shared.errors import ApiError
from shared.events import unstorable_text
from shared.platform import Platform
from shared.tables import dead_letters

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def platform() -> Platform:
    return current_app.extensions["platform"]


def reads():
    """A unit of work for a view that only reads."""
    return platform().uow(read_only=True)


def principal() -> Principal:
    return g.principal


def requires(*roles: str) -> Callable:
    """Let through only a valid, unrevoked key whose role is one of `roles`."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            found = platform().keys.authenticate(token.strip()) if scheme.lower() == "bearer" else None
            if found is None:
                raise ApiError(
                    401,
                    "Send a valid API key as 'Authorization: Bearer <key>'.",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if found.role not in roles:
                raise ApiError(403, f"The {found.role} role may not do this.")
            g.principal = found
            return view(*args, **kwargs)

        guarded.required_roles = roles
        return guarded

    return decorate


def allows_bulk_body(view: Callable) -> Callable:
    """Raise this endpoint's body limit from 64 KiB to BULK_MAX_BODY_BYTES (bulk links)."""

    @functools.wraps(view)
    def bulk(*args, **kwargs):
        request.max_content_length = BULK_MAX_BODY_BYTES
        return view(*args, **kwargs)

    return bulk


def json_body(schema: Schema) -> dict:
    """The request's JSON, validated: 415 if not JSON, 400 if malformed, 422 if invalid."""
    if not request.is_json:
        raise ApiError(415, "Send the body as application/json.")
    try:
        document = request.get_json()
    except (BadRequest, RecursionError):  # nesting deep enough to exhaust the parser is malformed too
        raise ApiError(400, "The body is not valid JSON.") from None
    if unstorable_text(document):
        raise ApiError(400, "The body holds a NUL character or an unpaired surrogate, which cannot be stored.")
    return schema.load(document)


def query_args(schema: Schema) -> dict:
    return schema.load(request.args.to_dict())


def _database_gauges(p: Platform) -> metrics.DatabaseGauges:
    def read() -> dict[str, float]:
        backlog, age = outbox.backlog(p.engine)
        with db.read_only(p.engine) as connection:
            open_dead_letters = connection.execute(
                sa.select(sa.func.count()).where(dead_letters.c.status == DEAD_LETTER_OPEN)
            ).scalar_one()
        return {
            "outbox_backlog": backlog,
            "outbox_oldest_age_seconds": age,
            "dead_letters_open": open_dead_letters,
        }

    return metrics.DatabaseGauges(p.service, read)


def _health_blueprint(p: Platform) -> Blueprint:
    health = Blueprint("health", __name__)
    gauges = _database_gauges(p)

    @health.get("/healthz")
    def healthz():
        return jsonify(status="ok", service=p.service)

    @health.get("/readyz")
    def readyz():
        checks = {"database": "ok", "kafka": "ok"}
        try:
            db.ping(p.engine)
        except sa.exc.SQLAlchemyError:
            checks["database"] = "unreachable"
        if not p.kafka_reachable():
            checks["kafka"] = "unreachable"
        ready = all(v == "ok" for v in checks.values())
        return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503

    @health.get("/metrics")
    def prometheus():
        body, content_type = metrics.exposition(gauges)
        return body, 200, {"Content-Type": content_type}

    return health


def create_app(p: Platform, blueprints: Iterable[Blueprint]) -> Flask:
    app = Flask(p.service)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["platform"] = p
    errors.register(app)
    app.register_blueprint(_health_blueprint(p))
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.HTTP_REQUESTS.labels(p.service, endpoint, request.method, response.status_code).inc()
        metrics.HTTP_LATENCY.labels(p.service, endpoint).observe(
            time.perf_counter() - g.get("started", time.perf_counter())
        )
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
