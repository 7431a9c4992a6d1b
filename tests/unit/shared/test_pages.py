"""The pages' shared parts: every message in both languages, no open redirects."""

from __future__ import annotations

import importlib
import string
from pathlib import Path

import pytest

from shared.pages import LANGUAGES, SHARED_COPY, safe_next

ROOT = Path(__file__).resolve().parents[3]


def _catalogs() -> dict[str, dict]:
    found = {"shared": SHARED_COPY}
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
