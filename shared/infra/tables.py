"""Tables every service database has: the outbox, processed events, dead letters."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

# Alembic and the ORM of each service add their own tables to this metadata's copy.
platform_metadata = sa.MetaData()

BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Column markers: where sealed personal data is kept, so `outcomes reencrypt` (shared/infra/rekey.py)
# finds every value to move onto a new key. Mark every column that holds a token or tokens.
SEALED = {"sealed": "value"}  # the column holds one token (shared/infra/crypto.py)
SEALED_FIELDS = {"sealed": "fields"}  # a JSON document whose `sealed_*` fields are tokens


def lookup_of(sealed_column: str, field: str, purpose: str) -> dict:
    """Column marker: a keyed hash (Sealer.lookup_key) of `field` in the JSON sealed in
    `sealed_column` of the same row, so `outcomes reencrypt` rewrites it under the new key."""
    return {"lookup": {"of": sealed_column, "field": field, "purpose": purpose}}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware datetimes on every backend (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


outbox = sa.Table(
    "outbox",
    platform_metadata,
    sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
    sa.Column("topic", sa.String(255), nullable=False),
    sa.Column("message_key", sa.String(255), nullable=False),
    # A CloudEvent; personal data in it only as `sealed_*` fields.
    sa.Column("payload", sa.LargeBinary, nullable=False, info=SEALED_FIELDS),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("published_at", UTCDateTime, nullable=True),
    sa.Index(
        "ix_outbox_unpublished",
        "id",
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    ),
    sa.Index("ix_outbox_published_at", "published_at"),
)

processed_events = sa.Table(
    "processed_events",
    platform_metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    # sha256 of (source, id): fixed width, so any source fits an index on every backend.
    sa.Column("event_key", sa.String(64), primary_key=True),
    sa.Column("processed_at", UTCDateTime, nullable=False, default=utcnow),
)

dead_letters = sa.Table(
    "dead_letters",
    platform_metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("consumer", sa.String(100), nullable=False),
    sa.Column("tenant", sa.String(63), nullable=True, index=True),
    sa.Column("topic", sa.String(255), nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("event_source", sa.String(1024), nullable=True),
    sa.Column("event_id", sa.String(256), nullable=True),
    sa.Column("event_type", sa.String(256), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    # The original message, sealed: it may carry a participant's contact details.
    sa.Column("sealed_payload", sa.Text, nullable=False, info=SEALED),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("replayed_at", UTCDateTime, nullable=True),
    sa.Column("replay_count", sa.Integer, nullable=False, default=0),
    sa.Index("ix_dead_letters_position", "consumer", "topic", "partition", "offset"),
)
