"""What an operator sees on the notifier's /metrics: notifications by status and channel."""

from __future__ import annotations

from tests.integration.services.notifier.test_messages import feed, send_all
from tests.support import factories
from tests.support.api import scrape


def gauge_lines(notifier_api) -> list[str]:
    text = scrape(notifier_api.client).get_data(as_text=True)
    return [line for line in text.splitlines() if line.startswith("notifications{")]


def test_notifications_are_counted_by_status_and_channel_as_they_go_out(
    intake, intake_api, engagement, notifier, notifier_api, smtp
):
    body = factories.contribution_payload(engagement["id"])
    intake_api.as_("case-system").post("/v1/contributions", json=body)
    feed(intake, notifier)

    assert gauge_lines(notifier_api) == ['notifications{channel="email",service="notifier",status="created"} 1.0']

    send_all(notifier)

    assert gauge_lines(notifier_api) == ['notifications{channel="email",service="notifier",status="sent"} 1.0']
