"""Tenants, API keys and case-system sources: one key, one tenant, one role; only a hash is stored.

A key reads `oc_<key id>_<secret>`. The id finds the row; the secret's SHA-256 is
compared in constant time. Secrets carry 256 bits of randomness, so a fast hash is
enough (a slow KDF defends low-entropy passwords, which these are not).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from shared.infra.db import read_only
from shared.infra.tables import UTCDateTime, utcnow
from shared.rules.constants import ROLES, SOURCE_URI_PATTERN

auth_metadata = sa.MetaData()

tenants = sa.Table(
    "tenants",
    auth_metadata,
    sa.Column("slug", sa.String(63), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
)

api_keys = sa.Table(
    "api_keys",
    auth_metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(63), sa.ForeignKey("tenants.slug"), nullable=False, index=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

# The CloudEvents `source` each council's case systems send as: a `contribution.submitted`
# on intake.submissions is accepted only from a source its tenant registered.
case_system_sources = sa.Table(
    "case_system_sources",
    auth_metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(63), sa.ForeignKey("tenants.slug"), nullable=False),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.UniqueConstraint("tenant", "source", name="uq_case_system_sources_tenant_source"),
)
_SOURCE_LISTED = (case_system_sources.c.id, case_system_sources.c.source, case_system_sources.c.created_at)


# What authenticating a key reads, built once: every API request asks it.
_KEY_BY_ID = sa.select(api_keys.c.tenant, api_keys.c.role, api_keys.c.secret_hash, api_keys.c.revoked_at).where(
    api_keys.c.id == sa.bindparam("id")
)

# What a key's owner may see of it: never the hash.
_LISTED = (api_keys.c.id, api_keys.c.role, api_keys.c.label, api_keys.c.created_at, api_keys.c.revoked_at)


@dataclass(frozen=True)
class Person:
    """Who signed in with their council's identity provider: its issuer and their subject
    there (stable), and the name it gave (shared/infra/identity.py)."""

    issuer: str
    subject: str
    name: str

    @property
    def reference(self) -> str:
        """A short stable id for the person (31 characters), where a key id goes."""
        digest = hashlib.sha256(f"{self.issuer}\x1f{self.subject}".encode()).hexdigest()
        return f"person-{digest[:24]}"


@dataclass(frozen=True)
class Principal:
    """Who makes a request: an API key (machines, `make run`), or a person signed in with
    their council's identity provider, whose `key_id` is then `person.reference`."""

    key_id: str
    tenant: str
    role: str
    person: Person | None = None


class UnknownTenant(LookupError):
    pass


class UnknownKey(LookupError):
    pass


class UnknownSource(LookupError):
    pass


