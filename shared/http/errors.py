"""RFC 9457 problem details for every error a client can see."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, Response, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from shared.messaging.events import flatten_errors
from shared.rules import domain

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TYPES = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    431: "header-fields-too-large",
    500: "internal-error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error a view raises on purpose; it becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.errors = errors
        self.headers = headers or {}


def problem(
    status: int, detail: str, *, title: str | None = None, errors: dict | None = None, headers: dict | None = None
) -> Response:
    from werkzeug.http import HTTP_STATUS_CODES

    body = {
        "type": f"/problems/{_TYPES.get(status, 'error')}",
        "title": title or HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return problem(exc.status, exc.detail, title=exc.title, errors=exc.errors, headers=exc.headers)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        return problem(422, "The request has invalid fields.", errors=flatten_errors(exc.messages))

    @app.errorhandler(domain.InvalidInput)
    def _invalid(exc: domain.InvalidInput):
        return problem(422, "The request has invalid fields.", errors=exc.errors)

    @app.errorhandler(domain.NotFound)
    def _not_found(exc: domain.NotFound):
        return problem(404, f"No {exc.what} with that id.")

    @app.errorhandler(domain.Conflict)
    def _conflict(exc: domain.Conflict):
        return problem(409, str(exc))

    @app.errorhandler(sa.exc.IntegrityError)
    def _concurrent(exc: sa.exc.IntegrityError):
        # Two requests changed the same thing at once and the database kept one: say so.
        log.warning("integrity conflict", extra={"error": type(exc.orig).__name__ if exc.orig else None})
        return problem(409, "Another change to the same thing happened at the same moment; try again.")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        headers = {}
        if exc.code == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        detail = {
            404: "No such resource.",
            413: "The request body is larger than the limit.",
        }.get(exc.code, exc.description or "")
        return problem(exc.code or 500, detail, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error", extra={"error": type(exc).__name__})
        return problem(500, "Something went wrong on our side; it has been logged.")
