"""`outcomes demo` against the real apps over HTTP, the real broker and both databases."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import replace

import pytest
import requests
from werkzeug.serving import make_server

from ops import demo
from services.decisions import bootstrap as decisions_service
from services.decisions.entrypoints import web as decisions_web
from services.intake import bootstrap as intake_service
from services.intake.entrypoints import web as intake_web
from tests.support.api import create_tenant
from tests.support.ports import free_port
from tests.support.running import start_consumer, start_relay


def serve(app, stack: ExitStack) -> str:
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def running_council(settings, intake, decisions, broker):
    """Intake and decisions on HTTP, with their consumers and relays on the broker."""
    keys = create_tenant(intake.keys, demo.DEMO_TENANT).keys
    with ExitStack() as stack:
        urls = {
            "intake": serve(intake_web.create_app(intake), stack),
            "decisions": serve(decisions_web.create_app(decisions), stack),
        }
        workers = [
            start_consumer(intake, broker.bootstrap, intake_service.INBOUND_TOPICS, group="intake"),
            start_relay(intake, broker.bootstrap),
            start_consumer(decisions, broker.bootstrap, decisions_service.INBOUND_TOPICS, group="decisions"),
            start_relay(decisions, broker.bootstrap),
        ]
        for worker in workers:
            stack.callback(worker.join)
        yield {"settings": replace(settings, kafka_bootstrap_servers=broker.bootstrap), "urls": urls, "keys": keys}
        for worker in workers:
            assert worker.crashed is None, repr(worker.crashed)


def get(url: str, key: str) -> dict:
    response = requests.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_demo_seeds_whole_chains_through_the_apis_and_events_and_a_second_run_adds_nothing(running_council):
    settings, urls, keys = running_council["settings"], running_council["urls"], running_council["keys"]
    intake, decisions, staff = urls["intake"], urls["decisions"], keys["staff"]

    seeded = demo.seed(settings, intake_url=intake, decisions_url=decisions, keys=keys)

    contributions = get(f"{intake}/v1/contributions?per_page=200", staff)["items"]
    assert len(contributions) == len(demo.CONTRIBUTIONS) == 11
    assert {c["type"] for c in contributions} == {"view", "recommendation", "complaint", "compliment", "question"}
    (collective,) = [c for c in contributions if c["on_behalf_of"] > 1]
    assert (collective["on_behalf_of"], collective["channel"]) == (14, "meeting")
    recorded = get(f"{decisions}/v1/decisions?per_page=200", staff)["items"]
    assert sorted(d["outcome"] for d in recorded) == ["adopted", "not_adopted", "partly_adopted"]

    forum = get(f"{decisions}/v1/contributions/{seeded.contributions['forum']['id']}/outcome-chain", staff)
    assert forum["status"] == "implemented"
    assert forum["decisions"][0]["influence"].startswith("The forum's 14 members asked for Saturday opening")
    assert [h["status"] for h in forum["resource_changes"][0]["history"]] == ["planned", "in_progress", "implemented"]
    # The Welsh engagement's date has passed: what it did not decide is overdue, what it decided is not.
    overdue = {item["contribution_id"] for item in get(f"{decisions}/v1/overdue", staff)["items"]}
    assert overdue == {seeded.contributions[slug]["id"] for slug in ("staff-cy", "home-cy")}
    assert "DEMO-" in demo.summary(seeded, decisions_url=decisions, settings=settings, keys_path=settings.var_dir)

    again = demo.seed(settings, intake_url=intake, decisions_url=decisions, keys=keys)

    assert {k: c["id"] for k, c in again.contributions.items()} == {k: c["id"] for k, c in seeded.contributions.items()}
    assert (again.engagements, again.decisions) == (seeded.engagements, seeded.decisions)
    assert get(f"{intake}/v1/contributions", staff)["total"] == 11
    assert get(f"{intake}/v1/engagements", staff)["total"] == 2
    assert get(f"{decisions}/v1/decisions", staff)["total"] == 3
    assert get(f"{intake}/v1/dead-letters", staff)["total"] == 0
