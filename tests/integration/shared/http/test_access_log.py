"""The web processes as deployed: gunicorn with deploy/gunicorn.conf.py, its access log and its size limits.

A real gunicorn serves intake (one worker, SQLite); requests go over a socket byte for
byte, so the request line is exactly what a client sent, and what gunicorn wrote to its
log is read back when it has stopped.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[4]
PHONE = "+44 7700 900731"
EMAIL = "jane.doe@example.org"


@pytest.fixture
def database_backend() -> str:
    """What is logged does not depend on the database: SQLite only."""
    return "sqlite"


class Gunicorn:
    def __init__(self, port: int, process: subprocess.Popen, log: Path):
        self.port, self.process, self.log = port, process, log

    def request(self, method: str, target: str, headers: dict | None = None) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request line sent exactly as given."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            connection.close()

    def raw(self, data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(data)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def stop(self) -> str:
        """Stop gunicorn (as an orchestrator would) and return everything it logged."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        return self.log.read_text(errors="replace")


@pytest.fixture
def gunicorn(intake, tmp_path):
    """intake under gunicorn with the deployed configuration; the test's settings come from its environment."""
    port = free_port()
    log = tmp_path / "intake-web.log"
    env = {**os.environ, "SERVICE": "intake", "INTAKE_PORT": str(port), "WEB_CONCURRENCY": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "services.intake.entrypoints.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Gunicorn(port, process, log)
    deadline = time.monotonic() + 120  # a busy machine boots slowly
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if server.request("GET", "/healthz")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "gunicorn did not come up"
        time.sleep(0.3)
    yield server
    server.stop()


def test_the_access_log_names_the_route_never_the_path_a_client_sent(gunicorn, council):
    key = {"Authorization": f"Bearer {council.keys['staff']}"}

    statuses = [
        gunicorn.request("GET", "/v1/contributions/+44%207700%20900731", key)[0],
        gunicorn.request("GET", "/v1/contributions/jane.doe@example.org?email=jane.doe@example.org", key)[0],
        gunicorn.request("GET", "/v1/participants/Jane%20Doe%2012%20Elm%20Road")[0],
        gunicorn.request("GET", "/v1/no-such-thing/jane.doe@example.org", key)[0],
    ]
    logged = gunicorn.stop()

    assert statuses == [404, 404, 401, 404]
    assert "GET /v1/contributions/<contribution_id> 404" in logged
    assert "GET /v1/participants/<participant_id> 401" in logged
    assert "GET unmatched 404" in logged
    for personal in ("7700", "900731", "jane", "Jane", "Elm"):
        assert personal not in logged


def test_a_malformed_request_line_is_refused_without_logging_what_it_quotes(gunicorn):
    answer = gunicorn.raw(f"GET /v1/contributions/{PHONE} {EMAIL} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    logged = gunicorn.stop()

    assert answer.startswith(b"HTTP/1.1 400")
    for personal in ("7700", "900731", "jane"):
        assert personal not in logged


@pytest.mark.parametrize(
    ("target", "headers", "status", "kind"),
    [
        ("/v1/engagements?q=" + "x" * 4100, {}, 414, "uri-too-long"),
        ("/v1/engagements/" + "x" * 5000, {}, 414, "uri-too-long"),
        ("/v1/engagements", {"X-Note": "x" * 9000}, 431, "header-fields-too-large"),
    ],
    ids=["query over 4,096 bytes", "path over 4,096 bytes", "header over 8,190 bytes"],
)
def test_a_request_over_a_size_limit_is_answered_as_a_problem_through_gunicorn(gunicorn, target, headers, status, kind):
    answered, content_type, body = gunicorn.request("GET", target, headers)

    assert (answered, content_type) == (status, "application/problem+json")
    assert json.loads(body)["type"] == f"/problems/{kind}"


def test_beyond_gunicorns_own_limits_it_answers_as_the_readme_says(gunicorn):
    """Documented in the README's errors: these never reach the app."""
    assert gunicorn.request("GET", "/v1/engagements?q=" + "x" * 8200)[0] == 414
    assert gunicorn.request("GET", "/v1/engagements", {"X-Note": "x" * 17000})[0] == 431
