"""Schemathesis against decisions's own OpenAPI document: no 500s, and every answer as documented."""

from __future__ import annotations

from tests.fuzz.conftest import World


def test_decisions_answers_every_request_as_documented(world: World):
    failures = world.fuzz("decisions")
    assert not failures, "\n\n".join(failures)
