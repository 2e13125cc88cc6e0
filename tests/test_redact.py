"""No password of a URL in what boundbox prints or logs."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest

from boundbox.redact import RedactPasswords, install, redact_urls


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/"),
        (
            "connect mongodb://app:p%40ss:word@m1:27017,m2/db?authSource=admin failed",
            "connect mongodb://app:***@m1:27017,m2/db?authSource=admin failed",
        ),
        ("mongodb+srv://u:s3cret@cluster.example/x", "mongodb+srv://u:***@cluster.example/x"),
        ("AMQPS://U:P@h", "AMQPS://U:***@h"),
        ("redis://:only-a-password@h", "redis://:***@h"),
        ("a amqp://x:1@h b amqp://y:2@k", "a amqp://x:***@h b amqp://y:***@k"),
        ("'amqp://r:pw@rabbitmq:5672/'", "'amqp://r:***@rabbitmq:5672/'"),
    ],
)
def test_the_password_of_every_url_is_masked_and_the_user_kept(text: str, redacted: str) -> None:
    assert redact_urls(text) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "mongodb://127.0.0.1:27017/?directConnection=true",
        "mongodb://user-only@h/db",
        "http://127.0.0.1:8000/orders/a@b",
        "mail someone:thing@example.org",
        "http://h/x?next=u:p@q",
    ],
)
def test_text_without_a_url_password_is_unchanged(text: str) -> None:
    assert redact_urls(text) == text


def test_the_filter_redacts_message_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger(f"{__name__}.filter")
    logger.propagate = False
    logger.addHandler(handler)
    install(logger)
    install(logger)  # once per handler
    assert sum(isinstance(f, RedactPasswords) for f in handler.filters) == 1
    try:
        logger.warning("broker %s down", "amqp://relay:hunter2@rabbitmq/")
        try:
            raise ConnectionError("cannot reach mongodb://app:hunter2@mongo:27017")
        except ConnectionError:
            logger.exception("database down")
        logger.info("stack", stack_info=True)
        logger.error("%(url)s", {"url": "amqp://x:hunter2@y"})
        logger.error(ConnectionError("amqp://x:hunter2@y"))
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "hunter2" not in written
    assert "broker amqp://relay:***@rabbitmq/ down" in written
    assert "mongodb://app:***@mongo:27017" in written


LOGS_OF_A_PROCESS = """
import logging
import uvicorn
from boundbox import logs

logs.configure("INFO")
logging.getLogger("boundbox.relay").info("broker amqp://relay:hunter2@rabbitmq:5672/")
uvicorn.Config(app=None, log_level="info")  # uvicorn sets up its own handlers, as it starts
logging.getLogger("uvicorn.error").error("via mongodb://app:hunter2@mongo/")
logging.getLogger("uvicorn.access").info(
    '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/x?from=amqp://a:hunter2@b/", "1.1", 200
)
"""


def test_every_log_line_of_a_boundbox_process_is_redacted() -> None:
    """What `logs.configure` (every boundbox command's first step) installs, uvicorn's too."""
    result = subprocess.run(
        [sys.executable, "-c", LOGS_OF_A_PROCESS],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    output = result.stdout + result.stderr
    assert "hunter2" not in output
    for shown in ("amqp://relay:***@rabbitmq", "mongodb://app:***@mongo", "amqp://a:***@b"):
        assert shown in output, output
