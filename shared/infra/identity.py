"""Each council's OpenID Connect identity provider, and which of its groups gives which role.

One row per tenant in the key registry's database (every service reads it, like the keys):
the issuer, the client id, the client secret sealed with DATA_ENCRYPTION_KEYS, the claim
holding a person's groups or roles, and the groups that make someone staff, board or admin.
`outcomes identity-provider set` writes it. Once a tenant has a provider its people sign in
there, and access-key sign-in to its pages is refused.

`role_for` is pure: the role a person's claims give them, or None (no access).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa

from shared.infra.auth import UnknownTenant, auth_metadata, tenants
from shared.infra.crypto import Sealer
from shared.infra.db import read_only
from shared.infra.tables import UTCDateTime, utcnow
from shared.rules.constants import ROLE_ADMIN, ROLE_BOARD, ROLE_STAFF

# The most a person's groups can give first: a member of staff who is also on the board is staff.
ROLE_PRECEDENCE = (ROLE_ADMIN, ROLE_STAFF, ROLE_BOARD)
DEFAULT_ROLE_CLAIM = "groups"
DEFAULT_SCOPE = "openid profile"

identity_providers = sa.Table(
    "identity_providers",
    auth_metadata,
    sa.Column("tenant", sa.String(63), sa.ForeignKey("tenants.slug"), primary_key=True),
    sa.Column("issuer", sa.String(1024), nullable=False),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("sealed_client_secret", sa.Text, nullable=False),
    sa.Column("scope", sa.String(255), nullable=False),
    sa.Column("role_claim", sa.String(100), nullable=False),
    # Newline-separated group (or role) names, as the claim carries them.
    sa.Column("staff_groups", sa.Text, nullable=False),
    sa.Column("board_groups", sa.Text, nullable=False),
    sa.Column("admin_groups", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)


@dataclass(frozen=True)
class IdentityProvider:
    tenant: str
    issuer: str
    client_id: str
    client_secret: str
    role_claim: str = DEFAULT_ROLE_CLAIM
    staff_groups: tuple[str, ...] = ()
    board_groups: tuple[str, ...] = ()
    admin_groups: tuple[str, ...] = ()
    scope: str = DEFAULT_SCOPE

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything a client is built from changes (a rotated secret too)."""
        parts = (self.issuer, self.client_id, self.client_secret, self.scope)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def groups(self) -> dict[str, tuple[str, ...]]:
        return {ROLE_ADMIN: self.admin_groups, ROLE_STAFF: self.staff_groups, ROLE_BOARD: self.board_groups}


def claimed_groups(claims: Mapping[str, object], claim: str) -> set[str]:
    """The groups (or roles) a claim holds: a list of names, or one name, or space-separated names."""
    value = claims.get(claim)
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, list | tuple):
        return {str(item) for item in value if isinstance(item, str | int)}
    return set()


def role_for(claims: Mapping[str, object], provider: IdentityProvider) -> str | None:
    """The role the person's claims give in this council (admin, then staff, then board), or None."""
    held = claimed_groups(claims, provider.role_claim)
    for role in ROLE_PRECEDENCE:
        if held & set(provider.groups()[role]):
            return role
    return None


def display_name(claims: Mapping[str, object]) -> str:
    """What the pages and the audit log call the person: their name, else email, else subject."""
    for claim in ("name", "preferred_username", "email", "sub"):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return ""


def issuer_problem(issuer: str, *, production: bool) -> str | None:
    """Why an issuer URL will not do (None when it will): https in production, always a host."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return "the issuer must be an https:// URL with a host and no query, such as https://login.example.gov.uk"
    if production and parts.scheme != "https":
        return "in production the issuer must be an https:// URL (OUTCOMES_ENV=development allows http)"
    return None


def _lines(values: Iterable[str]) -> str:
    return "\n".join(v.strip() for v in values if v.strip())


def _names(text: str) -> tuple[str, ...]:
    return tuple(line for line in text.split("\n") if line)


class IdentityProviders:
    """The per-tenant identity provider registry (in the key registry's database)."""

    def __init__(self, engine: sa.Engine, sealer: Sealer | None):
        self.engine = engine
        self.sealer = sealer

    def set(self, provider: IdentityProvider) -> bool:
        """Configure (or reconfigure) a tenant's provider; True when it had none before."""
        if self.sealer is None:
            raise RuntimeError("no DATA_ENCRYPTION_KEYS to seal the client secret with")
        values = {
            "issuer": provider.issuer,
            "client_id": provider.client_id,
            "sealed_client_secret": self.sealer.seal(provider.client_secret),
            "scope": provider.scope,
            "role_claim": provider.role_claim,
            "staff_groups": _lines(provider.staff_groups),
            "board_groups": _lines(provider.board_groups),
            "admin_groups": _lines(provider.admin_groups),
            "updated_at": utcnow(),
        }
        with self.engine.begin() as connection:
            if connection.execute(sa.select(tenants.c.slug).where(tenants.c.slug == provider.tenant)).first() is None:
                raise UnknownTenant(provider.tenant)
            row = identity_providers.c.tenant == provider.tenant
            if connection.execute(sa.select(identity_providers.c.tenant).where(row)).first():
                connection.execute(identity_providers.update().where(row).values(**values))
                return False
            connection.execute(identity_providers.insert().values(tenant=provider.tenant, **values))
            return True

    def remove(self, tenant: str) -> bool:
        """Forget a tenant's provider (its pages take access keys again); True if it had one."""
        with self.engine.begin() as connection:
            done = connection.execute(identity_providers.delete().where(identity_providers.c.tenant == tenant))
            return done.rowcount > 0

    def get(self, tenant: str) -> IdentityProvider | None:
        with read_only(self.engine) as connection:
            row = (
                connection.execute(sa.select(identity_providers).where(identity_providers.c.tenant == tenant))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return IdentityProvider(
            tenant=row["tenant"],
            issuer=row["issuer"],
            client_id=row["client_id"],
            client_secret=self.sealer.open(row["sealed_client_secret"]) if self.sealer else "",
            role_claim=row["role_claim"],
            staff_groups=_names(row["staff_groups"]),
            board_groups=_names(row["board_groups"]),
            admin_groups=_names(row["admin_groups"]),
            scope=row["scope"],
        )

    def configured(self) -> dict[str, str]:
        """{tenant: council name} of every tenant whose people sign in with a provider."""
        with read_only(self.engine) as connection:
            rows = connection.execute(
                sa.select(tenants.c.slug, tenants.c.name)
                .join(identity_providers, identity_providers.c.tenant == tenants.c.slug)
                .order_by(tenants.c.name)
            )
            return {row.slug: row.name for row in rows}

    def listed(self, tenant: str) -> dict | None:
        """What an operator may see of a tenant's provider: never the secret."""
        found = self.get(tenant)
        if found is None:
            return None
        return {
            "tenant": found.tenant,
            "issuer": found.issuer,
            "client_id": found.client_id,
            "scope": found.scope,
            "role_claim": found.role_claim,
            **{f"{role}_groups": list(groups) for role, groups in found.groups().items()},
        }
