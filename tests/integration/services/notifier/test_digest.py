"""With a digest window, several updates to one person close together go as one message."""

from __future__ import annotations

import dataclasses
import datetime as dt

from services.notifier.bootstrap import bootstrap
from shared.infra.settings import Settings
from tests.integration.services.notifier.test_messages import feed, send_all
from tests.support import factories


def test_updates_within_the_window_are_combined_and_the_acknowledgement_is_not_held(
    settings, intake, intake_api, engagement, decisions, decisions_api, notifier, smtp
):
    digesting = bootstrap(dataclasses.replace(Settings.from_env(env_file=None), digest_seconds=300))
    created = (
        intake_api.as_("case-system")
        .post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))
        .json
    )
    feed(intake, decisions)
    feed(intake, digesting)
    send_all(digesting)
    assert len(smtp.messages()) == 1  # the acknowledgement went at once

    board = decisions_api.as_("staff").post("/v1/boards", json=factories.board_payload()).json
    for title, influence in (("Saturday opening", "Weekends first."), ("Longer lunches", "Lunch is rushed.")):
        decisions_api.post(
            "/v1/decisions",
            json=factories.decision_payload(
                board["id"], title=title, links=[{"contribution_id": created["id"], "influence": influence}]
            ),
        )
    feed(decisions, digesting)
    send_all(digesting)
    assert len(smtp.messages()) == 1  # held for the window

    sender = digesting.extensions["notifier"].sender
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=301)
    sender.clock = lambda: later
    send_all(digesting)

    messages = smtp.messages()
    assert len(messages) == 2
    digest = messages[1]
    assert digest["Subject"] == "Updates about your contributions"
    text = digest.get_body(("plain",)).get_content()
    assert "Saturday opening" in text and "Longer lunches" in text
    assert "Weekends first." in text and "Lunch is rushed." in text
    assert text.count("Dear ") == 1
