"""The pages' shared parts: every message in both languages, no open redirects."""

from __future__ import annotations

import importlib
import string
from pathlib import Path

import pytest
from flask import Flask

from services.intake.entrypoints.copy import COPY as INTAKE_COPY
from shared.http.oidc import SIGN_IN_COPY
from shared.http.pages import LANGUAGES, SHARED_COPY, Pages, safe_next
from shared.infra.identity import IdentityProvider

ROOT = Path(__file__).resolve().parents[4]


def _catalogs() -> dict[str, dict]:
    found = {"shared": SHARED_COPY, "sign_in": SIGN_IN_COPY}
    for path in sorted(ROOT.glob("services/*/entrypoints/copy.py")):
        module = importlib.import_module(f"services.{path.parts[-3]}.entrypoints.copy")
        found[path.parts[-3]] = module.COPY
    return found


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("owner", list(_catalogs()))
def test_every_message_exists_in_english_and_welsh_with_the_same_placeholders(owner):
    catalog = _catalogs()[owner]
    assert set(catalog) == set(LANGUAGES)
    assert set(catalog["en"]) == set(catalog["cy"]), "a message is missing in one language"
    for key, english in catalog["en"].items():
        assert catalog["cy"][key].strip(), f"{key} is empty in Welsh"
        assert _placeholders(catalog["cy"][key]) == _placeholders(english), key


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("/dashboard?period=2026", "/dashboard?period=2026"),
        ("//evil.example/x", "/home"),
        ("https://evil.example/", "/home"),
        ("/\\evil.example", "/home"),
        (None, "/home"),
        ("", "/home"),
    ],
)
def test_after_sign_in_only_a_page_of_this_site_is_opened(asked, expected):
    assert safe_next(asked, "/home") == expected


# Page sessions ------------------------------------------------------------------------------


def key_session(apps, tenant, role: str = "staff"):
    client = apps["intake"].test_client()
    response = client.post("/sign-in", data={"key": tenant.keys[role], "next": "/dashboard"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def test_a_session_left_idle_is_sent_to_sign_in_again(apps, wiltshire):
    client = key_session(apps, wiltshire)
    with client.session_transaction() as stored:
        stored["seen"] -= apps["intake"].extensions["platform"].settings.session_idle_timeout + 1

    response = client.get("/dashboard")

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in?next=%2Fdashboard&ended=1"
    assert "Your session ended" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_session_in_use_ends_at_the_absolute_timeout(apps, wiltshire):
    client = key_session(apps, wiltshire)
    with client.session_transaction() as stored:
        stored["started"] -= apps["intake"].extensions["platform"].settings.session_absolute_timeout

    assert client.get("/dashboard").status_code == 303


def test_signing_out_needs_the_pages_form_token(apps, wiltshire):
    client = key_session(apps, wiltshire)

    assert client.post("/sign-out", data={}).status_code == 400
    assert client.get("/dashboard").status_code == 200


def test_a_council_with_an_identity_provider_no_longer_signs_in_with_keys(apps, platforms, wiltshire):
    client = key_session(apps, wiltshire)
    platforms["intake"].identity.set(
        IdentityProvider(
            tenant=wiltshire.slug,
            issuer="https://login.example.gov.uk",
            client_id="outcomes",
            client_secret="secret",
            staff_groups=("staff",),
        )
    )

    assert client.get("/dashboard").status_code == 303  # the key session ends
    refused = apps["intake"].test_client().post("/sign-in", data={"key": wiltshire.keys["staff"]})
    assert refused.status_code == 401
    assert "Sign in with Wiltshire Council" in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("en", 1, "1 contribution is overdue. 1 day"),
        ("en", 2, "2 contributions are overdue. 2 days"),
        ("cy", 2, "Mae 2 gyfraniad yn hwyr. 2 ddiwrnod"),
        ("cy", 3, "Mae 3 chyfraniad yn hwyr. 3 diwrnod"),
    ],
)
def test_a_page_says_a_count_in_the_plural_form_of_its_language(tmp_path, lang, n, expected):
    (tmp_path / "count.html.j2").write_text("{{ nt('dashboard.overdue.count', n) }} {{ t('dashboard.days', count=n) }}")
    pages = Pages(tmp_path, INTAKE_COPY)
    with Flask(__name__).test_request_context(f"/dashboard?lang={lang}"):
        assert pages.render("count.html.j2", n=n).get_data(as_text=True) == expected
