"""Tenancy, proven over every route of every service.

The routes are read from each app's URL map when the tests are collected, so a new
endpoint gets its own tests without anyone remembering to write them. It must either be
guarded by `requires(...)` or be listed in PUBLIC with the reason; and ID_MAKERS,
ROUTE_VALUES and BODIES below must say how to get a real id for each of its URL
variables and, for a write, a valid body. A route they do not cover fails, saying what
to add.

For every guarded route and method:
- no key, a malformed key, an unknown key or a revoked key is 401;
- each role it does not allow is 403, and nothing changes;
- each role it allows succeeds on the council's own ids;
- another council's ids answer 404 exactly as unknown ids do (the same body, a median
  response time within a generous ratio), and nothing changes.
"""

from __future__ import annotations

import base64
import functools
import importlib
import re
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from shared.infra import db, migrations
from shared.infra.auth import KeyStore
from shared.infra.platform import Platform
from shared.infra.settings import Settings
from shared.infra.tables import dead_letters
from shared.messaging import events
from shared.messaging.consumer import EventProcessor
from shared.messaging.events import RejectedEvent
from shared.rules.constants import ENGAGEMENTS_TOPIC, ROLES, SUBMISSIONS_TOPIC
from tests.support import factories
from tests.support.api import Tenant, create_tenant
from tests.support.relay import Relay

SERVICES = ("intake", "decisions", "notifier")
OURS, THEIRS = "wiltshire", "dorset"
SUCCESS = (200, 201, 202, 204)
READ_METHODS = ("GET",)
RECORDS_ATTEMPTS = {"audit_log"}  # tables that record a request even when it is refused

# Routes anyone may call, each with the reason it needs no API key.
PUBLIC = {
    "/healthz": "liveness probe; says only that the process is up and whether a Kafka broker answers",
    "/readyz": "readiness probe; says only whether the database answers",
    "/metrics": "Prometheus authenticates with its own bearer token (METRICS_TOKEN), never an API key",
    "/openapi.json": "the published description of the API",
    "/docs": "the human-readable page for openapi.json",
    "/asyncapi.json": "the published description of the topics and events",
    "/v1/callbacks/notify": "GOV.UK Notify authenticates with its own bearer token",
    "/v1/callbacks/twilio": "Twilio signs each request (X-Twilio-Signature)",
    "/v1/unsubscribe/<token>": "the signed token in the message is the credential",
    "/v1/callbacks/notify/inbound": "GOV.UK Notify authenticates with its own bearer token",
    "/v1/callbacks/twilio/inbound": "Twilio signs each request (X-Twilio-Signature)",
    "/status/<token>": "the participant's status page: the signed token in their link is the credential",
    "/status/<token>/contributions/<contribution_id>/rating": "the participant's answer: the token is the credential",
    "/preferences/<token>": "the participant's preferences: the signed token in their link is the credential",
    "/sign-in": "the form where staff and board members sign in to pages with their key",
    "/sign-out": "ends a page session; needs none",
    "/sign-in/<tenant>": "sends the browser to the council's identity provider to sign in",
    "/sign-in/<tenant>/callback": "the identity provider's answer: its state, code and ID token are checked",
    "/signed-out": "says the session has ended",
    "/assets/<path:name>": "the pages' stylesheet",
    "/engagements/<engagement_id>/you-said-we-did": "published for everyone: counts, small ones hidden, no personal data",
    "/councils/<tenant>/you-said-we-did": "a council's published list of its engagements' outcomes",
    "/councils/<tenant>/engagements": "a council's published list of the engagements taking views",
    "/engagements/<engagement_id>/have-your-say": "the public form: anyone may have their say, no account",
}


def _bootstrap_module(service: str):
    return importlib.import_module(f"services.{service}.bootstrap")


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    rule: str
    roles: tuple[str, ...] | None  # None: not guarded by requires()
    page_roles: tuple[str, ...] | None = None  # a page guarded by signed_in(): a session of these roles

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.rule}"

    @property
    def variables(self) -> list[str]:
        return re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", self.rule)

    @property
    def writes(self) -> bool:
        return self.method not in READ_METHODS


# Building the services ---------------------------------------------------------------


