"""Every field a client can send has a size limit.

The request schemas are found from the views themselves (the body, form and query each
declares for the OpenAPI document), over every route of every service, so a new view's
schema is checked without anyone listing it. Response-only shapes never parse input.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from marshmallow import Schema, fields, validate

from shared.http import schemas
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


def _dates(schema: Schema, path: str) -> Iterator[tuple[str, fields.Field]]:
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from _dates(inner.schema, f"{path}.{name}")
        elif isinstance(inner, fields.Date | fields.DateTime):
            yield f"{path}.{name}", inner


def test_every_date_a_client_sends_is_within_the_shared_range(apps):
    dated = {where: field for name, schema in request_schemas(apps).items() for where, field in _dates(schema, name)}
    assert len(dated) > 8  # feedback_due, submitted_at, decided_on, revisit_on, the report periods, ...

    unbounded = [where for where, field in dated.items() if schemas._in_date_range not in field.validators]

    assert unbounded == []


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"])
def test_a_date_outside_the_range_is_refused_naming_the_range(day):
    refused = Schema.from_dict({"on": schemas.date(), "at": schemas.moment()})()

    errors = refused.validate({"on": day, "at": f"{day}T23:59:59-14:00"})

    assert errors == {
        "on": ["Must be between 2000-01-01 and 2100-12-31."],
        "at": ["Must be between 2000-01-01 and 2100-12-31."],
    }


def test_the_first_and_last_days_of_the_range_are_accepted():
    shape = Schema.from_dict({"on": schemas.date(), "at": schemas.moment()})()

    assert shape.validate({"on": "2000-01-01", "at": "2100-12-31T23:59:59+14:00"}) == {}
    assert shape.validate({"on": "2100-12-31", "at": "2000-01-01T00:00:00-12:00"}) == {}


def test_every_boolean_a_client_sends_is_strict(apps):
    def booleans(schema: Schema, path: str) -> Iterator[tuple[str, fields.Field]]:
        for name, field in schema.fields.items():
            if field.dump_only:
                continue
            if isinstance(field, fields.Nested):
                yield from booleans(field.schema, f"{path}.{name}")
            elif isinstance(field, fields.Boolean):
                yield f"{path}.{name}", field

    found = {where: field for name, schema in request_schemas(apps).items() for where, field in booleans(schema, name)}
    assert any("consent_to_contact" in where for where in found)

    assert [where for where, field in found.items() if not isinstance(field, schemas.StrictBoolean)] == []


@pytest.mark.parametrize("sent", [0, 1, "true", "yes", "false"])
def test_a_boolean_is_true_or_false_and_nothing_that_looks_like_one(sent):
    shape = Schema.from_dict({"consent": schemas.StrictBoolean(required=True)})()

    assert shape.validate({"consent": sent}) == {"consent": ["Not a valid boolean."]}
    assert shape.load({"consent": False}) == {"consent": False}
