"""Field helpers every service's schemas use."""

from __future__ import annotations

import datetime as dt
import functools

from marshmallow import Schema, ValidationError, fields, validate

from shared.rules.constants import ID_MAX, LANGUAGE_TAG_MAX, LANGUAGE_TAG_PATTERN


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=max_length), not_blank], **kwargs)


def identifier(**kwargs) -> fields.String:
    """An id as a client sends it (ours are UUIDs); longer is refused before any query."""
    return fields.String(validate=validate.Length(min=1, max=ID_MAX), **kwargs)


def language_tag(**kwargs) -> fields.String:
    return fields.String(
        validate=[
            validate.Length(max=LANGUAGE_TAG_MAX),
            validate.Regexp(LANGUAGE_TAG_PATTERN, error="Not a language tag such as en or cy."),
        ],
        **kwargs,
    )


# Every date or moment a client sends lies in this range: far enough either side of today
# for any real engagement or decision, near enough that a day more or less never leaves
# what Python's dates hold (9999-12-31 + 1 day is an OverflowError, a 500).
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
_DATE_RANGE = f"Must be between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}."


def _in_date_range(value: dt.date | dt.datetime) -> None:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(_DATE_RANGE)


def date(**kwargs) -> fields.Date:
    """A calendar day a client sends (`2027-03-31`), within EARLIEST_DATE..LATEST_DATE."""
    metadata = {"description": _DATE_RANGE, **kwargs.pop("metadata", {})}
    return fields.Date(validate=_in_date_range, metadata=metadata, **kwargs)


def moment(**kwargs) -> fields.AwareDateTime:
    """A time with its offset a client sends, on a day within EARLIEST_DATE..LATEST_DATE."""
    metadata = {"description": _DATE_RANGE, **kwargs.pop("metadata", {})}
    return fields.AwareDateTime(validate=_in_date_range, metadata=metadata, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON's true or false, nothing else: 0, 1, "yes" or "false" are refused, not guessed at
    (a consent must never be read into a number)."""

    def _deserialize(self, value, attr, data, **kwargs):  # noqa: ANN001, ANN202 - marshmallow's signature
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class DecimalString(fields.Decimal):
    """An exact amount carried as a JSON string ("48000.00"), so no float ever rounds it."""

    def __init__(self, **kwargs):
        super().__init__(as_string=True, **kwargs)


class PageSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def page_of(schema: Schema, items: list, total: int, page: int, per_page: int) -> dict:
    return {"items": schema.dump(items, many=True), "page": page, "per_page": per_page, "total": total}


def _shape_name(item: type[Schema], suffix: str) -> str:
    return item.__name__.removesuffix("Schema") + suffix


@functools.cache
def page_response(item: type[Schema]) -> type[Schema]:
    """The shape `page_of` answers with, for the OpenAPI document."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
        },
        name=_shape_name(item, "Page"),
    )


@functools.cache
def list_response(item: type[Schema], *, with_total: bool = False) -> type[Schema]:
    """`{"items": [...]}` (and `total`), an unpaged list, for the OpenAPI document."""
    shape: dict[str, fields.Field] = {"items": fields.List(fields.Nested(item), required=True)}
    if with_total:
        shape["total"] = fields.Integer(required=True)
    return Schema.from_dict(shape, name=_shape_name(item, "List"))