def _environment(directory: Path) -> dict[str, str]:
    return {
        "OUTCOMES_VAR_DIR": str(directory / "var"),
        "DATA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LINK_SIGNING_SECRET": "tenancy-test-link-signing-secret",
        "AUTH_DATABASE_URL": f"sqlite:///{directory / 'auth.db'}",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",  # never reached: events are relayed by the test
        **{f"{service.upper()}_DATABASE_URL": f"sqlite:///{directory / service}.db" for service in SERVICES},
    }


def build_platforms(directory: Path) -> dict[str, Platform]:
    """The three services on SQLite files in `directory`, sharing one tenant registry."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in _environment(directory).items():
            env.setenv(name, value)
        settings = Settings.from_env(env_file=None)
        keys = KeyStore(db.create_engine(settings.auth_database_url))
        return {service: _bootstrap_module(service).bootstrap(settings, keys=keys) for service in SERVICES}


def build_apps(platforms: dict[str, Platform]) -> dict[str, Flask]:
    return {
        service: importlib.import_module(f"services.{service}.entrypoints.web").create_app(platforms[service])
        for service in SERVICES
    }


def dispose(platforms: dict[str, Platform]) -> None:
    for platform in platforms.values():
        platform.engine.dispose()
    next(iter(platforms.values())).keys.engine.dispose()


def routes_of(service: str, app: Flask) -> list[Route]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        page_roles = getattr(app.view_functions[rule.endpoint], "page_roles", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append(
                Route(service, method, rule.rule, tuple(roles) if roles else None, page_roles and tuple(page_roles))
            )
    return found


@functools.cache
def discovered_routes() -> tuple[Route, ...]:
    """Every route of every service, read from the real apps (nothing is migrated or called)."""
    with tempfile.TemporaryDirectory(prefix="tenancy-routes-") as directory:
        platforms = build_platforms(Path(directory))
        try:
            apps = build_apps(platforms)
            return tuple(route for service in SERVICES for route in routes_of(service, apps[service]))
        finally:
            dispose(platforms)


ROUTES = discovered_routes()
GUARDED = [route for route in ROUTES if route.roles]
PAGES = [route for route in ROUTES if route.page_roles]
# A page's forms are posted with their CSRF token and fields by the page's own tests.
PAGE_ALLOWED = [(route, role) for route in PAGES if not route.writes for role in route.page_roles]
PAGE_DENIED = [(route, role) for route in PAGES for role in ROLES if role not in route.page_roles]
PAGE_FOREIGN = [(route, role) for route, role in PAGE_ALLOWED if route.variables]
WITH_IDS = [route for route in GUARDED if route.variables]
ALLOWED = [(route, role) for route in GUARDED for role in route.roles]
DENIED = [(route, role) for route in GUARDED for role in ROLES if role not in route.roles]
FOREIGN = [(route, role) for route in WITH_IDS for role in route.roles]


# The world: two councils, their keys and their things --------------------------------


@dataclass
class World:
    platforms: dict[str, Platform]
    apps: dict[str, Flask]
    tenants: dict[str, Tenant]
    revoked_keys: dict[str, str]  # role -> a key of ours, revoked
    relay: Relay
    cached: dict = field(default_factory=dict)

    def client(self, service: str):
        return self.apps[service].test_client()

    def key(self, tenant: str, role: str) -> str:
        return self.tenants[tenant].keys[role]

    def call(self, route: Route, values: dict, *, headers: dict, body=None):
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), route.rule)
        return self.client(route.service).open(path, method=route.method, headers=headers, json=body)

    def create(self, service: str, tenant: str, role: str, path: str, body: dict) -> str:
        """POST through the real API, relay what it announced; the new thing's id."""
        response = self.client(service).post(path, json=body, headers=bearer(self.key(tenant, role)))
        assert response.status_code in SUCCESS, (path, response.get_data(as_text=True))
        self.relay.deliver()
        return response.get_json()["id"]

    def value(self, variable: str, service: str, tenant: str, *, fresh: bool = False) -> str:
        """A real id of `tenant`'s for a URL variable: made anew, or the one made before."""
        maker = ID_MAKERS.get(variable)
        if maker is None:
            pytest.fail(
                f"No way to get a real <{variable}> for {service}: add "
                f"ID_MAKERS[{variable!r}] = lambda world, service, tenant: world.create(...) "
                f"in {__file__}, making one through the service's API.",
                pytrace=False,
            )
        key = (variable, service, tenant)
        if fresh or key not in self.cached:
            self.cached[key] = maker(self, service, tenant)
        return self.cached[key]

    def values(self, route: Route, tenant: str, *, fresh: bool = False) -> dict[str, str]:
        together = ROUTE_VALUES.get((route.method, route.rule))
        if together is not None:
            key = (route.method, route.rule, route.service, tenant)
            if fresh or key not in self.cached:
                self.cached[key] = together(self, route.service, tenant)
            return self.cached[key]
        return {variable: self.value(variable, route.service, tenant, fresh=fresh) for variable in route.variables}

    def body(self, route: Route, tenant: str):
        if not route.writes:
            return None
        if (route.method, route.rule) not in BODIES:
            pytest.fail(
                f"No request body for {route}: add BODIES[({route.method!r}, {route.rule!r})] = "
                f"lambda world, service, tenant: factories.<a payload>(...) (or None if it takes none) "
                f"in {__file__}.",
                pytrace=False,
            )
        make = BODIES[(route.method, route.rule)]
        return make(self, route.service, tenant) if make else None

    def snapshot(self) -> dict:
        """Every row of every table of every database, to show nothing changed (but the
        audit log, whose job is to record every attempt, refused ones included)."""
        engines = {service: p.engine for service, p in self.platforms.items()}
        engines["auth"] = self.platforms["intake"].keys.engine
        state = {}
        for name, engine in engines.items():
            with engine.connect() as connection:
                for table in sa.inspect(connection).get_table_names():
                    if table in RECORDS_ATTEMPTS:
                        continue
                    rows = connection.execute(sa.text(f'SELECT * FROM "{table}"')).all()
                    state[(name, table)] = sorted(map(repr, rows))
        return state


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# How to get a real id for each URL variable, and a valid body for each write ---------


