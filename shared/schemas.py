"""Field helpers every service's schemas use."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=max_length), not_blank], **kwargs)


class PageSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def page_of(schema: Schema, items: list, total: int, page: int, per_page: int) -> dict:
    return {"items": schema.dump(items, many=True), "page": page, "per_page": per_page, "total": total}
