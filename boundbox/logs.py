"""Logging for every boundbox process: one line per record, key=value friendly, no passwords."""

from __future__ import annotations

import logging

from boundbox import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# uvicorn logs through handlers of its own (not the root's), set up whenever a server starts;
# a filter on these loggers themselves survives that set-up.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def configure(level: str) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    redact.install(logging.getLogger())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, redact.RedactPasswords) for f in logger.filters):
            logger.addFilter(redact.RedactPasswords())
    # The dev database engine logs its internal query-planner fallbacks as warnings.
    logging.getLogger("neosqlite").setLevel(logging.ERROR)
    logging.getLogger("nx_27017").setLevel(logging.ERROR)