def _refuse(uow, envelope) -> None:
    raise RejectedEvent("refused by a rule since relaxed", envelope["tenant"])


# An event each consumer accepts, to be dead-lettered once by a rule since relaxed.
DEAD_LETTER_EVENTS: dict[str, Callable[[World, str], tuple[str, dict]]] = {
    "intake": lambda world, tenant: (
        SUBMISSIONS_TOPIC,
        factories.submission_event(
            tenant, factories.contribution_payload(world.value("engagement_id", "intake", tenant))
        ),
    ),
    "decisions": lambda world, tenant: (ENGAGEMENTS_TOPIC, factories.engagement_created_event(tenant)),
    "notifier": lambda world, tenant: (ENGAGEMENTS_TOPIC, factories.engagement_created_event(tenant)),
}


def _dead_letter(world: World, service: str, tenant: str) -> str:
    """A dead letter a replay will now accept: a rule since relaxed refused it once."""
    platform = world.platforms[service]
    topic, envelope = DEAD_LETTER_EVENTS[service](world, tenant)
    refusing = EventProcessor(
        name=platform.processor.name,
        source=platform.source,
        uow_factory=platform.uow,
        topics=[topic],
        handlers={envelope["type"]: _refuse},
        sealer=platform.sealer,
        tenant_exists=platform.keys.tenant_exists,
        source_registered=platform.keys.source_registered,
    )
    refusing.process([world.relay.message(topic, events.dumps(envelope))])
    with platform.engine.connect() as connection:
        return connection.execute(
            sa.select(dead_letters.c.id).where(dead_letters.c.event_id == envelope["id"])
        ).scalar_one()


def _decision(world: World, service: str, tenant: str) -> str:
    board = world.value("board_id", service, tenant)
    return world.create("decisions", tenant, "board", "/v1/decisions", factories.decision_payload(board))


def _resource_change(world: World, service: str, tenant: str) -> str:
    decision = world.value("decision_id", service, tenant)
    return world.create(
        "decisions", tenant, "board", f"/v1/decisions/{decision}/resource-changes", factories.resource_change_payload()
    )


ID_MAKERS: dict[str, Callable[[World, str, str], str]] = {
    "engagement_id": lambda world, service, tenant: world.create(
        "intake", tenant, "staff", "/v1/engagements", factories.engagement_payload()
    ),
    "participant_id": lambda world, service, tenant: world.create(
        "intake", tenant, "case-system", "/v1/participants", factories.participant_payload()
    ),
    "contribution_id": lambda world, service, tenant: world.create(
        "intake",
        tenant,
        "case-system",
        "/v1/contributions",
        factories.contribution_payload(world.value("engagement_id", service, tenant)),
    ),
    "board_id": lambda world, service, tenant: world.create(
        "decisions", tenant, "staff", "/v1/boards", factories.board_payload()
    ),
    "decision_id": _decision,
    "change_id": _resource_change,
    "dead_letter_id": _dead_letter,
    "key_id": lambda world, service, tenant: world.create(
        service, tenant, "admin", "/v1/keys", factories.key_payload()
    ),
    "source_id": lambda world, service, tenant: world.create(
        service, tenant, "admin", "/v1/sources", factories.source_payload()
    ),
}


