"""Schemathesis against decisions's own OpenAPI document: no 500s, and every answer as documented."""

from __future__ import annotations

import pytest

from shared.rules.constants import ROLES
from tests.fuzz.conftest import World


@pytest.mark.parametrize("role", ROLES)
def test_decisions_answers_every_request_as_documented_to_every_role(world: World, role: str):
    failures = world.fuzz("decisions", role)
    assert not failures, "\n\n".join(failures)
