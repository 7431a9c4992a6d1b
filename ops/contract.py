"""docs/contract.md, the public contract (ports, settings, roles, endpoints, topics), from
what the code declares: the settings definition (shared/infra/settings.py), each service's
OpenAPI document (shared/http/openapi.py, from the schemas it validates with) and the topic
constants (shared/rules/constants.py). The words around them are the v1 contract's.

    python -m ops.contract            write docs/contract.md
    python -m ops.contract --check    exit 1 if docs/contract.md is not what the code says

tests/unit/ops/test_contract.py keeps the committed file up to date.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

from shared.infra.settings import DEFAULT_PORTS, SERVICES, Settings, markdown_table
from shared.rules.constants import (
    CLOUDEVENTS_CONTENT_TYPE,
    CONSUMED_TOPICS,
    ROLE_ADMIN,
    ROLE_BOARD,
    ROLE_CASE_SYSTEM,
    ROLE_STAFF,
    ROLES,
    SUBMISSIONS_TOPIC,
    TOPIC_EVENT_TYPES,
    TOPIC_PUBLISHERS,
    dlq_topic,
)

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "contract.md"
METHODS = ("get", "post", "put", "patch", "delete")

ROLE_MAY = {
    ROLE_CASE_SYSTEM: "register participants, submit contributions, read what it submitted",
    ROLE_BOARD: "record decisions, links and resource changes; read contributions of its tenant",
    ROLE_STAFF: "everything in its tenant except key management; engagements, reports",
    ROLE_ADMIN: "manage keys (and case systems' sources) for its tenant; read the audit log",
}

INTRODUCTION = """\
# Outcome Chain: the public contract (v1)

What the systems and people around the product integrate against: council case systems,
partnership boards and operations teams write scripts to it, so it changes only by adding.
It is the v1 contract with every addition this repository makes (README, "Additions to the
contract"). **Generated** by `python -m ops.contract` from the settings definition
(`shared/infra/settings.py`), each service's OpenAPI document (`shared/http/openapi.py`, also
served at `/openapi.json` and `/docs`) and the topic constants (`shared/rules/constants.py`);
`tests/unit/ops/test_contract.py` fails when this file and the code disagree.
"""

PROCESSES = """\
## Processes, ports and configuration

{ports}

Every service answers `GET /healthz` (process up) and `GET /readyz` (database and Kafka
reachable) without authentication, and `GET /metrics` in Prometheus text format (web
processes only to `Authorization: Bearer <METRICS_TOKEN>`; consumers, relays and the sender
on `METRICS_PORT`). Each service runs three kinds of process: its web app
(`gunicorn services.<service>.entrypoints.wsgi:app`), its consumer (`outcomes consume
<service>`) and its outbox relay (`outcomes relay <service>`); the notifier's sender runs
inside its consumer, or alone as `outcomes send`.

### Settings

Every setting is an environment variable; a `.env` file may supply them. Defaults serve the
one-machine run (`make run`); "in production" says whether a deployment may rely on the default.

{settings}"""

AUTHENTICATION = """\
## Authentication and tenants

One deployment serves many councils (tenants), each with a slug such as `wiltshire`.
Clients send `Authorization: Bearer <api key>`. A key belongs to one tenant and one role:

| role | may |
|---|---|
{roles}

`outcomes tenants create SLUG`, then `outcomes keys create --tenant SLUG --role ROLE`, prints
a new key once (only a hash is stored). `outcomes keys revoke KEY_ID`. `make run` creates the
tenant `demo`, writes one key per role to `var/dev-keys.json` and prints them. Nothing of one
tenant is ever visible to another tenant's key: a foreign id answers 404, exactly as an
unknown one.

## Errors

Every error is `application/problem+json` (RFC 9457) with `type`, `title`, `status`,
`detail`, and for validation failures `errors: {{field: [messages]}}`. 400 malformed JSON,
401 no or bad key, 403 wrong role, 404 unknown or foreign id, 409 conflict, 413 body over
the limit (default 64 KiB), 415 not JSON, 422 well-formed but invalid, 429 rate limited.
No 500 for anything a client sends.
"""

EVENTS = """\
## Events (Kafka)

Every event is a CloudEvents 1.0 JSON document in structured mode (`content-type:
{content_type}`) with the extension attribute `tenant`. Keys: the id of the aggregate the
event is about, so one contribution's events stay in order. A topic carries only the event
types listed here, and an internal topic only its publisher's `source`; anything else is a
dead letter on `<topic>.dlq`, listed by `GET /v1/dead-letters`, and the consumer keeps going.
No contact detail or free text that could identify a person travels in plain text on a topic.