def _linked(world: World, service: str, tenant: str) -> dict[str, str]:
    """A decision and a contribution it is linked to."""
    contribution = world.value("contribution_id", service, tenant)
    board = world.value("board_id", service, tenant)
    decision = world.create(
        "decisions",
        tenant,
        "board",
        "/v1/decisions",
        factories.decision_payload(board, links=[factories.link_payload(contribution)]),
    )
    return {"decision_id": decision, "contribution_id": contribution}


# Routes whose URL variables must belong together, by (method, rule).
ROUTE_VALUES: dict[tuple[str, str], Callable[[World, str, str], dict[str, str]]] = {
    ("POST", "/v1/decisions/<decision_id>/links/<contribution_id>/unlink"): _linked,
}

# A valid body for each write, by (method, rule); None for a write that takes none.
BODIES: dict[tuple[str, str], Callable[[World, str, str], object] | None] = {
    ("POST", "/v1/engagements"): lambda world, service, tenant: factories.engagement_payload(),
    ("PUT", "/v1/engagements/<engagement_id>"): lambda world, service, tenant: factories.engagement_payload(),
    ("POST", "/v1/engagements/<engagement_id>/close"): None,
    ("POST", "/v1/participants"): lambda world, service, tenant: factories.participant_payload(),
    ("DELETE", "/v1/participants/<participant_id>"): None,
    ("POST", "/v1/contributions"): lambda world, service, tenant: factories.contribution_payload(
        world.value("engagement_id", service, tenant)
    ),
    ("POST", "/v1/dead-letters/<dead_letter_id>/replay"): None,
    ("POST", "/v1/boards"): lambda world, service, tenant: factories.board_payload(),
    ("POST", "/v1/decisions"): lambda world, service, tenant: factories.decision_payload(
        world.value("board_id", service, tenant)
    ),
    ("PATCH", "/v1/decisions/<decision_id>"): lambda world, service, tenant: factories.amendment_payload(),
    ("POST", "/v1/decisions/<decision_id>/links"): lambda world, service, tenant: factories.link_payload(
        world.value("contribution_id", service, tenant)
    ),
    ("POST", "/v1/decisions/<decision_id>/links/<contribution_id>/unlink"): (
        lambda world, service, tenant: factories.unlink_payload()
    ),
    ("POST", "/v1/decisions/<decision_id>/resource-changes"): (
        lambda world, service, tenant: factories.resource_change_payload()
    ),
    ("PATCH", "/v1/resource-changes/<change_id>"): lambda world, service, tenant: factories.resource_move_payload(),
    ("POST", "/v1/keys"): lambda world, service, tenant: factories.key_payload(),
    ("POST", "/v1/keys/<key_id>/revoke"): None,
    ("POST", "/v1/sources"): lambda world, service, tenant: factories.source_payload(),
    ("DELETE", "/v1/sources/<source_id>"): None,
    ("PUT", "/v1/participants/<participant_id>/preferences"): (
        lambda world, service, tenant: factories.preferences_payload()
    ),
}


# Routes that take ids in the query string, by (method, rule): the query variables.
QUERY_IDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/v1/contributions"): ("engagement_id",),
    ("GET", "/v1/reports/equality"): ("engagement_id",),
    ("GET", "/v1/reports/dashboard"): ("engagement_id",),
    ("GET", "/v1/decisions"): ("board_id", "engagement_id"),
    ("GET", "/v1/notifications"): ("contribution_id", "participant_id"),
}
WITH_QUERY_IDS = [
    (route, role, variable)
    for route in GUARDED
    for variable in QUERY_IDS.get((route.method, route.rule), ())
    for role in route.roles
]


