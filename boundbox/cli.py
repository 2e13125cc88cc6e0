"""The `boundbox` command: one entry point for every process of the project."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from boundbox import envhelp, logs
from boundbox.errors import BoundboxError, ConfigurationError
from boundbox.settings import Settings, load_settings

app = typer.Typer(
    help="boundbox: change state and publish an event, atomically.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
outbox_app = typer.Typer(help="Inspect and repair the outbox.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
archive_app = typer.Typer(
    help="Look after the archive stream (ARCHIVE_QUEUE).", no_args_is_help=True
)
app.add_typer(archive_app, name="archive")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Prints one line on stderr; raise the result to stop the command."""
    typer.echo(f"boundbox: {message}", err=True)
    return typer.Exit(code)


def settings() -> Settings:
    try:
        loaded = load_settings()
    except BoundboxError as e:
        raise fail(f"configuration error: {e}") from None
    logs.configure(loaded.log_level)
    return loaded


def listen_or_fail(variable: str, host: str, port: int) -> None:
    """Stops the command with one line naming `variable` when host:port is taken."""
    from boundbox.ports import Listen, problem

    if taken := problem([Listen(variable, host, port)]):
        raise fail(taken)


@app.command(epilog=envhelp.epilog("devdb"))
def devdb(
    port: Annotated[int | None, typer.Option(help="Port (default: DEVDB_PORT, 27017).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep data here (default: DEVDB_DATA_DIR, .data/devdb).")
    ] = None,
    memory: Annotated[bool, typer.Option(help="Keep nothing: an in-memory database.")] = False,
    transaction_lifetime: Annotated[
        float, typer.Option(help="Abort transactions open longer than this (seconds).")
    ] = 60.0,
    ttl_interval: Annotated[
        float, typer.Option(help="Delete TTL-expired documents at most this often (seconds).")
    ] = 60.0,
) -> None:
    """Run the embedded MongoDB-compatible dev database (development and tests only)."""
    config = settings()
    try:
        from devdb.__main__ import run
    except ImportError:
        raise fail("the dev database is not installed: pip install 'boundbox[devdb]'") from None
    directory = None if memory else (data_dir or Path(config.devdb_data_dir))
    code = run(
        host,
        port or config.devdb_port,
        directory,
        transaction_lifetime,
        ttl_interval,
        prog="boundbox devdb",
    )
    raise typer.Exit(code)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@app.command(epilog=envhelp.epilog("api"))
def api() -> None:
    """Run the HTTP command API."""
    config = settings()
    import uvicorn

    from services.api import create_app

    try:
        application = create_app(config)  # fails here, before serving, without a usable key
    except ConfigurationError as e:
        raise fail(f"configuration error: {e}") from None
    listen_or_fail("API_PORT", config.api_host, config.api_port)
    url = f"http://{config.api_host}:{config.api_port}"
    typer.echo(f"boundbox api on {url} (docs: {url}/docs, MongoDB database {config.mongodb_db!r})")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again for the
    # handler it found: this one, so that a clean stop exits 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_cleanly)
    uvicorn.run(
        application,
        host=config.api_host,
        port=config.api_port,
        log_level=config.log_level.lower(),
    )


@app.command(epilog=envhelp.epilog("relay"))
def relay() -> None:
    """Run the outbox relay: publish committed events to RabbitMQ."""
    config = settings()
    listen_or_fail("RELAY_PORT", config.relay_host, config.relay_port)
    from relay.main import run

    try:
        code = run(config)
    except ConfigurationError as e:
        raise fail(f"configuration error: {e}") from None
    except BoundboxError as e:
        raise fail(f"relay: {e}", 1) from None
    raise typer.Exit(code)


