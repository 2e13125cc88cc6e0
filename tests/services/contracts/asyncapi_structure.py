"""The structure AsyncAPI 3.0.0 requires, for the parts of it the events document uses.

No package on PyPI ships the official AsyncAPI JSON Schema (it is published for npm), so this
restates its rules for these objects: required fields, allowed fields (plus `x-` extensions),
names of components, references, and the AMQP bindings 0.3.0.
"""

from __future__ import annotations

from typing import Any

KEY = r"^[\w\d\.\-_]+$"  # component, channel and operation names
EXTENSIONS = {"^x-[\\w\\d\\.\\x2d_]+$": {}}
REFERENCE = {
    "type": "object",
    "required": ["$ref"],
    "properties": {"$ref": {"type": "string", "pattern": "^#/"}},
    "additionalProperties": False,
}


def _strict(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "patternProperties": EXTENSIONS,
        "additionalProperties": False,
    }


def _map_of(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "propertyNames": {"pattern": KEY},
        "additionalProperties": value,
    }


AMQP_CHANNEL = _strict(
    ["is", "bindingVersion"],
    {
        "is": {"enum": ["routingKey", "queue"]},
        "exchange": _strict(
            ["name", "type"],
            {
                "name": {"type": "string", "maxLength": 255},
                "type": {"enum": ["topic", "direct", "fanout", "default", "headers"]},
                "durable": {"type": "boolean"},
                "autoDelete": {"type": "boolean"},
                "vhost": {"type": "string"},
            },
        ),
        "bindingVersion": {"const": "0.3.0"},
    },
)
AMQP_OPERATION = _strict(
    ["bindingVersion"],
    {
        "expiration": {"type": "integer", "minimum": 0},
        "userId": {"type": "string"},
        "cc": {"type": "array", "items": {"type": "string"}},
        "priority": {"type": "integer"},
        "deliveryMode": {"enum": [1, 2]},
        "mandatory": {"type": "boolean"},
        "bcc": {"type": "array", "items": {"type": "string"}},
        "timestamp": {"type": "boolean"},
        "ack": {"type": "boolean"},
        "bindingVersion": {"const": "0.3.0"},
    },
)
AMQP_MESSAGE = _strict(
    ["bindingVersion"],
    {
        "contentEncoding": {"type": "string"},
        "messageType": {"type": "string"},
        "bindingVersion": {"const": "0.3.0"},
    },
)
SCHEMA = {"type": "object"}  # checked separately, as JSON Schema draft-07

MESSAGE = _strict(
    [],
    {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "description": {"type": "string"},
        "contentType": {"type": "string"},
        "headers": SCHEMA,
        "payload": SCHEMA,
        "correlationId": {"type": "object"},
        "bindings": _strict([], {"amqp": AMQP_MESSAGE}),
        "examples": {"type": "array"},
        "tags": {"type": "array"},
    },
)
CHANNEL = _strict(
    [],
    {
        "address": {"type": ["string", "null"]},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "description": {"type": "string"},
        "messages": _map_of(REFERENCE),
        "bindings": _strict([], {"amqp": AMQP_CHANNEL}),
    },
)
OPERATION = _strict(
    ["action", "channel"],
    {
        "action": {"enum": ["send", "receive"]},
        "channel": REFERENCE,
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "description": {"type": "string"},
        "messages": {"type": "array", "items": REFERENCE},
        "bindings": _strict([], {"amqp": AMQP_OPERATION}),
    },
)
ASYNCAPI_3 = _strict(
    ["asyncapi", "info"],
    {
        "asyncapi": {"const": "3.0.0"},
        "id": {"type": "string", "format": "uri"},
        "info": _strict(
            ["title", "version"],
            {
                "title": {"type": "string"},
                "version": {"type": "string"},
                "description": {"type": "string"},
            },
        ),
        "defaultContentType": {"type": "string"},
        "channels": _map_of(CHANNEL),
        "operations": _map_of(OPERATION),
        "components": _strict(
            [],
            {"schemas": _map_of(SCHEMA), "messages": _map_of(MESSAGE)},
        ),
    },
)
"""AsyncAPI 3.0.0's rules for the root, info, channels, operations, messages and bindings."""
