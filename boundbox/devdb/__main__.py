"""Run the dev database in the foreground: `python -m boundbox.devdb --help`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from boundbox import runtime
from boundbox.devdb.server import DevDatabase, DevDatabaseError

log = logging.getLogger("boundbox.devdb")


async def serve(
    host: str, port: int, data_dir: Path | None, lifetime: float, ttl_interval: float
) -> None:
    """Serves until SIGINT or SIGTERM, then shuts down cleanly."""
    database = DevDatabase(
        data_dir=data_dir, transaction_lifetime=lifetime, ttl_interval=ttl_interval
    )
    server = await database.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    where = f"data in {data_dir}" if data_dir else "in memory, nothing kept"
    log.info("devdb ready on mongodb://%s:%d (%s)", host, port, where)
    print(f"devdb ready on mongodb://{host}:{port} ({where})", flush=True)
    await stop.wait()
    server.close()
    await database.close()
    log.info("devdb stopped")


def run(
    host: str, port: int, data_dir: Path | None, lifetime: float, ttl_interval: float = 60.0
) -> int:
    try:
        runtime.run(serve(host, port, data_dir, lifetime, ttl_interval))
    except DevDatabaseError as e:
        print(f"boundbox devdb: {e}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m boundbox.devdb")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--transaction-lifetime", type=float, default=60.0)
    parser.add_argument("--ttl-interval", type=float, default=60.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    return run(args.host, args.port, args.data_dir, args.transaction_lifetime, args.ttl_interval)


if __name__ == "__main__":
    sys.exit(main())