def unknown_like(real: str) -> str:
    """A well-formed id that names nothing: the same shape as a real one."""
    try:
        uuid.UUID(real)
        return str(uuid.uuid4())
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-f]+", real):
        return secrets.token_hex(len(real) // 2 + 1)[: len(real)]
    pytest.fail(f"Ids like {real!r} are neither UUIDs nor hex: teach unknown_like() their shape.", pytrace=False)


def problem_without_instance(response) -> dict:
    """The JSON answer, but the `instance` member a problem may carry (it names the request)."""
    body = response.get_json()
    body.pop("instance", None)
    return body


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    directory = tmp_path_factory.mktemp("tenancy")
    platforms = build_platforms(directory)
    migrations.upgrade_auth(platforms["intake"].settings.auth_database_url)
    for service, platform in platforms.items():
        migrations.upgrade_service(service, platform.settings.database_url(service))
    keys = platforms["intake"].keys
    tenants = {slug: create_tenant(keys, slug) for slug in (OURS, THEIRS)}
    revoked = {}
    for role in ROLES:
        key_id, revoked[role] = keys.create_key(OURS, role, label="revoked in the tenancy test")
        keys.revoke(key_id)
    yield World(platforms, build_apps(platforms), tenants, revoked, Relay(platforms))
    dispose(platforms)


# The tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_route_is_guarded_or_public_for_a_reason(route):
    assert route.roles or route.page_roles or route.rule in PUBLIC, (
        f"{route} has no @requires(...) and is not in PUBLIC: guard it with the roles that may call it, "
        f"or add PUBLIC[{route.rule!r}] = '<why anyone may call it>' in {__file__}."
    )


def _no_valid_key(world: World, route: Route) -> dict[str, dict]:
    our_key_id = world.tenants[OURS].key_ids[route.roles[0]]
    return {
        "no key": {},
        "another scheme": {"Authorization": "Basic " + base64.b64encode(b"staff:password").decode()},
        "a malformed key": bearer("not-an-api-key"),
        "an unknown key": bearer(f"oc_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"),
        "a known key id with the wrong secret": bearer(f"oc_{our_key_id}_{secrets.token_urlsafe(32)}"),
        "a revoked key": bearer(world.revoked_keys[route.roles[0]]),
    }


@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_without_a_valid_key_it_is_401_and_nothing_changes(world, route):
    values = world.values(route, OURS)
    body = world.body(route, OURS)
    before = world.snapshot() if route.writes else None

    for what, headers in _no_valid_key(world, route).items():
        response = world.call(route, values, headers=headers, body=body)
        assert response.status_code == 401, (what, response.get_data(as_text=True))
        assert response.headers["WWW-Authenticate"] == "Bearer", what
        assert response.get_json()["type"] == "/problems/unauthenticated", what

    if route.writes:
        assert world.snapshot() == before


@pytest.mark.parametrize(("route", "role"), DENIED, ids=lambda x: str(x))
def test_a_role_it_does_not_allow_is_403_and_nothing_changes(world, route, role):
    values = world.values(route, OURS)
    body = world.body(route, OURS)
    before = world.snapshot() if route.writes else None

    response = world.call(route, values, headers=bearer(world.key(OURS, role)), body=body)

    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["type"] == "/problems/forbidden"
    if route.writes:
        assert world.snapshot() == before


@pytest.mark.parametrize(("route", "role"), ALLOWED, ids=lambda x: str(x))
def test_a_role_it_allows_succeeds_on_the_councils_own_things(world, route, role):
    values = world.values(route, OURS, fresh=route.writes)
    body = world.body(route, OURS)

    response = world.call(route, values, headers=bearer(world.key(OURS, role)), body=body)

    assert response.status_code in SUCCESS, response.get_data(as_text=True)


@pytest.mark.parametrize(("route", "role"), FOREIGN, ids=lambda x: str(x))
def test_another_councils_id_is_404_exactly_like_an_unknown_id(world, route, role):
    ours = world.values(route, OURS)
    unknown = {variable: unknown_like(value) for variable, value in ours.items()}
    body = world.body(route, THEIRS)
    their_key = bearer(world.key(THEIRS, role))
    before = world.snapshot() if route.writes else None

    foreign = world.call(route, ours, headers=their_key, body=body)
    missing = world.call(route, unknown, headers=their_key, body=body)

    assert foreign.status_code == missing.status_code == 404, foreign.get_data(as_text=True)
    assert foreign.mimetype == missing.mimetype == "application/problem+json"
    assert problem_without_instance(foreign) == problem_without_instance(missing)
    for value in ours.values():
        assert value not in foreign.get_data(as_text=True)
    if route.writes:
        assert world.snapshot() == before


@pytest.mark.parametrize(("route", "role", "variable"), WITH_QUERY_IDS, ids=lambda x: str(x))
def test_another_councils_id_in_a_query_answers_exactly_like_an_unknown_id(world, route, role, variable):
    ours = world.value(variable, route.service, OURS)
    their_key = bearer(world.key(THEIRS, role))
    client = world.client(route.service)

    foreign = client.get(route.rule, query_string={variable: ours}, headers=their_key)
    missing = client.get(route.rule, query_string={variable: unknown_like(ours)}, headers=their_key)

    assert foreign.status_code == missing.status_code, foreign.get_data(as_text=True)
    assert problem_without_instance(foreign) == problem_without_instance(missing)


TIMING_SAMPLES = 30


@pytest.mark.parametrize("route", WITH_IDS, ids=str)
def test_another_councils_id_takes_as_long_as_an_unknown_id(world, route):
    """The two answers are the same query; their medians must not tell them apart.

    A ratio of medians over interleaved requests, not a time limit. The app and SQLite
    run in this thread, so its CPU time is the work each answer took, and other
    processes on a busy machine do not blur it as they blur wall-clock time."""
    role = route.roles[0]
    ours = world.values(route, OURS)
    unknown = {variable: unknown_like(value) for variable, value in ours.items()}
    body = world.body(route, THEIRS)
    their_key = bearer(world.key(THEIRS, role))
    durations: dict[str, list[float]] = {"foreign": [], "unknown": []}

    for sample in range(TIMING_SAMPLES + 5):  # the first few warm the caches, and are dropped
        for kind, values in (("foreign", ours), ("unknown", unknown))[:: 1 if sample % 2 else -1]:
            started = time.thread_time()
            response = world.call(route, values, headers=their_key, body=body)
            elapsed = time.thread_time() - started
            assert response.status_code == 404
            if sample >= 5:
                durations[kind].append(elapsed)

    ratio = statistics.median(durations["foreign"]) / statistics.median(durations["unknown"])
    assert 0.5 <= ratio <= 2.0, f"median foreign/unknown = {ratio:.2f}"


# Pages guarded by signed_in(): a session, not a bearer key --------------------------------


def _page_path(world: World, route: Route) -> str:
    values = world.values(route, OURS)
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), route.rule)