@app.command(epilog=envhelp.epilog("consume"))
def consume(
    name: Annotated[str, typer.Argument(help="The consumer to run: 'sales' or 'tail'.")],
    pattern: Annotated[
        str | None, typer.Argument(help="Routing-key pattern (tail only, default '#').")
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Rebuild the projection from the event store, switch to it, and exit "
            "(a running consumer keeps serving meanwhile).",
        ),
    ] = False,
) -> None:
    """Run a consumer: `sales` (the sales projection) or `tail [PATTERN]` (print events)."""
    if name not in ("sales", "tail"):
        raise fail(f"unknown consumer {name!r}: choose 'sales' or 'tail'")
    if name == "sales" and pattern is not None:
        raise fail("a routing-key pattern is for `consume tail` only")
    if rebuild and name != "sales":
        raise fail("--rebuild is for `consume sales` only")
    config = settings()
    if rebuild:
        from services.sales import rebuild as sales_rebuild

        try:
            raise typer.Exit(sales_rebuild.run(config))
        except BoundboxError as e:
            raise fail(f"rebuild: {e}", 1) from None
    if name == "tail":
        from outbox.consumer import tail

        raise typer.Exit(
            tail.run(
                amqp_url=config.amqp_url, exchange=config.exchange_name, pattern=pattern or "#"
            )
        )
    from services.sales import main as sales
    from services.security.authenticator import authenticator_from

    try:
        authenticator_from(config)  # no usable key: one line, before anything is announced
    except ConfigurationError as e:
        raise fail(f"configuration error: {e}") from None
    listen_or_fail("CONSUMER_PORT", config.consumer_host, config.consumer_port)
    typer.echo(
        f"boundbox consume sales: queue {config.consumer_queue_prefix}.sales, database "
        f"{config.sales_db!r}, http://{config.consumer_host}:{config.consumer_port}/sales/…",
        err=True,
    )
    raise typer.Exit(sales.run(config))


NO_DATABASE = " (is the dev database running? `make run`; else check MONGODB_URL)"


@outbox_app.command("status", epilog=envhelp.epilog("outbox status"))
def outbox_status() -> None:
    """Print pending and failed counts and the lag of the outbox."""
    config = settings()
    import asyncio

    from relay import admin

    try:
        status = asyncio.run(admin.outbox_status(config))
    except BoundboxError as e:
        raise fail(
            f"cannot read the outbox of {config.mongodb_db!r}: {e}{NO_DATABASE}", 1
        ) from None
    typer.echo(f"pending  {status.pending}")
    typer.echo(f"failed   {status.failed}")
    typer.echo(f"lag      {status.lag_seconds:.3f}s (age of the oldest pending event)")


@outbox_app.command("retry-failed", epilog=envhelp.epilog("outbox retry-failed"))
def outbox_retry_failed() -> None:
    """Re-queue events the relay parked as failed."""
    config = settings()
    import asyncio

    from relay import admin

    try:
        count = asyncio.run(admin.retry_failed(config))
    except BoundboxError as e:
        raise fail(
            f"cannot re-queue the outbox of {config.mongodb_db!r}: {e}{NO_DATABASE}", 1
        ) from None
    typer.echo(f"re-queued {count} failed event{'' if count == 1 else 's'}")


@archive_app.command("migrate", epilog=envhelp.epilog("archive migrate"))
def archive_migrate() -> None:
    """Turn ARCHIVE_QUEUE into the stream configured, keeping every event; safe to re-run.

    Stop the relays first.
    """
    config = settings()
    if not config.archive_queue:
        raise fail("configuration error: ARCHIVE_QUEUE is not set: there is no archive to migrate")
    import asyncio

    from relay.archive import Retention
    from relay.archive_migration import migrate

    retention = Retention(
        max_bytes=config.archive_max_bytes,
        max_age=config.archive_max_age,
        segment_bytes=config.archive_segment_bytes,
    )
    name = config.archive_queue
    try:
        done = asyncio.run(
            migrate(
                config.amqp_url,
                name,
                retention,
                exchange=config.exchange_name,
                progress=lambda line: typer.echo(f"{name}: {line}", err=True),
            )
        )
    except BoundboxError as e:
        raise fail(f"archive migrate {name!r}: {e} (run it again to resume)", 1) from None
    if done.found == "missing" and not done.resumed:
        typer.echo(f"{name}: no such queue, nothing to migrate (the relay declares the stream)")
    elif done.found == "configured" and not done.resumed:
        typer.echo(f"{name}: already the stream configured, nothing to migrate")
    else:
        typer.echo(
            f"{name}: now a stream {retention.arguments()}, {done.moved} "
            f"event{'' if done.moved == 1 else 's'} moved into it"
            + (" (an interrupted migration resumed)" if done.resumed else "")
        )


