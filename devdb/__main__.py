"""Run the dev database in the foreground: `python -m devdb --help`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from devdb.errors import DevDatabaseError
from devdb.heap import freeze_after_full_collections
from devdb.server import DevDatabase

log = logging.getLogger("devdb")


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
    print(f"devdb ready on mongodb://{host}:{port} ({where})", flush=True)
    await stop.wait()
    server.close()
    await database.close()
    log.info("devdb stopped")


def run(
    host: str,
    port: int,
    data_dir: Path | None,
    lifetime: float = 60.0,
    ttl_interval: float = 60.0,
    *,
    prog: str = "devdb",
) -> int:
    """Runs the server (on uvloop where installed); 1 with a one-line message if it cannot."""
    freeze_after_full_collections()  # this process is the server's own
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        runner(serve(host, port, data_dir, lifetime, ttl_interval))
    except DevDatabaseError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devdb",
        description="A MongoDB wire-protocol server for development and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep data here (default: in memory)"
    )
    parser.add_argument("--transaction-lifetime", type=float, default=60.0)
    parser.add_argument("--ttl-interval", type=float, default=60.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    return run(args.host, args.port, args.data_dir, args.transaction_lifetime, args.ttl_interval)


if __name__ == "__main__":
    sys.exit(main())
