"""Schemathesis against intake's own OpenAPI document: no 500s, and every answer as documented."""

from __future__ import annotations

from tests.fuzz.conftest import World


def test_intake_answers_every_request_as_documented(world: World):
    failures = world.fuzz("intake")
    assert not failures, "\n\n".join(failures)
