"""Decodes a message body as JSON without letting the body choose the cost.

The caller bounds the size; here the nesting is bounded by a cheap scan before `json.loads`
(so the parser never recurses deep enough for a RecursionError), numbers by their length
before `int()` or `float()` sees them (Python's own digit limit is process-wide and raises
ValueError), and NaN and Infinity, which are not JSON, are refused. A body is hashed in a
canonical form, so re-encoding the same event (key order, spacing) does not change its hash.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from outbox.consumer.errors import PoisonMessageError

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 32

# A string (skipped whole, possessively: an unterminated one fails once) or a bracket.
_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')


def loads(body: bytes) -> Any:
    """The JSON value of `body`; raises PoisonMessageError for anything outside the limits."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PoisonMessageError(f"body is not JSON: not UTF-8 at byte {e.start}") from None
    _check_depth(text)
    try:
        return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise PoisonMessageError(f"body is not JSON: {e}") from None


def canonical_sha256(value: Any) -> str:
    """The sha256 (hex) of `value` as sorted, compact UTF-8 JSON; refuses lone surrogates."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    try:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        raise PoisonMessageError("body is not JSON: a string holds a lone surrogate") from None


def _check_depth(text: str) -> None:
    depth = 0
    for token in _TOKENS.finditer(text):
        match token.group():
            case "[" | "{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise PoisonMessageError(f"body is nested deeper than {MAX_DEPTH} levels")
            case "]" | "}":
                depth -= 1


def _bounded(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise PoisonMessageError(f"body has a number of more than {MAX_NUMBER_CHARS} characters")
    return text


def _int(text: str) -> int:
    return int(_bounded(text))


def _float(text: str) -> float:
    value = float(_bounded(text))
    if not math.isfinite(value):
        raise PoisonMessageError(f"body has a number out of range: {text}")
    return value


def _constant(name: str) -> Any:
    raise PoisonMessageError(f"body is not JSON: {name} is not a number")