| topic | published by (`source`) | event types | dead letters |
|---|---|---|---|
{topics}

Inbound, from council case systems: topic `{submissions}`, `type` `contribution.submitted`,
`source` the case system's URI (registered with `outcomes sources add` or `POST /v1/sources`),
`id` unique per source (a second event with the same source and id is the same submission and
creates nothing new), `data` the body of `POST /v1/contributions` with the participant inline.
"""

PARTICIPANT = """\
## What a participant receives

With consent and a channel, in their language and format:
1. an acknowledgement within seconds of the contribution arriving: its reference, what
   this engagement can and cannot change, and the date they will hear back by;
2. an update whenever a decision is linked to their contribution: the outcome, the reason,
   and how their contribution shaped it;
3. an update when a resource change that follows from it changes status (e.g. implemented);
4. an honest interim update if the feedback date passes with no decision, while staff see
   the contribution as overdue;
5. never the same update twice; several updates close together may be combined into one.
"""


def openapi_documents() -> dict[str, dict]:
    """Each service's OpenAPI document, from its app built on throwaway settings."""
    from shared.http import openapi
    from shared.infra.crypto import Sealer

    documents = {}
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings.from_mapping(
            {
                "OUTCOMES_VAR_DIR": scratch,
                "OUTCOMES_ENV": "development",
                "DATA_ENCRYPTION_KEYS": Sealer.generate_key(),
                "LINK_SIGNING_SECRET": "only-for-reading-the-routes",
            }
        )
        for service in SERVICES:
            bootstrap = importlib.import_module(f"services.{service}.bootstrap")
            platform = bootstrap.bootstrap(settings)
            try:
                web = importlib.import_module(f"services.{service}.entrypoints.web")
                documents[service] = openapi.build_document(web.create_app(platform))
            finally:
                platform.engine.dispose()
                platform.keys.engine.dispose()
    return documents


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def endpoints(service: str, document: dict) -> str:
    lines = [
        f"### {service} (port {DEFAULT_PORTS[service]})",
        "",
        "| method | path | roles | what it does |",
        "|---|---|---|---|",
    ]
    for path, operations in sorted(document["paths"].items()):
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            roles = ", ".join(operation.get("x-roles", [])) or "none"
            said = operation["description"].split("\n\n")[0]
            said = operation["summary"] if said.startswith(("Roles allowed", "No API key")) else said
            lines.append(f"| `{method.upper()}` | `{path}` | {roles} | {_cell(said)} |")
    return "\n".join(lines) + "\n"


def _publisher(topic: str) -> str:
    return f"`{TOPIC_PUBLISHERS[topic]}`" if topic in TOPIC_PUBLISHERS else "councils' case systems"


def render(documents: dict[str, dict]) -> str:
    ports = "\n".join(
        f"- {service}: HTTP on `{service.upper()}_PORT`, default {DEFAULT_PORTS[service]}" for service in SERVICES
    )
    topics = "\n".join(
        f"| `{topic}` | {_publisher(topic)} "
        f"| {', '.join(f'`{kind}`' for kind in sorted(TOPIC_EVENT_TYPES[topic]))} | `{dlq_topic(topic)}` |"
        for topic in CONSUMED_TOPICS
    )
    parts = [
        INTRODUCTION,
        PROCESSES.format(ports=ports, settings=markdown_table()),
        AUTHENTICATION.format(roles="\n".join(f"| `{role}` | {ROLE_MAY[role]} |" for role in ROLES)),
        "## REST API (JSON, under /v1)\n\nEvery operation, from the OpenAPI documents; the request and "
        'response bodies are in each service\'s `/openapi.json` and `/docs`. "roles" are the API key roles '
        "allowed; pages outside /v1 that need a person ask them to sign in with a key once, and the session "
        "carries its role.\n",
        *(endpoints(service, documents[service]) for service in SERVICES),
        EVENTS.format(content_type=CLOUDEVENTS_CONTENT_TYPE, topics=topics, submissions=SUBMISSIONS_TOPIC),
        PARTICIPANT,
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description="docs/contract.md from the code")
    args.add_argument("--check", action="store_true", help="exit 1 if docs/contract.md is out of date")
    options = args.parse_args(argv)
    text = render(openapi_documents())
    if options.check:
        current = CONTRACT.read_text() if CONTRACT.exists() else ""
        if current != text:
            print("docs/contract.md is out of date: run `python -m ops.contract`", file=sys.stderr)
            return 1
        return 0
    CONTRACT.write_text(text)
    print(f"wrote {CONTRACT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
