"""What every service shares: rate limits, body limits, security headers, revocation, probes and metrics."""

from __future__ import annotations

import dataclasses
import re
import socket

import pytest
import sqlalchemy as sa

from shared.http.web import SECURITY_HEADERS
from shared.infra.settings import Settings
from shared.rules.constants import MAX_BODY_BYTES
from tests.support import factories
from tests.support.api import METRICS_TOKEN, ApiClient, scrape

# A read each service answers for its staff; nothing to set up first.
STAFF_READ = {"intake": "/v1/engagements", "decisions": "/v1/boards", "notifier": "/v1/notifications"}
# A write on each service with a 64 KiB body limit, and a body for it.
WRITE = {
    "intake": ("POST", "/v1/engagements", factories.engagement_payload),
    "decisions": ("POST", "/v1/boards", factories.board_payload),
    "notifier": (
        "PUT",
        "/v1/participants/11111111-2222-3333-4444-555555555555/preferences",
        factories.preferences_payload,
    ),
}


class TestRateLimits:
    @pytest.fixture
    def service_settings(self, settings) -> Settings:
        """A key may send 3 requests at once, then one a second."""
        return dataclasses.replace(settings, rate_limit_per_minute=60, rate_limit_burst=3)

    @pytest.mark.parametrize("service", STAFF_READ)
    def test_a_key_over_its_limit_is_429_with_retry_after(self, api, service):
        staff = api[service]
        answers = [staff.get(STAFF_READ[service]) for _ in range(4)]

        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert refused.mimetype == "application/problem+json"
        assert refused.json["type"] == "/problems/rate-limited"
        assert refused.headers["Retry-After"] == "1"
        assert answers[0].headers["RateLimit-Limit"] == "3"
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]

    def test_another_key_of_the_same_tenant_is_unaffected(self, api):
        staff, board = api["decisions"], api["decisions"].as_("board")
        for _ in range(3):
            staff.get("/v1/boards")
        assert staff.get("/v1/boards").status_code == 429

        assert board.get("/v1/boards").status_code == 200

    def test_the_bucket_refills_with_time(self, api, clock):
        staff = api["intake"]
        for _ in range(3):
            staff.get("/v1/engagements")
        assert staff.get("/v1/engagements").status_code == 429

        clock.advance(0.5)
        assert staff.get("/v1/engagements").status_code == 429
        clock.advance(1)
        assert staff.get("/v1/engagements").status_code == 200
        clock.advance(60)
        assert [staff.get("/v1/engagements").status_code for _ in range(4)] == [200, 200, 200, 429]

    def test_retry_after_says_how_long_until_a_request_is_allowed(self, api, clock):
        staff = api["intake"]
        for _ in range(3):
            staff.get("/v1/engagements")
        clock.advance(0.25)

        refused = staff.get("/v1/engagements")

        assert refused.headers["Retry-After"] == "1"  # 0.75 s, in whole seconds rounded up
        clock.advance(int(refused.headers["Retry-After"]))
        assert staff.get("/v1/engagements").status_code == 200


def test_the_default_limits_are_600_a_minute_with_bursts_of_120(monkeypatch):
    monkeypatch.delenv("RATE_LIMIT_PER_MINUTE", raising=False)
    monkeypatch.delenv("RATE_LIMIT_BURST", raising=False)
    defaults = Settings.from_env(env_file=None)
    assert (defaults.rate_limit_per_minute, defaults.rate_limit_burst) == (600, 120)

    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "6000")
    monkeypatch.setenv("RATE_LIMIT_BURST", "500")
    tuned = Settings.from_env(env_file=None)
    assert (tuned.rate_limit_per_minute, tuned.rate_limit_burst) == (6000, 500)


@pytest.mark.parametrize("service", WRITE)
def test_a_body_over_64_kib_is_413(api, service):
    method, path, payload = WRITE[service]
    body = payload(description="x" * MAX_BODY_BYTES)

    refused = api[service].client.open(
        path, method=method, json=body, headers={"Authorization": f"Bearer {api[service].tenant.keys['staff']}"}
    )

    assert refused.status_code == 413
    assert refused.mimetype == "application/problem+json"
    assert refused.json["type"] == "/problems/payload-too-large"


