"""MongoDB's wire protocol: OP_MSG requests and replies, and OP_QUERY for old handshakes."""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from typing import Any

import bson

from devdb.bsonvalues import CODEC

OP_REPLY = 1
OP_QUERY = 2004
OP_MSG = 2013
MORE_TO_COME = 1 << 1
CHECKSUM_PRESENT = 1
HEADER = struct.Struct("<iiii")
_reply_ids = itertools.count(1)


class ProtocolError(Exception):
    """A message that is not MongoDB's wire protocol."""


@dataclass
class Request:
    """One command: its body, and the document sequences sent beside it (raw and decoded)."""

    request_id: int
    body: dict[str, Any]
    flags: int = 0
    sequences: dict[str, list[bytes]] = field(default_factory=dict)
    legacy: bool = False

    @property
    def more_to_come(self) -> bool:
        return bool(self.flags & MORE_TO_COME)


def _cstring(data: bytes, offset: int) -> tuple[str, int]:
    end = data.index(b"\0", offset)
    return data[offset:end].decode(), end + 1


def _split_documents(data: bytes) -> list[bytes]:
    documents, offset = [], 0
    while offset < len(data):
        (size,) = struct.unpack_from("<i", data, offset)
        if size < 5 or offset + size > len(data):
            raise ProtocolError("bad document size in a document sequence")
        documents.append(data[offset : offset + size])
        offset += size
    return documents


def parse(request_id: int, opcode: int, payload: bytes) -> Request:
    """Decodes a message's payload (the bytes after its 16-byte header)."""
    try:
        if opcode == OP_MSG:
            return _parse_msg(request_id, payload)
        if opcode == OP_QUERY:
            return _parse_query(request_id, payload)
    except (ValueError, IndexError, struct.error, bson.errors.BSONError) as e:
        raise ProtocolError(f"malformed message: {e}") from None
    raise ProtocolError(f"unsupported opcode {opcode}")


def _parse_msg(request_id: int, payload: bytes) -> Request:
    (flags,) = struct.unpack_from("<I", payload, 0)
    end = len(payload) - (4 if flags & CHECKSUM_PRESENT else 0)
    offset, body, sequences = 4, None, {}
    while offset < end:
        kind = payload[offset]
        offset += 1
        (size,) = struct.unpack_from("<i", payload, offset)
        if kind == 0:
            body = bson.decode(payload[offset : offset + size], CODEC)
            offset += size
        elif kind == 1:
            identifier, start = _cstring(payload, offset + 4)
            sequences[identifier] = _split_documents(payload[start : offset + size])
            offset += size
        else:
            raise ProtocolError(f"unknown section kind {kind}")
    if body is None:
        raise ProtocolError("OP_MSG without a body")
    return Request(request_id, body, flags, sequences)


def _parse_query(request_id: int, payload: bytes) -> Request:
    collection, offset = _cstring(payload, 4)
    offset += 8  # numberToSkip, numberToReturn
    (size,) = struct.unpack_from("<i", payload, offset)
    query = bson.decode(payload[offset : offset + size], CODEC)
    if "$query" in query:
        query = query["$query"]
    query.setdefault("$db", collection.partition(".")[0])
    return Request(request_id, query, legacy=True)


def reply(request: Request, document: dict[str, Any]) -> bytes:
    """The reply message to `request` carrying `document`."""
    body = bson.encode(document)
    if request.legacy:
        payload = struct.pack("<iqii", 0, 0, 0, 1) + body
        return (
            HEADER.pack(16 + len(payload), next(_reply_ids), request.request_id, OP_REPLY) + payload
        )
    payload = b"\0\0\0\0\0" + body
    return HEADER.pack(16 + len(payload), next(_reply_ids), request.request_id, OP_MSG) + payload
