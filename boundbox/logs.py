"""Logging for every boundbox process: one line per record, key=value friendly, no passwords."""

from __future__ import annotations

import logging

from boundbox import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# uvicorn logs through handlers of its own (not the root's), set up whenever a server starts;
# a filter on these loggers themselves survives that set-up.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

# Libraries kept at WARNING (unless LOG_LEVEL=DEBUG): their INFO is chatter.
LIBRARY_LOGGERS = ("aiormq", "aio_pika", "pymongo")

# What the AMQP libraries log on every connection attempt while the broker is away. boundbox
# reports the state itself, once per change (relay/health.py, outbox/consumer/connection.py):
# these records are routed there, not printed (LOG_LEVEL=DEBUG prints them as well).
CONNECTION_CHATTER = (
    "error when creating transport",  # aiormq, every attempt
    "Unexpected connection close from remote",  # aiormq: a refused vhost, a broker shutdown
    "Cancelling cause reader exited abnormally",  # aiormq: a connection cut, with a traceback
    "Connection attempt to ",  # aio_pika's robust connection, every attempt
    "Reconnect attempt failed ",  # same, for errors outside its list of connection errors
)


class ConnectionChatter(logging.Filter):
    """Drops the AMQP libraries' per-attempt connection records, handing each attempt's error
    to the connection that made it when that connection reports its state itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("aiormq", "aio_pika")) or not isinstance(record.msg, str):
            return True
        if not (record.msg.startswith(CONNECTION_CHATTER) or _restore_raced_a_loss(record)):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        reporter = next((a for a in args if hasattr(a, "attempt_failed")), None)
        error = next((a for a in args if isinstance(a, BaseException)), None)
        if reporter is not None and error is not None:
            reporter.attempt_failed(error)
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def _restore_raced_a_loss(record: logging.LogRecord) -> bool:
    """aio-pika's robust channel, told its channel closed, reopens it on a connection that has
    just closed too, and logs that failure as a callback error: the connection restores the
    channel itself once it is back."""
    args = record.args if isinstance(record.args, tuple) else ()
    return (
        record.msg.startswith("Callback ")
        and len(args) == 3
        and "RobustChannel._on_close" in repr(args[0])
        and isinstance(args[2], RuntimeError)
        and str(args[2]).endswith(" closed")
    )


def configure(level: str) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    redact.install(logging.getLogger())
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ConnectionChatter) for f in handler.filters):
            handler.filters.insert(0, ConnectionChatter())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, redact.RedactPasswords) for f in logger.filters):
            logger.addFilter(redact.RedactPasswords())
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # The dev database engine logs its internal query-planner fallbacks as warnings.
    logging.getLogger("neosqlite").setLevel(logging.ERROR)
    logging.getLogger("nx_27017").setLevel(logging.ERROR)
