"""Validating messages against the served AsyncAPI document."""

from __future__ import annotations

import calendar
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from jsonschema import Draft7Validator
from pamqp.commands import Basic
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

DOC = "urn:boundbox:asyncapi"


def validator(document: dict[str, Any], pointer: str) -> Draft7Validator:
    """Validates against the schema at `pointer` of `document`, its `$ref`s resolved in it."""
    resource = Resource.from_contents(document, default_specification=DRAFT7)
    return Draft7Validator(
        {"$ref": f"{DOC}#{pointer}"},
        registry=Registry().with_resource(DOC, resource),
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )


def amqp_properties(properties: Basic.Properties) -> dict[str, Any]:
    """The basic properties as the document names them (`type`, POSIX-seconds `timestamp`)."""
    named = {
        "message_id": properties.message_id,
        "type": properties.message_type,
        "content_type": properties.content_type,
        "delivery_mode": properties.delivery_mode,
        "timestamp": calendar.timegm(properties.timestamp.utctimetuple())
        if properties.timestamp
        else None,
        "correlation_id": properties.correlation_id,
        "app_id": properties.app_id,
        "user_id": properties.user_id,
        "headers": properties.headers,
    }
    return {name: value for name, value in named.items() if value is not None}


def received_properties(message: AbstractIncomingMessage) -> dict[str, Any]:
    """A delivered message's properties as the document names them; the headers a stream adds
    on delivery (`x-stream-offset`) are the broker's, not the publisher's, and are left out."""
    named = amqp_properties(message.properties)
    named["headers"] = {k: v for k, v in message.headers.items() if not k.startswith("x-stream")}
    return named
