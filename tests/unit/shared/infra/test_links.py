"""Participant links: signed, expiring, single-purpose, scoped to one participant."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notifier.bootstrap import bootstrap as bootstrap_notifier
from services.notifier.entrypoints.web import create_app as create_notifier_app
from shared.infra import migrations
from shared.infra.links import MAX_AGE, PREFERENCES, STATUS_PAGE, UNSUBSCRIBE, InvalidLink, Links

ISSUED = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def links_on(clock: Clock, secret: str = "link-secret") -> Links:
    return Links(
        secret, status_base_url="https://status.example", notifier_base_url="https://notify.example", clock=clock
    )


def tampered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


@pytest.fixture
def clock() -> Clock:
    return Clock(ISSUED)


@pytest.mark.parametrize("purpose", [STATUS_PAGE, UNSUBSCRIBE])
def test_a_link_names_exactly_one_participant_of_one_council(clock, purpose):
    links = links_on(clock)
    assert links.read(purpose, links.token(purpose, "wiltshire", "p-1")) == ("wiltshire", "p-1")


@pytest.mark.parametrize("purpose", [STATUS_PAGE, UNSUBSCRIBE])
def test_a_tampered_link_is_refused(clock, purpose):
    links = links_on(clock)
    with pytest.raises(InvalidLink):
        links.read(purpose, tampered(links.token(purpose, "wiltshire", "p-1")))


@pytest.mark.parametrize("purpose", [STATUS_PAGE, UNSUBSCRIBE])
def test_a_link_works_until_it_expires_and_not_after(clock, purpose):
    links = links_on(clock)
    token = links.token(purpose, "wiltshire", "p-1")

    clock.now = ISSUED + dt.timedelta(seconds=MAX_AGE[purpose] - 60)
    assert links.read(purpose, token) == ("wiltshire", "p-1")

    clock.now = ISSUED + dt.timedelta(seconds=MAX_AGE[purpose] + 60)
    with pytest.raises(InvalidLink):
        links.read(purpose, token)


def test_a_status_page_link_cannot_unsubscribe_and_an_unsubscribe_link_cannot_open_the_status_page(clock):
    links = links_on(clock)
    with pytest.raises(InvalidLink):
        links.read(UNSUBSCRIBE, links.token(STATUS_PAGE, "wiltshire", "p-1"))
    with pytest.raises(InvalidLink):
        links.read(STATUS_PAGE, links.token(UNSUBSCRIBE, "wiltshire", "p-1"))


def test_a_link_signed_with_another_deployments_secret_is_refused(clock):
    theirs = links_on(clock, secret="another-deployment")
    with pytest.raises(InvalidLink):
        links_on(clock).read(UNSUBSCRIBE, theirs.token(UNSUBSCRIBE, "wiltshire", "p-1"))


@pytest.mark.parametrize("garbage", ["", "x", "not.a.token", "e30.AAAA.BBBB", "%00" * 3])
def test_garbage_is_refused_not_crashed_on(clock, garbage):
    with pytest.raises(InvalidLink):
        links_on(clock).read(STATUS_PAGE, garbage)


@pytest.fixture
def unsubscribe_app(settings, intake, clock):
    migrations.upgrade_service("notifier", settings.database_url("notifier"))
    platform = bootstrap_notifier(settings, clock=clock)
    yield create_notifier_app(platform).test_client(), platform.extensions["notifier"].links
    platform.engine.dispose()


def test_a_refused_link_does_not_say_whether_it_was_tampered_with_or_expired(unsubscribe_app, council, clock):
    client, links = unsubscribe_app
    token = links.token(UNSUBSCRIBE, council.slug, "p-1")
    tampered_answer = client.get(f"/v1/unsubscribe/{tampered(token)}")
    wrong_purpose_answer = client.get(f"/v1/unsubscribe/{links.token(STATUS_PAGE, council.slug, 'p-1')}")
    clock.now = ISSUED + dt.timedelta(seconds=MAX_AGE[UNSUBSCRIBE] + 1)
    expired_answer = client.post(f"/v1/unsubscribe/{token}")

    answers = [tampered_answer, wrong_purpose_answer, expired_answer]
    assert {answer.status_code for answer in answers} == {404}
    pages = [answer.get_data(as_text=True).split("<main", 1)[1] for answer in answers]
    assert len(set(pages)) == 1  # the same words, whatever was wrong with the link
    assert "signature" not in pages[0].lower() and "tampered" not in pages[0].lower()


def test_a_status_link_opens_in_the_persons_language_and_easy_read_when_they_chose_them(clock):
    links = links_on(clock)

    assert "?" not in links.status_url("wiltshire", "p-1")
    assert links.status_url("wiltshire", "p-1", lang="cy", format_="easy_read").endswith("?lang=cy&format=easy_read")
    assert "?" not in links.status_url("wiltshire", "p-1", lang="pl", format_="large_print")
    preferences = links.preferences_url("wiltshire", "p-1", lang="cy")
    assert preferences.startswith("https://notify.example/preferences/") and preferences.endswith("?lang=cy")
    assert links.read(PREFERENCES, preferences.split("/preferences/")[1].split("?")[0]) == ("wiltshire", "p-1")
