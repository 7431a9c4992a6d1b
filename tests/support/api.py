"""Calling a service's Flask app as a given tenant and role."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask.testing import FlaskClient

from shared.infra.auth import KeyStore
from shared.rules.constants import ROLES
from tests.support.factories import CASE_SYSTEM_SOURCE

# What the suite's settings set METRICS_TOKEN to: the scraper's bearer token for web /metrics.
METRICS_TOKEN = "test-metrics-token"


def scrape(client: FlaskClient):
    """GET /metrics as Prometheus does, with the metrics token."""
    return client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})


@dataclass
class Tenant:
    slug: str
    keys: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)


def create_tenant(keystore: KeyStore, slug: str, *, case_systems: tuple[str, ...] = (CASE_SYSTEM_SOURCE,)) -> Tenant:
    """A council onboarded as an operator does it: the tenant, a key per role, and the
    sources its case systems publish submissions as."""
    keystore.create_tenant(slug, slug.title() + " Council")
    for source in case_systems:
        keystore.add_source(slug, source)
    tenant = Tenant(slug)
    for role in ROLES:
        tenant.key_ids[role], tenant.keys[role] = keystore.create_key(slug, role)
    return tenant


class ApiClient:
    def __init__(self, client: FlaskClient, tenant: Tenant, role: str = "staff"):
        self.client = client
        self.tenant = tenant
        self.role = role

    def as_(self, role: str | None = None, tenant: Tenant | None = None) -> ApiClient:
        return ApiClient(self.client, tenant or self.tenant, role or self.role)

    def _headers(self, headers: dict | None) -> dict:
        return {"Authorization": f"Bearer {self.tenant.keys[self.role]}", **(headers or {})}

    def get(self, path: str, headers: dict | None = None, **kwargs):
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(self, path: str, json: object = None, headers: dict | None = None, **kwargs):
        return self.client.post(path, json=json, headers=self._headers(headers), **kwargs)

    def patch(self, path: str, json: object = None, headers: dict | None = None, **kwargs):
        return self.client.patch(path, json=json, headers=self._headers(headers), **kwargs)

    def put(self, path: str, json: object = None, headers: dict | None = None, **kwargs):
        return self.client.put(path, json=json, headers=self._headers(headers), **kwargs)

    def delete(self, path: str, headers: dict | None = None, **kwargs):
        return self.client.delete(path, headers=self._headers(headers), **kwargs)
