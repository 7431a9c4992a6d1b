from ops.contract import CONTRACT, openapi_documents, render
from shared.infra.settings import DEFINITION
from shared.rules.constants import CONSUMED_TOPICS, ROLES


def test_the_committed_contract_is_what_the_code_declares():
    assert CONTRACT.read_text() == render(openapi_documents()), (
        "run `python -m ops.contract` and commit docs/contract.md"
    )


def test_the_contract_names_every_setting_role_topic_and_v1_operation():
    documents = openapi_documents()
    text = render(documents)

    assert all(f"`{setting.name}`" in text for setting in DEFINITION)
    assert all(f"`{role}`" in text for role in ROLES)
    assert all(f"`{topic}`" in text for topic in CONSUMED_TOPICS)
    for document in documents.values():
        for path, operations in document["paths"].items():
            for method in operations:
                if method in ("get", "post", "put", "patch", "delete"):
                    assert f"| `{method.upper()}` | `{path}` |" in text
