"""Logging for every boundbox process: one line per record, key=value friendly."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure(level: str) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    # The dev database engine logs its internal query-planner fallbacks as warnings.
    logging.getLogger("neosqlite").setLevel(logging.ERROR)
    logging.getLogger("nx_27017").setLevel(logging.ERROR)
