"""Each service's OpenAPI document and docs page: every route, its roles, inputs and answers."""

from __future__ import annotations

import re

import pytest
import schemathesis
from flask import Blueprint, Flask

from shared.http import factory
from shared.http.errors import PROBLEM_JSON
from shared.http.web import SECURITY_HEADERS

SERVICES = ("intake", "decisions", "notifier")
JSON_BODY = "application/json"
PROBLEM_STATUSES = {"400", "401", "403", "404", "409", "413", "415", "422", "429"}


@pytest.fixture
def documents(apps: dict[str, Flask]) -> dict[str, dict]:
    documents = {}
    for service, app in apps.items():
        response = app.test_client().get("/openapi.json")  # no key: the document is public
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        documents[service] = response.json
    return documents


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def _routes_of(rule) -> list[tuple[str, str]]:
    """(OpenAPI path, method) for each method a werkzeug rule answers."""
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
    return [(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}]


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {route for rule in app.url_map.iter_rules() if rule.endpoint != "static" for route in _routes_of(rule)}


@pytest.mark.parametrize("service", SERVICES)
def test_every_registered_route_is_in_the_document(apps, documents, service):
    documented = {(path, method) for path, method, _ in _operations(documents[service])}

    assert documented == _routes(apps[service])


@pytest.mark.parametrize("service", SERVICES)
def test_every_v1_operation_declares_what_it_answers(documents, service):
    """A /v1 view without `@documented(responses=...)` fails here: document it."""
    undocumented = [
        f"{method.upper()} {path}"
        for path, method, operation in _operations(documents[service])
        if path.startswith("/v1/") and not any(status[0] == "2" for status in operation["responses"])
    ]

    assert undocumented == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_is_openapi_that_schemathesis_can_drive(documents, service):
    document = documents[service]
    assert document["openapi"] == "3.0.3"
    assert document["info"]["title"] == f"Outcome Chain: {service}"
    assert "contract" in document["info"]["description"]

    loaded = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in loaded.get_all_operations()]  # .ok() raises on an invalid operation

    assert len(operations) == len(list(_operations(document)))


@pytest.mark.parametrize("service", SERVICES)
def test_each_operation_names_the_roles_it_allows_and_asks_for_a_bearer_key(apps, documents, service):
    document = documents[service]
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"],
    }
    views = {
        (path, method): apps[service].view_functions[rule.endpoint]
        for rule in apps[service].url_map.iter_rules()
        for path, method in _routes_of(rule)
    }
    for path, method, operation in _operations(document):
        roles = getattr(views[(path, method)], "required_roles", None)
        if roles is None:
            assert operation["security"] == [], (method, path)
            continue
        assert operation["security"] == [{"apiKey": []}], (method, path)
        assert operation["x-roles"] == list(roles)
        assert "Roles allowed: " + ", ".join(roles) + "." in operation["description"]


@pytest.mark.parametrize("service", SERVICES)
def test_errors_are_documented_as_problem_json_with_the_invalid_fields(documents, service):
    document = documents[service]
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["errors"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    for response in document["components"]["responses"].values():
        assert response["content"] == {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}

    for path, method, operation in _operations(document):
        statuses = set(operation["responses"])
        if operation["security"]:
            assert {"401", "403", "429"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if "requestBody" in operation and JSON_BODY in operation["requestBody"]["content"]:
            assert {"400", "413", "415", "422"} <= statuses, (method, path)
        for status in statuses & PROBLEM_STATUSES:
            answer = operation["responses"][status]
            if "$ref" in answer:
                assert answer["$ref"].startswith("#/components/responses/"), (method, path, status)
            else:  # a page for people (e.g. unsubscribe) answers its errors as pages
                assert set(answer["content"]) == {"text/html"}, (method, path, status)
                assert "text/html" in str(operation["responses"].get("200", {})) or "303" in operation["responses"]


@pytest.mark.parametrize("service", SERVICES)
def test_path_parameters_are_declared(documents, service):
    for path, method, operation in _operations(documents[service]):
        in_path = set(re.findall(r"{([^}]+)}", path))
        declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert declared == in_path, (method, path)
        assert all(p["required"] for p in operation["parameters"] if p["in"] == "path")


def test_a_contribution_may_carry_an_idempotency_key(documents):
    operation = documents["intake"]["paths"]["/v1/contributions"]["post"]

    (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is False
    assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}


def test_request_bodies_name_their_fields_and_refuse_others(documents):
    schemas = documents["intake"]["components"]["schemas"]
    contribution = schemas["Contribution"]

    assert {"engagement_id", "type", "text", "channel"} <= set(contribution["required"])
    assert contribution["additionalProperties"] is False
    assert contribution["properties"]["id"]["readOnly"] is True
    assert contribution["properties"]["participant"]["writeOnly"] is True


def test_a_route_without_documentation_still_appears(platforms):
    extra = Blueprint("extra", __name__)

    @extra.get("/v1/undocumented")
    def undocumented():
        return {}

    app = factory.create_app(platforms["intake"], [extra])
    document = app.test_client().get("/openapi.json").json

    assert document["paths"]["/v1/undocumented"]["get"]["responses"] == {"default": {"description": "Not documented."}}


class TestDocsPage:
    @pytest.mark.parametrize("service", SERVICES)
    def test_lists_every_operation_with_its_roles_parameters_and_fields(self, apps, documents, service):
        response = apps[service].test_client().get("/docs")

        assert response.status_code == 200
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        for path, method, operation in _operations(documents[service]):
            assert f'id="{operation["operationId"]}"' in page
            assert f'<span class="method">{method}</span> <code>{path}</code>' in page
        assert "Roles allowed: staff." in page
        assert "<script" not in page

    def test_shows_a_body_field_and_a_query_parameter(self, apps):
        page = apps["intake"].test_client().get("/docs").get_data(as_text=True)

        assert "<code>feedback_due</code>" in page  # an engagement's field
        assert "<code>per_page</code>" in page  # a list's query parameter
        assert "Idempotency-Key" in page

    def test_only_the_docs_page_may_use_inline_styles(self, apps, api):
        docs = apps["intake"].test_client().get("/docs")
        assert (
            docs.headers["Content-Security-Policy"]
            == "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
        )
        assert "<style>" in docs.get_data(as_text=True)

        other = api["intake"].get("/v1/engagements")
        assert other.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
