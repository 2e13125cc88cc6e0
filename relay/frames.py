"""The AMQP frames of a publish (method, content header, body), byte for byte as pamqp writes them.

pamqp's generic marshalling dispatches on type names for every property and table value; here
the relay's own kinds of values (short strings, octets, tables of strings and integers) are
encoded directly, and anything else is handed to pamqp's encoders, so the bytes never differ
(tests/relay/test_frames.py compares them). Pure: no I/O.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Any

from pamqp import constants, encode, frame
from pamqp.commands import Basic

from relay.messages import Outgoing

_FRAME_HEAD = struct.Struct(">BHI")  # type, channel, payload size
_HEADER_HEAD = struct.Struct(">HxxQ")  # class id, weight (0), body size
_FLAGS = struct.Struct(">H")
_LONG = struct.Struct(">I")
_FRAME_END = bytes([constants.FRAME_END])
_METHOD_FRAMES_KEPT = 1024  # marshalled Basic.Publish frames, by routing key


class UnencodableMessageError(ValueError):
    """The message cannot be put in AMQP frames (a header value AMQP has no type for, say)."""


def _short_string(value: Any) -> bytes:
    if type(value) is str:
        data = value.encode()
        if len(data) <= 255:
            return bytes((len(data),)) + data
    return encode.short_string(value)  # raises the error pamqp raises


def _octet(value: Any) -> bytes:
    if type(value) is int and 0 <= value <= 255:
        return bytes((value,))
    return encode.octet(value)


def _table(value: Any) -> bytes:
    if type(value) is not dict or not value:
        return encode.field_table(value)
    parts = []
    for key, item in sorted(value.items()):
        name = key.encode() if type(key) is str else b""
        if not name or len(name) > 128:  # pamqp truncates long names, with a warning
            return encode.field_table(value)
        parts.append(bytes((len(name),)) + name)
        if type(item) is str:
            data = item.encode()
            parts += [b"S", _LONG.pack(len(data)), data]
        elif type(item) is int:
            parts.append(encode.table_integer(item))
        else:
            parts.append(encode.encode_table_value(item))
    payload = b"".join(parts)
    return _LONG.pack(len(payload)) + payload


_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "shortstr": _short_string,
    "octet": _octet,
    "table": _table,
}


def _encoder(kind: str) -> Callable[[Any], bytes]:
    return _ENCODERS.get(kind) or (lambda value: encode.by_type(value, kind))


_PROPERTIES = [  # (name, flag, encoder) in the order AMQP puts them
    (name, Basic.Properties.flags[name], _encoder(Basic.Properties.amqp_type(name)))
    for name in Basic.Properties.__slots__
]
if len(_PROPERTIES) > 15:  # pragma: no cover  # a second flags word: not in AMQP 0-9-1
    raise RuntimeError("Basic.Properties has more properties than one flags word holds")


def properties(value: Basic.Properties) -> bytes:
    """`value.marshal()`: the flags word, then every property that is set."""
    flags, parts = 0, [b""]
    for name, flag, encoder in _PROPERTIES:
        item = getattr(value, name)
        if item is not None and item != "":
            flags |= flag
            parts.append(encoder(item))
    parts[0] = _FLAGS.pack(flags)
    return b"".join(parts)


class PublishFrames:
    """Encodes mandatory publishes to one exchange on one channel."""

    def __init__(self, *, channel: int, exchange: str, frame_max: int) -> None:
        self._channel = channel
        self._exchange = exchange
        # The largest body frame payload; no limit when the connection negotiated none (0).
        self._body_max = frame_max - 8 if frame_max > 0 else sys.maxsize
        self._methods: dict[str, bytes] = {}

    def encode(self, outgoing: Outgoing) -> list[bytes]:
        """The frames' bytes; UnencodableMessageError when AMQP cannot carry the message."""
        body = outgoing.body
        try:
            header = _HEADER_HEAD.pack(Basic.frame_id, len(body)) + properties(outgoing.properties)
            frames = [
                self._method(outgoing.routing_key),
                _FRAME_HEAD.pack(constants.FRAME_HEADER, self._channel, len(header)),
                header,
                _FRAME_END,
            ]
        except Exception as e:  # encoding is pure: whatever fails, fails for this message
            raise UnencodableMessageError(str(e) or type(e).__name__) from e
        for start in range(0, len(body), self._body_max):
            chunk = body[start : start + self._body_max]
            frames += [_FRAME_HEAD.pack(constants.FRAME_BODY, self._channel, len(chunk))]
            frames += [chunk, _FRAME_END]
        return frames

    def _method(self, routing_key: str) -> bytes:
        marshalled = self._methods.get(routing_key)
        if marshalled is None:
            if len(routing_key.encode()) > 255:
                raise ValueError("the routing key is longer than 255 bytes")
            method = Basic.Publish(exchange=self._exchange, routing_key=routing_key, mandatory=True)
            marshalled = frame.marshal(method, self._channel)
            if len(self._methods) >= _METHOD_FRAMES_KEPT:
                self._methods.clear()
            self._methods[routing_key] = marshalled
        return marshalled
