"""Looking for a person's details in everything a service keeps or publishes.

Every value is read as bytes, and every Fernet token found in it is opened with the
test's sealer (tokens inside opened tokens too), so a sealed copy counts as a copy.
"""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from shared.infra.crypto import Sealer, UnreadableCiphertext

FERNET_TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_\-=]+")


def as_bytes(value) -> bytes:  # noqa: ANN001 - whatever a column holds
    if isinstance(value, (bytes, memoryview)):
        return bytes(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False).encode()
    return str(value).encode()


def readable(data: bytes, sealer: Sealer) -> bytes:
    """`data`, followed by what every token inside it opens to."""
    parts = [data]
    for token in FERNET_TOKEN.findall(data):
        try:
            opened = sealer.open_bytes(token.decode())
        except UnreadableCiphertext:
            continue
        parts.append(readable(opened, sealer))
    return b"\n".join(parts)


def database_contents(engine: sa.Engine, sealer: Sealer) -> dict[str, bytes]:
    """{table: every value of every row, sealed values opened}; the tables found by
    reflection, so a table nobody thought of is searched too."""
    metadata = sa.MetaData()
    contents = {}
    with engine.connect() as connection:
        metadata.reflect(connection)
        for table in metadata.sorted_tables:
            values = [as_bytes(value) for row in connection.execute(sa.select(table)) for value in row]
            contents[table.name] = readable(b"\n".join(values), sealer)
    return contents


def tables_holding(contents: dict[str, bytes], details: list[str]) -> dict[str, list[str]]:
    """{table or topic: the details found in it}, only where something was found."""
    found = {}
    for name, data in contents.items():
        present = [detail for detail in details if detail.encode() in data]
        if present:
            found[name] = present
    return found