def check_source_uri(uri: str) -> None:
    """ValueError unless `uri` can be a CloudEvents source: 1 to 1024 printable ASCII characters, no spaces."""
    if not isinstance(uri, str) or not re.fullmatch(SOURCE_URI_PATTERN, uri):
        raise ValueError("a source is a URI: 1 to 1024 printable ASCII characters, no spaces")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    TENANT_CACHE_SECONDS = 30.0

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._known_tenants: dict[str, float] = {}
        self._known_sources: dict[tuple[str, str], float] = {}

    def create_tenant(self, slug: str, name: str | None = None) -> bool:
        """Create the tenant if it does not exist; True when created."""
        with self.engine.begin() as connection:
            if connection.execute(sa.select(tenants.c.slug).where(tenants.c.slug == slug)).first():
                return False
            connection.execute(tenants.insert().values(slug=slug, name=name or slug, created_at=utcnow()))
            return True

    def tenant_exists(self, slug: str) -> bool:
        """Positive answers are cached briefly; a new tenant is seen at once."""
        now = time.monotonic()
        if self._known_tenants.get(slug, 0.0) > now:
            return True
        with read_only(self.engine) as connection:
            found = connection.execute(sa.select(tenants.c.slug).where(tenants.c.slug == slug)).first() is not None
        if found:
            self._known_tenants[slug] = now + self.TENANT_CACHE_SECONDS
        return found

    def tenant_name(self, slug: str) -> str | None:
        """The council's name as its public pages show it; None for an unknown slug."""
        with read_only(self.engine) as connection:
            return connection.execute(sa.select(tenants.c.name).where(tenants.c.slug == slug)).scalar_one_or_none()

    def list_tenants(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.execute(sa.select(tenants.c.slug).order_by(tenants.c.slug)).scalars())

    def create_key(self, tenant: str, role: str, label: str | None = None) -> tuple[str, str]:
        """Return (key id, the key itself). The key is shown once and never stored."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not self.tenant_exists(tenant):
            raise UnknownTenant(tenant)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(
                api_keys.insert().values(
                    id=key_id, tenant=tenant, role=role, secret_hash=_hash(secret), label=label, created_at=utcnow()
                )
            )
        return key_id, f"oc_{key_id}_{secret}"

    def revoke(self, key_id: str, *, tenant: str | None = None) -> None:
        """Revoke a key (again is harmless). With `tenant`, another tenant's key is unknown."""
        owned = [api_keys.c.id == key_id] + ([api_keys.c.tenant == tenant] if tenant is not None else [])
        with self.engine.begin() as connection:
            result = connection.execute(
                api_keys.update().where(*owned, api_keys.c.revoked_at.is_(None)).values(revoked_at=utcnow())
            )
            if result.rowcount == 0 and not connection.execute(sa.select(api_keys.c.id).where(*owned)).first():
                raise UnknownKey(key_id)

    def list_keys(self, tenant: str) -> list[dict]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(*_LISTED).where(api_keys.c.tenant == tenant).order_by(api_keys.c.created_at)
            ).mappings()
            return [dict(row) for row in rows]

    def get_key(self, tenant: str, key_id: str) -> dict:
        with read_only(self.engine) as connection:
            row = (
                connection.execute(sa.select(*_LISTED).where(api_keys.c.id == key_id, api_keys.c.tenant == tenant))
                .mappings()
                .first()
            )
        if row is None:
            raise UnknownKey(key_id)
        return dict(row)

    # Case-system sources ---------------------------------------------------------------

    def add_source(self, tenant: str, uri: str) -> tuple[dict, bool]:
        """Register a source the tenant's case systems send as: (its registration, True when new).
        ValueError for a malformed URI, UnknownTenant for an unknown tenant."""
        check_source_uri(uri)
        if not self.tenant_exists(tenant):
            raise UnknownTenant(tenant)
        with self.engine.begin() as connection:
            if self._source_row(connection, tenant, source=uri) is None:
                try:
                    with connection.begin_nested():
                        connection.execute(
                            case_system_sources.insert().values(
                                id=str(uuid.uuid4()), tenant=tenant, source=uri, created_at=utcnow()
                            )
                        )
                except sa.exc.IntegrityError:  # registered meanwhile by someone else
                    pass
                else:
                    return dict(self._source_row(connection, tenant, source=uri)), True
            return dict(self._source_row(connection, tenant, source=uri)), False

    def list_sources(self, tenant: str) -> list[dict]:
        with read_only(self.engine) as connection:
            rows = connection.execute(
                sa.select(*_SOURCE_LISTED)
                .where(case_system_sources.c.tenant == tenant)
                .order_by(case_system_sources.c.created_at, case_system_sources.c.source)
            ).mappings()
            return [dict(row) for row in rows]

    def get_source(self, tenant: str, source_id: str) -> dict:
        with read_only(self.engine) as connection:
            row = self._source_row(connection, tenant, source_id=source_id)
        if row is None:
            raise UnknownSource(source_id)
        return dict(row)

    def remove_source(self, tenant: str, *, uri: str | None = None, source_id: str | None = None) -> dict:
        """Remove a registration, by URI or by id; UnknownSource if the tenant has none such.
        A consumer may still accept the source for up to SOURCE_CACHE_SECONDS."""
        if (uri is None) == (source_id is None):
            raise TypeError("name the source by uri or by source_id")
        with self.engine.begin() as connection:
            row = self._source_row(connection, tenant, source=uri, source_id=source_id)
            if row is None:
                raise UnknownSource(uri or source_id)
            connection.execute(case_system_sources.delete().where(case_system_sources.c.id == row.id))
        self._known_sources.pop((tenant, row.source), None)
        return dict(row)

    SOURCE_CACHE_SECONDS = 30.0

    def source_registered(self, tenant: str, source: str) -> bool:
        """Whether the tenant registered this case-system source. Positive answers are cached
        briefly (one query per event would slow intake); a new registration is seen at once."""
        now = time.monotonic()
        if self._known_sources.get((tenant, source), 0.0) > now:
            return True
        with read_only(self.engine) as connection:
            found = self._source_row(connection, tenant, source=source) is not None
        if found:
            self._known_sources[(tenant, source)] = now + self.SOURCE_CACHE_SECONDS
        return found

    @staticmethod
    def _source_row(connection, tenant: str, *, source: str | None = None, source_id: str | None = None):
        conditions = [case_system_sources.c.tenant == tenant]
        if source is not None:
            conditions.append(case_system_sources.c.source == source)
        if source_id is not None:
            conditions.append(case_system_sources.c.id == source_id)
        return connection.execute(sa.select(*_SOURCE_LISTED).where(*conditions)).mappings().first()

    def authenticate(self, presented: str) -> Principal | None:
        """The principal for a presented key, or None. Revocation applies at once."""
        key_id, secret = _parse(presented)
        if not key_id:
            return None
        with read_only(self.engine) as connection:
            row = connection.execute(_KEY_BY_ID, {"id": key_id}).first()
        expected = row.secret_hash if row else _hash("")
        matches = hmac.compare_digest(_hash(secret), expected)
        if row is None or not matches or row.revoked_at is not None:
            return None
        return Principal(key_id=key_id, tenant=row.tenant, role=row.role)

    def identify(self, presented: str) -> Principal | None:
        """Whose key a refused key names, secret right or not (revoked keys too), for the audit log."""
        key_id, _ = _parse(presented)
        if not key_id:
            return None
        with read_only(self.engine) as connection:
            row = connection.execute(
                sa.select(api_keys.c.tenant, api_keys.c.role).where(api_keys.c.id == key_id)
            ).first()
        return Principal(key_id=key_id, tenant=row.tenant, role=row.role) if row else None

    def active(self, key_id: str) -> Principal | None:
        """The principal of an unrevoked key, by id: a page session re-checks its key on every request."""
        with read_only(self.engine) as connection:
            row = connection.execute(
                sa.select(api_keys.c.tenant, api_keys.c.role).where(
                    api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)
                )
            ).first()
        return Principal(key_id=key_id, tenant=row.tenant, role=row.role) if row else None


def _parse(presented: str) -> tuple[str | None, str]:
    """(key id, secret) of a key shaped `oc_<id>_<secret>`; (None, "") for anything else."""
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != "oc" or not key_id or not secret or len(presented) > 200:
        return None, ""
    return key_id, secret
