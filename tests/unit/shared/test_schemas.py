"""Every field a client can send has a size limit.

The request schemas are found from the views themselves (the body, form and query each
declares for the OpenAPI document), over every route of every service, so a new view's
schema is checked without anyone listing it. Response-only shapes never parse input.
"""

from __future__ import annotations

from collections.abc import Iterator

from marshmallow import Schema, fields, validate

from tests.support import factories


def _schemas(declared) -> Iterator[Schema]:
    if declared is None:
        return
    if isinstance(declared, dict):  # openapi.one_of(...)
        for option in declared.get("oneOf", []):
            yield from _schemas(option)
        return
    yield declared() if isinstance(declared, type) else declared


def request_schemas(apps) -> dict[str, Schema]:
    found = {}
    for service, app in apps.items():
        for rule in app.url_map.iter_rules():
            documentation = getattr(app.view_functions[rule.endpoint], "openapi", None)
            if documentation is None:
                continue
            for part in ("body", "form", "query"):
                for schema in _schemas(getattr(documentation, part)):
                    found[f"{service} {rule.rule} {part} {type(schema).__name__}"] = schema
    return found


def _bounded(field: fields.Field) -> bool:
    return any(isinstance(rule, validate.Length | validate.OneOf) for rule in field.validators)


def unbounded_fields(schema: Schema, path: str) -> Iterator[str]:
    for name, field in schema.fields.items():
        if not field.dump_only:
            yield from _unbounded(field, f"{path}.{name}")


def _unbounded(field: fields.Field, path: str) -> Iterator[str]:
    if isinstance(field, fields.Nested):
        yield from unbounded_fields(field.schema, path)
    elif isinstance(field, fields.List):
        if not _bounded(field):
            yield f"{path} (a list with no Length(max=...))"
        yield from _unbounded(field.inner, path + "[]")
    elif isinstance(field, fields.Dict):
        if field.key_field is None or field.value_field is None:
            yield f"{path} (a dict with unchecked keys or values)"
        else:
            yield from _unbounded(field.key_field, path + "{key}")
            yield from _unbounded(field.value_field, path + "{value}")
    elif isinstance(field, fields.String):
        if not _bounded(field):
            yield f"{path} (a string with no Length(max=...) or OneOf)"
    elif type(field) is fields.Raw:
        yield f"{path} (any JSON at all)"


def test_every_field_a_client_sends_has_a_size_limit(apps):
    schemas = request_schemas(apps)
    assert len(schemas) > 15  # the walk found the services' request schemas

    unbounded = [found for where, schema in schemas.items() for found in unbounded_fields(schema, where)]

    assert unbounded == []


def test_the_walk_finds_a_field_without_a_limit():
    class Careless(Schema):
        note = fields.String()
        tags = fields.List(fields.String(validate=validate.Length(max=10)))
        inner = fields.Nested(Schema.from_dict({"name": fields.String(validate=validate.OneOf(["a"]))}))

    assert list(unbounded_fields(Careless(), "Careless")) == [
        "Careless.note (a string with no Length(max=...) or OneOf)",
        "Careless.tags (a list with no Length(max=...))",
    ]


def test_a_field_over_its_limit_is_422_naming_it(api):
    too_long = factories.engagement_payload(can_change=["x"] * 51)

    refused = api["intake"].post("/v1/engagements", json=too_long)

    assert refused.status_code == 422
    assert "can_change" in refused.json["errors"]
    listed = api["notifier"].get("/v1/notifications", query_string={"participant_id": "x" * 37})
    assert listed.status_code == 422
    assert "participant_id" in listed.json["errors"]