@pytest.mark.parametrize("service", STAFF_READ)
@pytest.mark.parametrize(
    ("request_", "status", "kind"),
    [
        ({"query_string": {"q": "x" * 4100}}, 414, "uri-too-long"),
        ({"path_tail": "/" + "x" * 4100}, 414, "uri-too-long"),
        ({"headers": {"X-Note": "x" * 8200}}, 431, "header-fields-too-large"),
    ],
    ids=["long query", "long path", "long header"],
)
def test_a_request_line_or_header_over_its_limit_is_answered_as_a_problem(api, service, request_, status, kind):
    request_ = dict(request_)
    path = STAFF_READ[service] + request_.pop("path_tail", "")

    refused = api[service].get(path, **request_)

    assert refused.status_code == status
    assert refused.mimetype == "application/problem+json"
    assert refused.json["type"] == f"/problems/{kind}"


def _sample_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "00000000-0000-0000-0000-000000000000", rule)


def _assert_secured(response, what: str) -> None:
    """Every security header is there (a page may set a stricter or looser CSP of its own, e.g. /docs)."""
    missing = {name for name in SECURITY_HEADERS if not response.headers.get(name)}
    assert not missing, f"{what} ({response.status_code}) lacks {sorted(missing)}"


@pytest.mark.parametrize("service", STAFF_READ)
def test_every_route_and_every_error_carries_the_security_headers(apps, api, service):
    app, client = apps[service], apps[service].test_client()
    assert {"Strict-Transport-Security", "Permissions-Policy"} <= set(SECURITY_HEADERS)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"OPTIONS"}):
            # No key: public routes answer as they do; guarded ones 401.
            _assert_secured(client.open(_sample_path(rule.rule), method=method), f"{method} {rule.rule}")

    staff = api[service]
    method, path, payload = WRITE[service]
    answers = {
        "200 /healthz": client.get("/healthz"),
        "200 /metrics": scrape(client),
        "200 a read": staff.get(STAFF_READ[service]),
        "403 a role that may not": staff.as_("admin").get(STAFF_READ[service]),
        "404 no such route": staff.get("/v1/no-such-thing"),
        "405 a method the route lacks": staff.client.delete("/healthz"),
        "413 a body over the limit": staff.client.open(
            path,
            method=method,
            json=payload(description="x" * MAX_BODY_BYTES),
            headers={"Authorization": f"Bearer {staff.tenant.keys['staff']}"},
        ),
    }
    assert [a.status_code for a in answers.values()] == [200, 200, 200, 403, 404, 405, 413]
    for what, answer in answers.items():
        _assert_secured(answer, what)


class TestSecurityHeadersOn429:
    @pytest.fixture
    def service_settings(self, settings) -> Settings:
        return dataclasses.replace(settings, rate_limit_per_minute=60, rate_limit_burst=1)

    def test_a_rate_limited_answer_carries_them_too(self, api):
        api["notifier"].get("/v1/notifications")
        refused = api["notifier"].get("/v1/notifications")
        assert refused.status_code == 429
        _assert_secured(refused, "429")


def _staff_can_read_everywhere(api: dict[str, ApiClient], key: str) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {key}"}
    return {service: api[service].client.get(STAFF_READ[service], headers=headers).status_code for service in api}


def test_a_key_revoked_in_the_registry_is_refused_at_once_by_every_service(api, platforms, wiltshire):
    keys = platforms["intake"].keys
    key_id, key = keys.create_key(wiltshire.slug, "staff", label="laptop")
    assert _staff_can_read_everywhere(api, key) == {"intake": 200, "decisions": 200, "notifier": 200}

    keys.revoke(key_id)

    assert _staff_can_read_everywhere(api, key) == {"intake": 401, "decisions": 401, "notifier": 401}


