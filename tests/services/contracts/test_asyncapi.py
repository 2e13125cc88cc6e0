"""The AsyncAPI document: valid AsyncAPI 3.0, every event type in it, and `boundbox asyncapi`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from services.contracts import PAYLOADS
from services.contracts.asyncapi import aggregate_of, document
from services.domain.history import event_types

DOCUMENT = document(exchange="boundbox.events", user_id="relay", version="0.1.0")
# Keywords of JSON Schema after draft-07: AsyncAPI's Schema Object is a draft-07 superset.
LATER_KEYWORDS = {
    "$defs",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentRequired",
    "dependentSchemas",
    "$anchor",
    "$dynamicRef",
}


def emitted() -> dict[str, str]:
    """Every event type the domain can emit → its aggregate type."""
    return {event_type: event_type.split(".")[0] for event_type in event_types()}


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolve(pointer: str) -> Any:
    assert pointer.startswith("#/"), pointer
    node: Any = DOCUMENT
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


OFFICIAL_SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"


def test_the_document_validates_against_the_official_asyncapi_3_schema() -> None:
    schema = json.loads(OFFICIAL_SCHEMA.read_text())
    Draft7Validator.check_schema(schema)
    validator = Draft7Validator(schema)

    assert [f"{e.json_path}: {e.message}" for e in validator.iter_errors(DOCUMENT)] == []
    # and the schema bites: a document without its info, or with an unknown field, is refused
    assert not validator.is_valid({k: v for k, v in DOCUMENT.items() if k != "info"})
    assert not validator.is_valid({**DOCUMENT, "exchange": "boundbox.events"})
    operation = next(iter(DOCUMENT["operations"]))
    wrong = json.loads(json.dumps(DOCUMENT))
    wrong["operations"][operation]["action"] = "publish"  # AsyncAPI 2's word, not 3's
    assert not validator.is_valid(wrong)


def test_every_reference_resolves_and_operations_send_their_channels_messages() -> None:
    for pointer in refs(DOCUMENT):
        resolve(pointer)
    for name, operation in DOCUMENT["operations"].items():
        channel = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{channel}/messages/"), name


def test_every_event_type_the_domain_emits_is_a_channel_operation_and_message() -> None:
    types = emitted()

    assert set(types) == set(PAYLOADS)
    assert set(DOCUMENT["channels"]) == set(types)
    assert set(DOCUMENT["components"]["messages"]) == set(types)
    assert {op["channel"]["$ref"] for op in DOCUMENT["operations"].values()} == {
        f"#/channels/{event_type}" for event_type in types
    }
    for event_type, aggregate_type in types.items():
        assert aggregate_of(event_type) == aggregate_type
        channel = DOCUMENT["channels"][event_type]
        assert channel["address"] == event_type  # the routing key
        message = DOCUMENT["components"]["messages"][event_type]
        assert message["payload"]["properties"]["type"]["const"] == event_type
        assert message["headers"]["properties"]["aggregate_type"]["const"] == aggregate_type
        model = PAYLOADS[event_type].__name__
        assert message["payload"]["properties"]["payload"] == {
            "$ref": f"#/components/schemas/{model}"
        }


def test_the_exchange_and_the_amqp_properties_are_the_relays() -> None:
    for channel in DOCUMENT["channels"].values():
        assert channel["bindings"]["amqp"]["exchange"] == {
            "name": "boundbox.events",
            "type": "topic",
            "durable": True,
            "autoDelete": False,
        }
    for operation in DOCUMENT["operations"].values():
        assert operation["action"] == "send"
        amqp = operation["bindings"]["amqp"]
        assert (amqp["deliveryMode"], amqp["userId"], amqp["mandatory"]) == (2, "relay", True)
    for message in DOCUMENT["components"]["messages"].values():
        properties = message["x-amqp-properties"]["properties"]
        assert properties["user_id"]["const"] == "relay"
        assert properties["content_type"]["const"] == "application/json"


def test_every_schema_is_json_schema_draft_07() -> None:
    schemas = [
        *DOCUMENT["components"]["schemas"].values(),
        *(
            m[part]
            for m in DOCUMENT["components"]["messages"].values()
            for part in ("headers", "payload", "x-amqp-properties")
        ),
    ]
    for schema in schemas:
        Draft7Validator.check_schema(schema)
        text = json.dumps(schema)
        assert not [word for word in LATER_KEYWORDS if f'"{word}"' in text], schema


def test_the_payload_schemas_are_the_models_json_schemas() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for model in PAYLOADS.values():
        expected = model.model_json_schema(
            mode="serialization", ref_template="#/components/schemas/{model}"
        )
        nested = expected.pop("$defs", {})
        assert schemas[model.__name__] == expected
        for name, schema in nested.items():
            assert schemas[name] == schema


def boundbox(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith(("AMQP_URL", "EXCHANGE_NAME"))}
    return subprocess.run(
        [sys.executable, "-m", "boundbox", *args],
        cwd=cwd,  # no stray .env
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_boundbox_asyncapi_prints_the_document_for_the_configured_exchange(
    tmp_path: Path,
) -> None:
    result = boundbox(
        "asyncapi",
        cwd=tmp_path,
        EXCHANGE_NAME="shop.events",
        AMQP_URL="amqp://app:secret@127.0.0.1:5672/",
        RELAY_AMQP_URL="amqp://shop-relay:secret@127.0.0.1:5672/",
    )

    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == document(exchange="shop.events", user_id="shop-relay", version="0.1.0")
    assert "secret" not in result.stdout


@pytest.mark.parametrize("variable", ["EXCHANGE_NAME", "RELAY_AMQP_URL", "AMQP_URL"])
def test_boundbox_asyncapi_help_names_the_variables_it_reads(tmp_path: Path, variable: str) -> None:
    result = boundbox("asyncapi", "--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert variable in result.stdout
