"""Gunicorn's logger class: the route, never the path; the error log masked."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from gunicorn.config import Config

from shared.http.access_log import AccessLogger, masked
from shared.rules.constants import ACCESS_LOG_ROUTE_KEY


def atoms_for(path: str, route: str | None) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path + "?email=jane.doe@example.org",
        "PATH_INFO": path,
        "QUERY_STRING": "email=jane.doe@example.org",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "https://example.org/?phone=07700900731",
    }
    if route:
        environ[ACCESS_LOG_ROUTE_KEY] = route
    response = SimpleNamespace(status="404 NOT FOUND", sent=10, headers=[])
    request = SimpleNamespace(headers=[("X-NOTE", "Jane Doe")])
    return AccessLogger(Config()).atoms(response, request, environ, dt.timedelta(seconds=1))


def test_the_path_query_and_request_line_are_the_route_a_request_matched():
    atoms = atoms_for("/v1/contributions/+44 7700 900731", "/v1/contributions/<contribution_id>")

    assert atoms["U"] == "/v1/contributions/<contribution_id>"
    assert atoms["r"] == "GET /v1/contributions/<contribution_id> HTTP/1.1"
    assert "7700" not in str(atoms) and "jane" not in str(atoms).lower()


def test_a_request_no_route_matched_is_logged_as_unmatched():
    atoms = atoms_for("/v1/nothing/Jane Doe", None)

    assert atoms["U"] == "unmatched"
    assert "Jane" not in str(atoms)


def test_the_error_log_masks_contact_details_and_leaves_out_a_refused_request_line():
    assert masked("Invalid request from ip=10.0.0.1: Invalid HTTP request line: 'GET /x/Jane Doe'", ()) == (
        "Invalid request from ip=10.0.0.1: (details not logged: they quote the request)"
    )
    assert masked("Error handling request %s", ("/v1/contributions/jane@example.org",)) == (
        "Error handling request /v1/contributions/[redacted]"
    )