def _signed_in_client(world: World, route: Route, role: str):
    client = world.client(route.service)
    response = client.post("/sign-in", data={"key": world.key(OURS, role), "next": "/"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


@pytest.mark.parametrize("route", PAGES, ids=str)
def test_a_page_without_a_session_sends_you_to_sign_in(world, route):
    response = world.client(route.service).open(_page_path(world, route), method=route.method)

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize(("route", "role"), PAGE_DENIED, ids=lambda x: str(x))
def test_a_page_refuses_a_session_of_a_role_it_does_not_allow(world, route, role):
    response = _signed_in_client(world, route, role).open(_page_path(world, route), method=route.method)

    assert response.status_code == 403


@pytest.mark.parametrize(("route", "role"), PAGE_FOREIGN, ids=lambda x: str(x))
def test_a_page_of_another_councils_id_is_404_exactly_like_an_unknown_id(world, route, role):
    ours = world.values(route, OURS)
    client = world.client(route.service)
    response = client.post("/sign-in", data={"key": world.key(THEIRS, role), "next": "/"})
    assert response.status_code == 303

    def path(values: dict) -> str:
        return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), route.rule)

    unknown = {variable: unknown_like(value) for variable, value in ours.items()}
    foreign = client.get(path(ours))
    missing = client.get(path(unknown))

    assert foreign.status_code == missing.status_code == 404
    # The same page, but for the address itself (the language switch links back to it).
    assert foreign.get_data(as_text=True).replace(path(ours), "") == missing.get_data(as_text=True).replace(
        path(unknown), ""
    )


@pytest.mark.parametrize(("route", "role"), PAGE_ALLOWED, ids=lambda x: str(x))
def test_a_page_opens_for_a_session_of_a_role_it_allows(world, route, role):
    response = _signed_in_client(world, route, role).open(_page_path(world, route), method=route.method)

    assert response.status_code == 200, response.get_data(as_text=True)
