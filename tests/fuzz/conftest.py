"""The fuzz tier: schemathesis drives each service's own OpenAPI document against the app.

Each module gets one world: SQLite files, a real tenant with one key per role, and real
rows (an engagement, participants, contributions, a board, a decision with a link and a
resource change, notifications, dead letters) made through the APIs and the consumers'
event processors, so id-taking routes sometimes hit something that exists.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.decisions import bootstrap as decisions_service
from services.intake import bootstrap as intake_service
from services.notifier import bootstrap as notifier_service
from shared.infra import migrations
from shared.infra.links import UNSUBSCRIBE
from shared.infra.platform import Platform
from shared.infra.settings import Settings
from shared.infra.tables import dead_letters, outbox
from shared.messaging import events
from shared.messaging.consumer import Message
from shared.rules.constants import (
    CONTRIBUTIONS_TOPIC,
    DECISIONS_TOPIC,
    ENGAGEMENTS_TOPIC,
    PARTICIPANTS_TOPIC,
    ROLE_STAFF,
    SUBMISSIONS_TOPIC,
    TOPIC_PUBLISHERS,
)
from tests.support import factories
from tests.support.api import ApiClient, Tenant, create_tenant

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Bounded and reproducible: the same examples on every run and in CI. `make fuzz` asks for
# many more (OUTCOMES_FUZZ_EXAMPLES) and runs them for as long as that takes.
FUZZ_EXAMPLES = int(os.environ.get("OUTCOMES_FUZZ_EXAMPLES") or 25)
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class World:
    tenant: Tenant
    platforms: dict[str, Platform]
    apps: dict[str, Flask]
    known_ids: dict[str, str] = field(default_factory=dict)
    dead_letter_ids: dict[str, str] = field(default_factory=dict)

    def headers_for(self, case: Case, role: str | None = None) -> dict[str, str]:
        """The key of `role` for an operation that takes a key; with no role, one the operation
        allows (staff when it may), so the fuzzing gets past auth."""
        roles = case.operation.definition.raw.get("x-roles")
        if not roles:
            return {}
        role = role or (ROLE_STAFF if ROLE_STAFF in roles else roles[0])
        return {"Authorization": f"Bearer {self.tenant.keys[role]}"}

    def use_real_ids(self, case: Case, service: str) -> None:
        """Point the case's ids (in the path and the body) at rows of `service` that exist."""
        known = {**self.known_ids, "dead_letter_id": self.dead_letter_ids[service]}
        for name in case.path_parameters or {}:
            if name in known:
                case.path_parameters[name] = known[name]
        if isinstance(case.body, dict):
            for name in case.body:
                if name in known:
                    case.body[name] = known[name]

    def fuzz(self, service: str, role: str | None = None) -> list[str]:
        """Every operation of `service`'s own document, with valid and invalid data, sent with
        `role`'s key (a role an operation refuses must get its documented 403); what failed, and why."""
        schema = schemathesis.openapi.from_wsgi("/openapi.json", self.apps[service])
        failures = []
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @FUZZ_SETTINGS
                @given(case=operation.as_strategy(generation_mode=mode), real_ids=st.booleans())
                def exercise(case: Case, real_ids: bool) -> None:
                    if real_ids:
                        self.use_real_ids(case, service)
                    case.call_and_validate(headers=self.headers_for(case, role), checks=CHECKS)

                try:
                    exercise()
                except Unsatisfiable:  # no input to get wrong: there is no invalid request to make
                    continue
                except (Exception, FailureGroup) as failure:  # every operation is tried; all that failed are reported
                    as_role = f", {role} key" if role else ""
                    failures.append(f"{operation.label} ({mode.value} data{as_role}): {_explain(failure)}")
        return failures


def _explain(failure: BaseException) -> str:
    """The failure, with every failure inside it (Hypothesis and schemathesis group them)."""
    inner = getattr(failure, "exceptions", ())
    return "\n".join([str(failure), *(_explain(exception) for exception in inner)])


def _deliver(source: Platform, target: Platform, topics: tuple[str, ...]) -> None:
    """Hand `source`'s outbox rows on `topics` to `target`'s event processor, as its consumer would."""
    with source.engine.connect() as connection:
        rows = connection.execute(sa.select(outbox).where(outbox.c.topic.in_(topics)).order_by(outbox.c.id)).all()
    messages = [Message(row.topic, 0, row.id, row.message_key.encode(), bytes(row.payload)) for row in rows]
    target.processor.process(messages)


