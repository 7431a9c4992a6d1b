"""Contributions gathered on paper or at meetings, imported from a CSV file.

One row per contribution; the first row names the columns (any order, any subset):

    name, email, phone, external_ref,        who gave it (all optional)
    address_line_1 .. address_line_5,        a postal address, house and street first,
    postcode                                 and its UK postcode (needed for post)
    preferred_channel, consent_to_contact,   email|sms|post|none; yes/no (required)
    language, format,                        en, cy, ...; standard|easy_read|large_print
    type, text,                              view|recommendation|complaint|compliment|question
    on_behalf_of,                            people a group speaks for (default 1)
    channel,                                 overrides --channel for the row (paper, meeting, ...)
    submitted_at                             2026-03-14 or 2026-03-14T10:30 (UK time) or with an offset

Every row is checked with the API's own schema and rules before anything is written, and
every problem is reported with its row number as a spreadsheet shows it (the header is
row 1). If any row is bad, nothing is imported. Rows are then accepted one transaction
each, keyed by (file contents, row number), so running the same file again after a crash
imports only what is missing, and running it twice imports nothing twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError, fields

from services.intake.entrypoints.schemas import ContributionSchema
from services.intake.service_layer import services
from shared.http.contact_schemas import ADDRESS_LINES_MAX
from shared.infra.platform import Platform
from shared.messaging.events import flatten_errors
from shared.rules.constants import ROLE_STAFF
from shared.rules.domain import UK

ADDRESS_COLUMNS = tuple(f"address_line_{n}" for n in range(1, ADDRESS_LINES_MAX + 1))
PARTICIPANT_COLUMNS = (
    "name",
    "email",
    "phone",
    "external_ref",
    "preferred_channel",
    "consent_to_contact",
    "language",
    "format",
    *ADDRESS_COLUMNS,
    "postcode",
)
CONTRIBUTION_COLUMNS = ("type", "text", "on_behalf_of", "channel", "submitted_at")
COLUMNS = PARTICIPANT_COLUMNS + CONTRIBUTION_COLUMNS

_contribution_schema = ContributionSchema()


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already_imported: int = 0
    # {row number: {column: [messages]}}
    problems: dict[int, dict[str, list[str]]] = field(default_factory=dict)


class UnreadableFile(Exception):
    """The file as a whole cannot be imported (not CSV, unknown columns)."""


def _cell_for_schema(column: str, value: str):
    """Cells are text: turn the ones the schema wants typed into what the API would get."""
    if column == "on_behalf_of" and value.isdigit():
        return int(value)
    if column == "consent_to_contact":  # yes/no, true/false, 1/0 in a spreadsheet; JSON's true/false to the schema
        if value.lower() in fields.Boolean.truthy:
            return True
        if value.lower() in fields.Boolean.falsy:
            return False
    if column == "submitted_at":
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value  # the schema says what is wrong with it
        return (moment if moment.tzinfo else moment.replace(tzinfo=UK)).isoformat()
    return value


def _column_of(field_name: str) -> str:
    """The CSV column a schema field came from: participant.email -> email, an address
    line's problem to its own column (participant.address_lines.1 -> address_line_2)."""
    name = field_name.removeprefix("participant.")
    line = name.removeprefix("address_lines.")
    return f"address_line_{int(line) + 1}" if line != name and line.isdigit() else name


def _participant(cells: dict[str, str]) -> dict:
    """The row's participant as the API takes one: the address lines as one list."""
    participant = {k: _cell_for_schema(k, v) for k, v in cells.items() if k in PARTICIPANT_COLUMNS}
    lines = [participant.pop(column) for column in ADDRESS_COLUMNS if column in participant]
    if lines:
        participant["address_lines"] = lines
    return participant


def parse(
    content: bytes, *, engagement_id: str, channel: str
) -> tuple[list[services.ImportRow], dict[int, dict[str, list[str]]]]:
    """(rows the schema accepts, {row number: problems} for those it does not)."""
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        header = [name.strip() for name in reader.fieldnames or []]
    except (UnicodeDecodeError, csv.Error) as error:
        raise UnreadableFile(f"not a UTF-8 CSV file: {error}") from None
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise UnreadableFile(f"unknown column(s): {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}")
    if not header:
        raise UnreadableFile("the file is empty: the first row names the columns")
    reader.fieldnames = header
    file_key = hashlib.sha256(content).hexdigest()[:32]
    rows, problems = [], {}
    for index, record in enumerate(reader):
        number = index + 2  # as a spreadsheet numbers it, the header being row 1
        if None in record:
            problems[number] = {"_row": ["More cells than the header names."]}
            continue
        cells = {k: v.strip() for k, v in record.items() if v is not None and v.strip()}
        body = {
            "engagement_id": engagement_id,
            "channel": channel,
            **{k: _cell_for_schema(k, v) for k, v in cells.items() if k in CONTRIBUTION_COLUMNS},
            "participant": _participant(cells),
        }
        try:
            data = _contribution_schema.load(body)
        except ValidationError as invalid:
            problems[number] = _by_column(flatten_errors(invalid.messages))
            continue
        rows.append(services.ImportRow(number=number, data=data, idempotency_key=f"csv:{file_key}:{number}"))
    return rows, problems


def _by_column(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, messages in errors.items():
        if name == "Idempotency-Key":
            name, messages = "_row", ["Already imported from this file with another engagement or channel."]
        found.setdefault(_column_of(name), []).extend(messages)
    return found


def import_file(
    platform: Platform,
    path: Path,
    *,
    tenant: str,
    engagement_id: str,
    channel: str = "paper",
    progress: Callable[[int], Callable[[], None]] = lambda total: lambda: None,
) -> ImportReport:
    """Check every row, then import them all (or, with any problem, none).

    `progress(total)` returns what to call after each row imported."""
    return import_content(
        platform, path.read_bytes(), tenant=tenant, engagement_id=engagement_id, channel=channel, progress=progress
    )


def template() -> str:
    """An empty file to fill in: the header row, every column named."""
    return ",".join(COLUMNS) + "\r\n"


def import_content(
    platform: Platform,
    content: bytes,
    *,
    tenant: str,
    engagement_id: str,
    channel: str = "paper",
    identity: str = "csv-import",
    progress: Callable[[int], Callable[[], None]] = lambda total: lambda: None,
) -> ImportReport:
    """import_file's work on a file's bytes (an upload); `identity` is who imported it."""
    rows, problems = parse(content, engagement_id=engagement_id, channel=channel)
    checked, done = services.check_import(platform.uow(read_only=True), tenant, rows, now=platform.clock())
    problems.update({number: _by_column(errors) for number, errors in checked.items()})
    report = ImportReport(rows=len(rows) + len(problems), already_imported=len(done))
    if problems:
        report.problems = dict(sorted(problems.items()))
        return report
    to_import = [row for row in rows if row.number not in done]
    report.imported = services.import_contributions(
        platform.uow(),
        services.Submitter(tenant=tenant, role=ROLE_STAFF, identity=identity),
        to_import,
        clock=platform.clock,
        source=platform.source,
        progress=progress(len(to_import)),
    )
    return report