def test_a_key_revoked_through_the_api_is_refused_at_once_by_every_service(api):
    admin = api["decisions"].as_("admin")
    created = admin.post("/v1/keys", json={"role": "staff", "label": "laptop"}).json
    assert _staff_can_read_everywhere(api, created["key"]) == {"intake": 200, "decisions": 200, "notifier": 200}

    assert admin.post(f"/v1/keys/{created['id']}/revoke").status_code == 200

    assert _staff_can_read_everywhere(api, created["key"]) == {"intake": 401, "decisions": 401, "notifier": 401}


class TestMetricsAreForTheScraperOnly:
    """/metrics carries per-council figures (contributions overdue by tenant): never public."""

    @pytest.mark.parametrize("service", STAFF_READ)
    def test_without_the_token_it_is_401_problem_json(self, apps, api, service):
        client = apps[service].test_client()
        refused = {
            "no header": client.get("/metrics"),
            "a wrong token": client.get("/metrics", headers={"Authorization": "Bearer not-the-token"}),
            "the token with another scheme": client.get(
                "/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"}
            ),
            "a council's API key": api[service].get("/metrics"),
        }
        for what, answer in refused.items():
            assert answer.status_code == 401, what
            assert answer.mimetype == "application/problem+json", what
            assert answer.headers["WWW-Authenticate"].startswith("Bearer"), what
            assert "outbox_backlog" not in answer.get_data(as_text=True), what

    @pytest.mark.parametrize("service", STAFF_READ)
    def test_with_the_token_prometheus_gets_the_text_format(self, apps, service):
        answer = scrape(apps[service].test_client())

        assert answer.status_code == 200
        assert answer.mimetype == "text/plain"
        assert f'outbox_backlog{{service="{service}"}}' in answer.get_data(as_text=True)


class TestMetricsWithNoTokenSet:
    @pytest.fixture
    def service_settings(self, settings) -> Settings:
        return dataclasses.replace(settings, metrics_token="")

    @pytest.mark.parametrize("service", STAFF_READ)
    def test_it_is_not_served_at_all(self, apps, service):
        answers = [
            apps[service].test_client().get("/metrics"),
            apps[service].test_client().get("/metrics", headers={"Authorization": "Bearer "}),
        ]
        for answer in answers:
            assert answer.status_code == 404
            assert answer.mimetype == "application/problem+json"


class TestProbes:
    """The suite's settings point Kafka at 127.0.0.1:1, where nothing listens."""

    @pytest.mark.parametrize("service", STAFF_READ)
    def test_ready_while_the_database_answers_though_kafka_does_not(self, apps, service):
        answer = apps[service].test_client().get("/readyz")

        assert answer.status_code == 200
        assert answer.json == {"status": "ready", "checks": {"database": "ok"}}

    def test_not_ready_when_the_database_does_not_answer(self, platforms, tmp_path):
        from services.intake.entrypoints.web import create_app

        not_a_directory = tmp_path / "not-a-directory"
        not_a_directory.write_text("")
        gone = sa.create_engine(f"sqlite:///{not_a_directory / 'intake.db'}")  # a file nobody can open
        answer = create_app(dataclasses.replace(platforms["intake"], engine=gone)).test_client().get("/readyz")

        assert answer.status_code == 503
        assert answer.json == {"status": "not ready", "checks": {"database": "unreachable"}}

    @pytest.mark.parametrize("service", STAFF_READ)
    def test_alive_with_kafka_shown_unreachable(self, apps, service):
        answer = apps[service].test_client().get("/healthz")

        assert answer.status_code == 200
        assert answer.json == {"status": "ok", "service": service, "checks": {"kafka": "unreachable"}}


class TestHealthWithABrokerListening:
    @pytest.fixture
    def listener(self):
        with socket.create_server(("127.0.0.1", 0)) as server:
            yield server.getsockname()[1]

    @pytest.fixture
    def service_settings(self, settings, listener) -> Settings:
        return dataclasses.replace(settings, kafka_bootstrap_servers=f"127.0.0.1:1,127.0.0.1:{listener}")

    def test_kafka_is_ok_once_any_bootstrap_server_answers(self, apps):
        answer = apps["decisions"].test_client().get("/healthz")

        assert answer.status_code == 200
        assert answer.json["checks"] == {"kafka": "ok"}
