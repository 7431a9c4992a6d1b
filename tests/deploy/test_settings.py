"""Every setting the code reads is set by deploy/k8s and docker-compose.yml, or its default
is documented as safe for a deployment (shared/infra/settings.py); what they set is a setting,
and what they set passes the checks processes make when they start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from shared.infra.settings import BY_NAME, DEFINITION, SAFE, Settings, serving_problems

ROOT = Path(__file__).resolve().parents[2]
K8S_MANIFESTS = sorted(p for p in (ROOT / "deploy" / "k8s").glob("*.yaml") if p.name != "kustomization.yaml")
# The compose services that run our image (the others are Kafka, PostgreSQL and Mailpit).
IMAGE_COMMANDS = ("outcomes", "gunicorn")


def k8s_settings() -> dict[str, str]:
    """Every variable the manifests give a container: the ConfigMap, the Secret, each env list."""
    found: dict[str, str] = {}
    for path in K8S_MANIFESTS:
        for obj in filter(None, yaml.safe_load_all(path.read_text())):
            if obj["kind"] == "ConfigMap":
                found |= obj["data"]
            elif obj["kind"] == "Secret":
                found |= obj["stringData"]
            elif obj["kind"] in ("Deployment", "Job"):
                for container in obj["spec"]["template"]["spec"]["containers"]:
                    found |= {e["name"]: e.get("value", "") for e in container.get("env", [])}
    return found


def compose_app_environments() -> dict[str, dict[str, str]]:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return {
        name: {key: str(value) for key, value in service["environment"].items()}
        for name, service in services.items()
        if service.get("command", [""])[0] in IMAGE_COMMANDS
    }


def with_compose_defaults(value: str) -> str:
    """`${NAME:-default}` as compose fills it in when NAME is unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


@pytest.mark.parametrize("setting", [s for s in DEFINITION if s.production != SAFE], ids=lambda s: s.name)
def test_a_setting_whose_default_will_not_do_is_set_by_both_deployments(setting):
    assert setting.name in k8s_settings(), f"deploy/k8s does not set {setting.name}"
    compose = set().union(*compose_app_environments().values())
    assert setting.name in compose, f"docker-compose.yml does not set {setting.name}"


def test_the_deployments_set_only_declared_settings():
    assert set(k8s_settings()) - set(BY_NAME) == set()
    for name, environment in compose_app_environments().items():
        assert set(environment) - set(BY_NAME) == set(), name


def test_kubernetes_settings_pass_the_production_checks():
    env = k8s_settings()
    assert env["OUTCOMES_ENV"] == "production"
    # The Secret holds placeholders; a council puts real values in place out of band.
    env["DATA_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    env["SERVICE"] = "intake"
    assert serving_problems(Settings.from_mapping(env)) == []


@pytest.mark.parametrize("name", sorted(compose_app_environments()))
def test_compose_settings_pass_the_checks_processes_make(name):
    env = {key: with_compose_defaults(value) for key, value in compose_app_environments()[name].items()}
    settings = Settings.from_mapping(env)
    assert settings.development  # its links point at localhost
    assert serving_problems(settings) == []
