"""Moving every sealed value in a service's database onto the primary data key.

The columns come from the table definitions: each is marked `info=SEALED` (one token) or
`info=SEALED_FIELDS` (a JSON document whose `sealed_*` fields are tokens), see
shared/infra/tables.py. Every row of every marked table is read in primary-key order, in
batches; a batch's new tokens are written and committed before the next is read, so a
run stopped half-way keeps what it did, and running it again only rewrites what is not
on the primary key yet. A value the services change meanwhile is left to them: the
write only happens if the value is still the one that was read.

A column marked `lookup_of(...)` (a keyed hash of a field sealed in another column of the
row, e.g. intake's `participants.external_ref_lookup`) is rewritten as the hash under the
primary key, whether or not its sealed column needed re-sealing.

The outbox is included, published rows too: a pending event must reach the topic on a
key its consumers still hold, and nothing sealed under a retired key should stay at rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from shared.infra import db
from shared.infra.crypto import Sealer, UnreadableCiphertext

DEFAULT_BATCH_SIZE = 500


@dataclass
class TableReport:
    table: str
    rows: int = 0  # rows holding at least one sealed value
    reencrypted: int = 0
    already_primary: int = 0
    changed_meanwhile: int = 0  # rewritten or deleted by the service while this ran
    unreadable: list[str] = field(default_factory=list)  # row ids no configured key opens

    def summary(self) -> str:
        return (
            f"{self.table}: {self.rows} rows, {self.reencrypted} re-encrypted, "
            f"{self.already_primary} already on the primary key, {self.changed_meanwhile} changed meanwhile, "
            f"{len(self.unreadable)} unreadable"
        )


def sealed_columns(metadatas: Iterable[sa.MetaData]) -> dict[sa.Table, list[sa.Column]]:
    """The marked columns of every table, by table."""
    found: dict[sa.Table, list[sa.Column]] = {}
    for metadata in metadatas:
        for table in metadata.sorted_tables:
            columns = [column for column in table.columns if column.info.get("sealed")]
            if columns:
                if len(table.primary_key.columns) != 1:
                    raise ValueError(f"{table.name}: sealed columns need a table with a one-column primary key")
                found[table] = columns
    return found


def reencrypt(
    engine: sa.Engine,
    metadatas: Iterable[sa.MetaData],
    sealer: Sealer,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[TableReport]:
    return [
        _reencrypt_table(engine, table, columns, sealer, batch_size)
        for table, columns in sealed_columns(metadatas).items()
    ]


def _stored(column: sa.Column) -> sa.ColumnElement:
    """What to read and compare: a JSON column as its text (PostgreSQL's json has no `=`)."""
    return sa.cast(column, sa.Text) if isinstance(column.type, sa.JSON) else column


def _reencrypt_table(
    engine: sa.Engine, table: sa.Table, columns: list[sa.Column], sealer: Sealer, batch_size: int
) -> TableReport:
    report = TableReport(table.name)
    [key] = table.primary_key.columns
    last = None
    lookups = _lookup_columns(table)
    while True:
        query = sa.select(key, *(_stored(column).label(column.name) for column in [*columns, *lookups])).order_by(key)
        if last is not None:
            query = query.where(key > last)
        with db.read_only(engine) as connection:
            rows = connection.execute(query.limit(batch_size)).all()
            connection.rollback()
        if not rows:
            return report
        last = rows[-1][0]
        updates = []
        for row in rows:
            stored = {column: _plain(row._mapping[column.name]) for column in columns}
            if all(value is None for value in stored.values()):
                continue
            report.rows += 1
            try:
                new = {column: _resealed(column, value, sealer) for column, value in stored.items()}
                lookups_now = {column: _lookup(table, column, row._mapping, sealer) for column in lookups}
            except UnreadableCiphertext:
                report.unreadable.append(str(row[0]))
                continue
            new = {column: value for column, value in new.items() if value is not None}
            for column, value in lookups_now.items():
                if value != row._mapping[column.name]:
                    stored[column], new[column] = row._mapping[column.name], value
            if new:
                updates.append((row[0], {column: stored[column] for column in new}, new))
            else:
                report.already_primary += 1
        with engine.begin() as connection:
            for row_key, old, new in updates:
                written = connection.execute(
                    table.update()
                    .where(key == row_key, *(_unchanged(column, value) for column, value in old.items()))
                    .values({column.name: _for_column(column, value) for column, value in new.items()})
                ).rowcount
                if written:
                    report.reencrypted += 1
                else:
                    report.changed_meanwhile += 1


def _unchanged(column: sa.Column, value) -> sa.ColumnElement:  # noqa: ANN001
    return column.is_(None) if value is None else _stored(column) == value


def _lookup_columns(table: sa.Table) -> list[sa.Column]:
    return [column for column in table.columns if column.info.get("lookup")]


def _lookup(table: sa.Table, column: sa.Column, row, sealer: Sealer) -> str | None:  # noqa: ANN001 - a row mapping
    """The lookup key `column` should hold: its field, opened from its sealed column, hashed under the primary key."""
    marker = column.info["lookup"]
    token = _plain(row[marker["of"]])
    if token is None:
        return None
    value = sealer.open(token).get(marker["field"])
    return sealer.lookup_key(marker["purpose"], value)


def _resealed(column: sa.Column, value, sealer: Sealer):  # noqa: ANN001 - str, bytes or JSON text
    """The value with every token on the primary key, as read; None if it already was."""
    if value is None:
        return None
    if column.info["sealed"] == "value":
        return sealer.reseal(value)
    document = json.loads(value)
    if not sealer.reseal_fields(document):
        return None
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return text.encode() if isinstance(value, bytes) else text


def _plain(value):  # noqa: ANN001
    return bytes(value) if isinstance(value, memoryview) else value  # bytea through psycopg2


def _for_column(column: sa.Column, value):  # noqa: ANN001
    """A JSON column is written as the document, not as a string holding it."""
    return json.loads(value) if isinstance(column.type, sa.JSON) else value
