"""The operator's `outcomes` command, run as a process against real databases."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from services.intake.entrypoints.web import create_app
from tests.support import factories


def outcomes(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args], capture_output=True, text=True, env=os.environ.copy()
    )


def test_keys_are_created_for_a_tenant_shown_once_and_refused_at_once_when_revoked(intake):
    assert outcomes("migrate", "--all").returncode == 0
    assert outcomes("tenants", "create", "wiltshire", "--name", "Wiltshire Council").returncode == 0

    created = outcomes("keys", "create", "--tenant", "wiltshire", "--role", "staff")
    assert created.returncode == 0, created.stderr
    key_id = re.search(r"key id: (\S+)", created.stdout).group(1)
    key = re.search(r"key:\s+(oc_\S+)", created.stdout).group(1)
    assert key not in outcomes("keys", "list", "--tenant", "wiltshire").stdout  # only the id and a hash are kept

    client = create_app(intake).test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post("/v1/engagements", json=factories.engagement_payload(), headers=headers).status_code == 201

    assert outcomes("keys", "revoke", key_id).returncode == 0
    refused = client.get("/v1/engagements", headers=headers)
    assert refused.status_code == 401
    assert refused.content_type == "application/problem+json"


def test_mistakes_are_reported_plainly(intake):
    outcomes("migrate", "--all")
    unknown_tenant = outcomes("keys", "create", "--tenant", "atlantis", "--role", "staff")
    assert unknown_tenant.returncode == 2 and "no tenant 'atlantis'" in unknown_tenant.stderr
    assert outcomes("keys", "create", "--tenant", "atlantis", "--role", "mayor").returncode == 2
    assert "unknown service" in outcomes("migrate", "billing").stderr
    assert outcomes("keys", "revoke", "nope").returncode == 2


def test_a_command_before_migrating_says_what_to_run_on_either_database(settings):
    listed = outcomes("keys", "list", "--tenant", "wiltshire")
    assert listed.returncode == 2
    assert "run `outcomes migrate --all` first" in listed.stderr
    assert "Traceback" not in listed.stderr
