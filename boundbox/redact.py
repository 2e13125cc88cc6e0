"""Passwords out of anything boundbox prints or logs: `scheme://user:password@` → `user:***@`."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

MASK = "***"

# scheme://user:password@ — the password runs to the `@` that ends the user information; it
# cannot hold `/` or `@` (RFC 3986 has them percent-encoded there) nor whitespace.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*:)[^\s/?#@]+@")


def redact_urls(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***` (user names are kept)."""
    return _URL_PASSWORD.sub(rf"\1{MASK}@", text)


class RedactPasswords(logging.Filter):
    """Rewrites a record's message, arguments, traceback and stack without URL passwords.

    Arguments stay arguments where they can (uvicorn's access formatter unpacks them); a
    password that only shows once they are formatted flattens the record into its message.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_urls(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(value) for value in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        message = record.getMessage()
        if (redacted := redact_urls(message)) != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatter.format uses a traceback text already set rather than format its own.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_urls(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_urls(record.stack_info)
        return True


def _redacted(value: object) -> object:
    return redact_urls(value) if isinstance(value, str) else value


def install(logger: logging.Logger) -> None:
    """Puts the filter on every handler of `logger` (once each)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactPasswords) for f in handler.filters):
            handler.addFilter(RedactPasswords())
