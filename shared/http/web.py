"""The Flask parts every service shares: app factory, auth, JSON bodies, health."""

from __future__ import annotations

import functools
import hmac
import logging
import time
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request, session
from marshmallow import Schema
from werkzeug.exceptions import NotFound

from shared.http import errors, openapi
from shared.http.errors import ApiError
from shared.http.pages import session_principal
from shared.infra import audit, db, metrics
from shared.infra.auth import Principal
from shared.infra.platform import Platform
from shared.infra.tables import dead_letters
from shared.messaging import asyncapi, outbox
from shared.messaging.events import unstorable_text
from shared.rules.constants import (
    ACCESS_LOG_ROUTE_KEY,
    BULK_MAX_BODY_BYTES,
    DEAD_LETTER_OPEN,
    MAX_BODY_BYTES,
    MAX_HEADER_FIELD_BYTES,
    MAX_REQUEST_TARGET_BYTES,
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

log = logging.getLogger(__name__)


def platform() -> Platform:
    return current_app.extensions["platform"]


def reads():
    """A unit of work for a view that only reads."""
    return platform().uow(read_only=True)


def principal() -> Principal:
    return g.principal


def _personal_session() -> Principal | None:
    """A person signed in to the pages, calling the API from that browser session (a key
    session does not count: keys are sent as keys). A change must carry the session's CSRF
    token in `X-CSRF-Token`, which only the service's own pages can read."""
    if "person" not in session:
        return None
    found = session_principal(lambda key_id: None)
    if found is not None and request.method not in audit.READ_METHODS:
        sent, expected = request.headers.get("X-CSRF-Token", ""), session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            g.principal = found  # refused, and recorded as theirs
            raise ApiError(403, "Send the page session's CSRF token as 'X-CSRF-Token' with a change.")
    return found


def requires(*roles: str) -> Callable:
    """Let through only a valid, unrevoked key (or a person's page session) whose role is one
    of `roles`, within its rate limit."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            token = token.strip() if scheme.lower() == "bearer" else ""
            found = platform().keys.authenticate(token) if token else None
            if found is None and not header:
                found = _personal_session()
            if found is None:
                g.refused_key = token  # whose it was, if anyone's, is looked up only for the audit log
                raise ApiError(
                    401,
                    "Send a valid API key as 'Authorization: Bearer <key>'.",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            g.principal = found
            _spend_allowance(found)
            if found.role not in roles:
                raise ApiError(403, f"The {found.role} role may not do this.")
            status = getattr(view, "audit_written_with_change", None)
            if status is None:
                return view(*args, **kwargs)
            p = platform()
            with db.written_with_next_commit(audit.INSERT, lambda: _audit_row(p, found, status)) as rider:
                g.audit_written = (rider, status)
                return view(*args, **kwargs)

        guarded.required_roles = roles
        return guarded

    return decorate


def _spend_allowance(who: Principal) -> None:
    """One request off the key's rate limit; 429 with Retry-After when it has none left."""
    g.allowance = allowance = platform().rate_limiter.take(who.key_id)
    if not allowance.allowed:
        raise ApiError(
            429,
            f"This key has sent more requests than its limit allows; try again in {allowance.retry_after} s.",
            headers={"Retry-After": str(allowance.retry_after)},
        )


def _rate_limit_headers(response: Response) -> None:
    allowance = g.get("allowance")
    if allowance is not None:
        response.headers["RateLimit-Limit"] = str(allowance.limit)
        response.headers["RateLimit-Remaining"] = str(allowance.remaining)
        response.headers["RateLimit-Reset"] = str(allowance.reset)


def _audit_row(p: Platform, who: Principal, status: int) -> dict:
    view = current_app.view_functions.get(request.endpoint)
    return audit.entry_for(request, view, who, status, p.clock())


def _audited(p: Platform, response: Response) -> Response:
    """Append the request to the audit log if it is audited; 503 if that cannot be done.

    A personal-data read is then never answered unrecorded. A change is already committed
    by now (the audit row is not in its transaction): the client is told 503 and the log
    says which key, route and status went unaudited, so nothing passes without a trace.
    A view marked `audit.written_with_change` had its row written in its change's own
    transaction (see `requires`); it gets one here only if it answered otherwise.
    """
    allowance = g.get("allowance")
    view = current_app.view_functions.get(request.endpoint) if request.url_rule else None
    if not audit.applies(request, view) or (allowance is not None and not allowance.allowed):
        return response  # a refused-for-rate request is not written: the limit is there to shed load
    rider, status = g.get("audit_written", (None, None))
    if rider is not None and rider.written and response.status_code == status:
        return response  # written with the change, in its transaction
    try:
        who = (
            g.get("principal")
            or g.get("page_principal")  # a signed-in page's key (shared/http/pages.py)
            or (p.keys.identify(g.refused_key) if g.get("refused_key") else None)
        )
        if who is None:
            return response  # no key id we know: nobody to record
        audit.append(p.engine, _audit_row(p, who, response.status_code))
    except sa.exc.SQLAlchemyError:
        log.exception(
            "audit write failed",
            extra={
                "key_id": getattr(g.get("principal"), "key_id", None),
                "route": request.url_rule.rule,
                "method": request.method,
                "status": response.status_code,
            },
        )
        return errors.problem(503, "The request could not be recorded in the audit log; try again shortly.")
    return response


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
        # UTF-8 only (RFC 8259): request.get_json() would guess UTF-16 or UTF-32 and skip a
        # byte order mark; decoded here, a BOM left in the text is malformed JSON.
        document = current_app.json.loads(request.get_data(cache=True).decode("utf-8"))
    except (ValueError, RecursionError):  # nesting deep enough to exhaust the parser is malformed too
        raise ApiError(400, "The body is not valid UTF-8 JSON.") from None
    if unstorable_text(document):
        raise ApiError(400, "The body holds a NUL character or an unpaired surrogate, which cannot be stored.")
    return schema.load(document)


def query_args(schema: Schema) -> dict:
    return schema.load(request.args.to_dict())


def _database_gauges(p: Platform) -> metrics.DatabaseGauges:
    def platform_readings() -> list[metrics.Reading]:
        backlog, age = outbox.backlog(p.engine)
        with db.read_only(p.engine) as connection:
            open_dead_letters = connection.execute(
                sa.select(sa.func.count()).where(dead_letters.c.status == DEAD_LETTER_OPEN)
            ).scalar_one()
        return [
            metrics.Reading("outbox_backlog", "Outbox rows not yet acknowledged by the broker", backlog),
            metrics.Reading("outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", age),
            metrics.Reading("dead_letters_open", "Inbound events refused and not yet replayed", open_dead_letters),
        ]

    return metrics.DatabaseGauges(p.service, [platform_readings, *p.gauge_readers])


def _scraper_only(token: str) -> None:
    """/metrics carries per-council figures: it answers only the scraper's bearer token
    (METRICS_TOKEN), compared in constant time; with no token set it is not served at all."""
    if not token:
        raise NotFound()
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
        raise ApiError(
            401,
            "Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


def _health_blueprint(p: Platform) -> Blueprint:
    health = Blueprint("health", __name__)
    gauges = _database_gauges(p)

    @health.get("/healthz")
    def healthz():
        """Liveness: 200 while the process answers. `checks.kafka` says whether a Kafka
        bootstrap server accepts a connection (`ok` or `unreachable`), for the operator."""
        kafka = "ok" if p.kafka_reachable() else "unreachable"
        return jsonify(status="ok", service=p.service, checks={"kafka": kafka})

    @health.get("/readyz")
    def readyz():
        """Readiness: 200 while the service's database answers, 503 when it does not. Kafka's
        state does not count: every write waits in the outbox until the relay can publish it."""
        try:
            db.ping(p.engine)
        except sa.exc.SQLAlchemyError:
            return jsonify(status="not ready", checks={"database": "unreachable"}), 503
        return jsonify(status="ready", checks={"database": "ok"})

    @health.get("/metrics")
    def prometheus():
        """Prometheus text format, for the scraper only: `Authorization: Bearer <METRICS_TOKEN>`
        (401 without it; 404 when the deployment sets no token)."""
        _scraper_only(p.settings.metrics_token)
        body, content_type = metrics.exposition(gauges, p.settings.prometheus_multiproc_dir)
        return body, 200, {"Content-Type": content_type}

    return health


def _within_request_limits() -> None:
    """414 for a request target, 431 for a header field, over the limit (as problem+json)."""
    environ = request.environ
    path = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path).split("?", 1)[0]
    query = environ.get("QUERY_STRING", "")
    target = f"{path}?{query}" if query else path  # as sent: gunicorn's RAW_URI; the test client's lacks the query
    if len(target.encode("utf-8", "surrogateescape")) > MAX_REQUEST_TARGET_BYTES:
        raise ApiError(414, f"The path and query are longer than {MAX_REQUEST_TARGET_BYTES} bytes.")
    for name, value in request.headers.items():
        if len(name) + len(value.encode("latin-1", "replace")) > MAX_HEADER_FIELD_BYTES:
            raise ApiError(431, f"A header field is longer than {MAX_HEADER_FIELD_BYTES} bytes.")


def _add_security_headers(response: Response) -> None:
    """SECURITY_HEADERS, each unless the view set its own (added at once: one `setdefault`
    each cost more than the rest of the response's headers)."""
    present = {name.lower() for name in response.headers.keys()}
    response.headers.extend([(name, value) for name, value in SECURITY_HEADERS.items() if name.lower() not in present])


def create_app(p: Platform, blueprints: Iterable[Blueprint]) -> Flask:
    app = Flask(p.service)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["platform"] = p
    errors.register(app)
    app.register_blueprint(_health_blueprint(p))
    app.register_blueprint(openapi.blueprint())
    app.register_blueprint(asyncapi.blueprint())  # every topic and event, beside the API
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()
        _within_request_limits()

    @app.after_request
    def _finish(response):
        response = _audited(p, response)
        _rate_limit_headers(response)
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        # The access log names the route, never the path: a path may carry whatever was typed.
        request.environ[ACCESS_LOG_ROUTE_KEY] = endpoint
        metrics.HTTP_REQUESTS.labels(p.service, endpoint, request.method, response.status_code).inc()
        metrics.HTTP_LATENCY.labels(p.service, endpoint).observe(
            time.perf_counter() - g.get("started", time.perf_counter())
        )
        _add_security_headers(response)
        return response

    return app
