"""The AsyncAPI 3.0 document of the events, built from the payload models of `PAYLOADS`.

One channel per event type on the durable topic exchange (its address is the routing key,
which is the type), one `send` operation (the relay publishes) and one message each: the
headers and AMQP properties the relay sets, and the JSON envelope whose `payload` is the
JSON schema of the type's model. `relay/messages.py` builds what this describes; the contract
tests hold the two together. Pure: no I/O, only pydantic and the standard library.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.contracts import PAYLOADS

ASYNCAPI = "3.0.0"
AMQP_BINDING = "0.3.0"
CONTENT_TYPE = "application/json"
PERSISTENT = 2  # AMQP delivery mode
APP_ID = "boundbox"
SCHEMAS = "#/components/schemas/"

ID = {"type": "string", "minLength": 1, "maxLength": 255}
VERSION = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
EVENT_ID = {
    "type": "string",
    "format": "uuid",
    "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    "description": "The event id (a UUID).",
}
TRACEPARENT = {
    "type": "string",
    "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
    "description": (
        "W3C trace context: of the relay's publish span when the relay traces, else of the"
        " span (or request) that recorded the event."
    ),
}
CAUSATION_ID = {"type": "string", "description": "The id of what caused the event."}
OCCURRED_AT = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
    "description": "When the event happened: ISO 8601 in UTC, with milliseconds.",
}


def document(*, exchange: str, user_id: str, version: str) -> dict[str, Any]:
    """The document for events published on `exchange` by broker user `user_id`."""
    schemas: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, model in PAYLOADS.items():
        schemas.update(_payload_schemas(model))
        messages[event_type] = _message(event_type, model, user_id=user_id)
        channels[event_type] = {
            "address": event_type,
            "title": event_type,
            "messages": {event_type: {"$ref": f"#/components/messages/{event_type}"}},
            "bindings": {"amqp": _exchange_binding(exchange)},
        }
        operations[f"publish.{event_type}"] = {
            "action": "send",
            "title": f"The relay publishes {event_type}",
            "channel": {"$ref": f"#/channels/{event_type}"},
            "messages": [{"$ref": f"#/channels/{event_type}/messages/{event_type}"}],
            "bindings": {
                "amqp": {
                    "deliveryMode": PERSISTENT,
                    "mandatory": True,
                    "timestamp": True,
                    "userId": user_id,
                    "bindingVersion": AMQP_BINDING,
                }
            },
        }
    return {
        "asyncapi": ASYNCAPI,
        "info": {
            "title": "boundbox events",
            "version": version,
            "description": (
                "Every change of an aggregate is one event, recorded in the transaction of the "
                f"change and published by the relay to the `{exchange}` topic exchange with "
                "publisher confirms, at least once: a consumer deduplicates by `message_id` "
                "(= the envelope `id`). The routing key is the event type, so a queue binds "
                "`product.*` or `order.placed`. Each aggregate's events are published in "
                "`aggregate_version` order. Payload fields are only ever added: ignore the ones "
                "you do not know."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def aggregate_of(event_type: str) -> str:
    """The aggregate type an event type belongs to: what precedes its first dot."""
    return event_type.partition(".")[0]


def _payload_schemas(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema (as sent: serialization mode) and its nested models'."""
    schema = model.model_json_schema(mode="serialization", ref_template=SCHEMAS + "{model}")
    nested = schema.pop("$defs", {})
    return {**nested, model.__name__: schema}


def _exchange_binding(exchange: str) -> dict[str, Any]:
    return {
        "is": "routingKey",
        "exchange": {"name": exchange, "type": "topic", "durable": True, "autoDelete": False},
        "bindingVersion": AMQP_BINDING,
    }


def _message(event_type: str, model: type[BaseModel], *, user_id: str) -> dict[str, Any]:
    aggregate = aggregate_of(event_type)
    return {
        "name": event_type,
        "title": event_type,
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "description": "AMQP headers; a broker may add its own (`x-…`).",
            "required": ["aggregate_type", "aggregate_id", "aggregate_version"],
            "properties": {
                "aggregate_type": {"type": "string", "const": aggregate},
                "aggregate_id": ID,
                "aggregate_version": VERSION,
                "traceparent": TRACEPARENT,
                "causation_id": CAUSATION_ID,
            },
        },
        "payload": {
            "type": "object",
            "description": "The envelope: UTF-8 JSON.",
            "required": [
                "id",
                "type",
                "aggregate_type",
                "aggregate_id",
                "aggregate_version",
                "occurred_at",
                "payload",
            ],
            "additionalProperties": False,
            "properties": {
                "id": EVENT_ID,
                "type": {"type": "string", "const": event_type},
                "aggregate_type": {"type": "string", "const": aggregate},
                "aggregate_id": ID,
                "aggregate_version": VERSION,
                "occurred_at": OCCURRED_AT,
                "payload": {"$ref": SCHEMAS + model.__name__},
            },
        },
        "bindings": {"amqp": {"messageType": event_type, "bindingVersion": AMQP_BINDING}},
        "x-amqp-properties": _properties(event_type, user_id=user_id),
    }


def _properties(event_type: str, *, user_id: str) -> dict[str, Any]:
    """The AMQP basic properties of every message of `event_type`, as a JSON schema."""
    return {
        "type": "object",
        "required": [
            "message_id",
            "type",
            "content_type",
            "delivery_mode",
            "timestamp",
            "correlation_id",
            "app_id",
            "user_id",
        ],
        "properties": {
            "message_id": EVENT_ID,
            "type": {"type": "string", "const": event_type},
            "content_type": {"type": "string", "const": CONTENT_TYPE},
            "delivery_mode": {"type": "integer", "const": PERSISTENT},
            "timestamp": {
                "type": "integer",
                "description": "When the event happened, in POSIX seconds.",
            },
            "correlation_id": {
                "type": "string",
                "minLength": 1,
                "description": "The request id of the command, else the event id.",
            },
            "app_id": {"type": "string", "const": APP_ID},
            "user_id": {
                "type": "string",
                "const": user_id,
                "description": "The relay's broker user: RabbitMQ refuses any other.",
            },
            "headers": {"$ref": f"#/components/messages/{event_type}/headers"},
        },
    }