def _poison(target: Platform, topic: str, tenant: str, type_: str) -> None:
    """An event that names the tenant but cannot be accepted: it becomes a dead letter."""
    source = TOPIC_PUBLISHERS.get(topic, factories.CASE_SYSTEM_SOURCE)  # who may publish there: data is the fault
    envelope = events.make(type=type_, source=source, tenant=tenant, data={})
    target.processor.process([Message(topic, 0, 9_000_000, b"poison", events.dumps(envelope))])


def _created(response) -> dict:
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.get_json()


def _seed(world: World) -> None:
    intake, decisions, notifier = (world.platforms[name] for name in ("intake", "decisions", "notifier"))
    staff = ApiClient(world.apps["intake"].test_client(), world.tenant, role="staff")
    engagement = _created(staff.post("/v1/engagements", json=factories.engagement_payload()))
    participant = _created(staff.post("/v1/participants", json=factories.participant_payload()))
    by_id = factories.contribution_payload(engagement["id"], participant_id=participant["id"])
    del by_id["participant"]
    contribution = _created(staff.post("/v1/contributions", json=by_id))
    _created(staff.post("/v1/contributions", json=factories.contribution_payload(engagement["id"])))
    _poison(intake, SUBMISSIONS_TOPIC, world.tenant.slug, "contribution.submitted")
    # And one that is no CloudEvent at all: listed with null event_source, event_id and event_type.
    not_an_event = events.dumps({"tenant": world.tenant.slug, "note": "no envelope"})
    intake.processor.process([Message(SUBMISSIONS_TOPIC, 0, 9_000_001, None, not_an_event)])
    _deliver(intake, decisions, (ENGAGEMENTS_TOPIC, CONTRIBUTIONS_TOPIC))
    _poison(decisions, ENGAGEMENTS_TOPIC, world.tenant.slug, "engagement.created")

    board_api = ApiClient(world.apps["decisions"].test_client(), world.tenant, role="staff")
    board = _created(board_api.post("/v1/boards", json=factories.board_payload()))
    decision = _created(
        board_api.post(
            "/v1/decisions",
            json=factories.decision_payload(
                board["id"],
                engagement_id=engagement["id"],
                links=[factories.link_payload(contribution["id"])],
                resource_changes=[factories.resource_change_payload()],
            ),
        )
    )
    _deliver(intake, notifier, (PARTICIPANTS_TOPIC, ENGAGEMENTS_TOPIC, CONTRIBUTIONS_TOPIC))
    _deliver(decisions, notifier, (DECISIONS_TOPIC,))
    _poison(notifier, PARTICIPANTS_TOPIC, world.tenant.slug, "participant.registered")

    for name, platform in world.platforms.items():
        with platform.engine.connect() as connection:
            world.dead_letter_ids[name] = connection.execute(
                sa.select(dead_letters.c.id).order_by(dead_letters.c.received_at).limit(1)
            ).scalar_one()
    links = notifier.extensions["notifier"].links
    world.known_ids.update(
        engagement_id=engagement["id"],
        participant_id=participant["id"],
        contribution_id=contribution["id"],
        board_id=board["id"],
        decision_id=decision["id"],
        change_id=decision["resource_changes"][0]["id"],
        token=links.token(UNSUBSCRIBE, world.tenant.slug, participant["id"]),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("fuzz")
    urls = {name: f"sqlite:///{directory / name}.db" for name in ("auth", "intake", "decisions", "notifier")}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OUTCOMES_VAR_DIR", str(directory / "var"))
        env.setenv("DATA_ENCRYPTION_KEYS", Fernet.generate_key().decode())
        env.setenv("LINK_SIGNING_SECRET", "fuzz-link-signing-secret")
        env.setenv("AUTH_DATABASE_URL", urls["auth"])
        env.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # no broker: events are handed over directly
        env.setenv("RATE_LIMIT_BURST", "1000000")  # one key sends every request; 429s would only hide the rest
        for service in ("intake", "decisions", "notifier"):
            env.setenv(f"{service.upper()}_DATABASE_URL", urls[service])
        service_settings = Settings.from_env(env_file=None)
        migrations.upgrade_auth(urls["auth"])
        modules = {"intake": intake_service, "decisions": decisions_service, "notifier": notifier_service}
        platforms = {}
        for name, module in modules.items():
            migrations.upgrade_service(name, urls[name])
            platforms[name] = module.bootstrap(service_settings)
        apps = {
            name: importlib.import_module(f"services.{name}.entrypoints.web").create_app(platform)
            for name, platform in platforms.items()
        }
        built = World(create_tenant(platforms["intake"].keys, "wiltshire"), platforms, apps)
        _seed(built)
        yield built
    for platform in platforms.values():
        platform.engine.dispose()
        platform.keys.engine.dispose()