@app.command(epilog=envhelp.epilog("audit"))
def audit(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
    archive: Annotated[
        bool, typer.Option(help="Check that every published event is in ARCHIVE_QUEUE.")
    ] = True,
    sales: Annotated[
        bool, typer.Option(help="Check the sales projection in SALES_DB against the events.")
    ] = True,
) -> None:
    """Prove state = events: fold every aggregate's events and compare with the documents.

    Also checks versions 1..n without gap or duplicate, the sales projection, and that every
    published event reached the archive. One line per mismatch (aggregate, field, stored value,
    value from events) and a summary; exit 0 when all agree, 1 otherwise.
    """
    config = settings()
    import asyncio
    import sys

    from boundbox.audit import run

    try:
        code = asyncio.run(
            run(
                config,
                out=sys.stdout,
                err=sys.stderr,
                as_json=as_json,
                archive=archive,
                sales=sales,
            )
        )
    except BoundboxError as e:
        raise fail(f"audit: {e}") from None
    raise typer.Exit(code)


@app.command(epilog=envhelp.epilog("asyncapi"))
def asyncapi() -> None:
    """Print the AsyncAPI 3.0 document of the events (what GET /asyncapi.json serves).

    Reads EXCHANGE_NAME (default boundbox.events), and RELAY_AMQP_URL, else AMQP_URL
    (default user guest), for the relay's broker user every message carries as `user_id`.
    """
    config = settings()
    import json

    from services.api.asyncapi import events_document

    typer.echo(json.dumps(events_document(config), indent=2))


MAX_TOKEN_TTL = 30 * 24 * 3600


@app.command(epilog=envhelp.epilog("token"))
def token(
    sub: Annotated[str, typer.Option(help="The subject: the customer or caller's name.")],
    scope: Annotated[
        list[str],
        typer.Option(
            help='Scopes, space-separated or repeated: --scope "orders:write orders:read".'
        ),
    ],
    ttl: Annotated[int, typer.Option(help="Seconds it stays valid (at most 30 days).")] = 3600,
) -> None:
    """Print an HS256 bearer token signed with AUTH_SECRET.

    Reads AUTH_SECRET, AUTH_ISSUER and AUTH_AUDIENCE (environment or .env).
    """
    from services.security.scopes import SCOPES
    from services.security.tokens import MIN_SECRET_BYTES, mint_token

    config = settings()
    secret = config.auth_secret.get_secret_value()
    if not secret:
        raise fail("configuration error: AUTH_SECRET is not set: `boundbox token` signs with it")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise fail(f"configuration error: AUTH_SECRET: must be at least {MIN_SECRET_BYTES} bytes")
    if not sub.strip():
        raise fail("--sub must not be empty")
    scopes = [name for value in scope for name in value.replace(",", " ").split()]
    if unknown := [name for name in scopes if name not in SCOPES]:
        raise fail(f"unknown scope {unknown[0]!r}: choose among {' '.join(SCOPES)}")
    if not 1 <= ttl <= MAX_TOKEN_TTL:
        raise fail(f"--ttl must be between 1 and {MAX_TOKEN_TTL} seconds (30 days)")
    issued = mint_token(
        secret,
        sub=sub,
        scopes=dict.fromkeys(scopes),
        issuer=config.auth_issuer,
        audience=config.auth_audience,
        ttl_seconds=ttl,
    )
    typer.echo(issued)


@app.command(epilog=envhelp.epilog("dev"))
def dev() -> None:
    """Run the dev database, API, relay and consumer together (what `make run` does)."""
    config = settings()
    from boundbox.supervisor import run_all

    raise typer.Exit(run_all(config))


def main() -> None:
    app(prog_name="boundbox")


if __name__ == "__main__":
    main()
