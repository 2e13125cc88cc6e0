"""The environment variables each command reads, with their defaults, for its `--help`.

Names and defaults come from the `Settings` fields themselves, so the help cannot drift from
them; which fields a command reads is listed here, and tests/test_envhelp.py checks that each
list covers the fields its packages use.
"""

from __future__ import annotations

from pydantic import SecretStr

from boundbox import telemetry
from boundbox.redact import redact_urls
from boundbox.settings import Settings

_DATABASE = ("mongodb_url", "mongodb_db")
_AUTH = (
    "auth_mode",
    "auth_issuer",
    "auth_audience",
    "auth_jwks_url",
    "auth_public_key",
    "auth_secret",
)
_RELAY = (
    *_DATABASE,
    "amqp_url",
    "relay_amqp_url",
    "exchange_name",
    "relay_host",
    "relay_port",
    "relay_id",
    "relay_batch_size",
    "relay_poll_interval",
    "relay_stream_poll_interval",
    "relay_lease_ttl",
    "relay_max_attempts",
    "relay_retry_backoff",
    "relay_retry_backoff_max",
    "relay_publish_timeout",
    "relay_db_timeout",
    "relay_retention_seconds",
    "archive_queue",
    "archive_max_bytes",
    "archive_max_age",
    "archive_segment_bytes",
)
_API = (
    *_DATABASE,
    "api_host",
    "api_port",
    "transaction_budget_seconds",
    *_AUTH,
    "cors_origins",
    "exchange_name",
    "relay_amqp_url",
    "amqp_url",
)
_CONSUME = (
    *_DATABASE,
    "sales_db",
    "amqp_url",
    "consumer_amqp_url",
    "relay_amqp_url",
    "trusted_publishers",
    "exchange_name",
    "consumer_queue_prefix",
    "consumer_id",
    "consumer_host",
    "consumer_port",
    "consumer_prefetch",
    "consumer_batch",
    "consumer_ordered",
    "consumer_partitions",
    "consumer_heartbeat_seconds",
    "consumer_member_expiry_seconds",
    "consumer_max_deliveries",
    "consumer_retry_backoff",
    "consumer_retry_backoff_max",
    "consumer_dedupe_window_seconds",
    "consumer_max_message_bytes",
    "transaction_budget_seconds",
    *_AUTH,
)
_ARCHIVE = (
    "amqp_url",
    "exchange_name",
    "archive_queue",
    "archive_max_bytes",
    "archive_max_age",
    "archive_segment_bytes",
)

COMMAND_FIELDS: dict[str, tuple[str, ...]] = {
    "api": _API,
    "relay": _RELAY,
    "consume": _CONSUME,
    "dev": tuple(dict.fromkeys((*_API, *_RELAY, *_CONSUME, "devdb_port", "devdb_data_dir"))),
    "outbox status": (*_DATABASE, "relay_retention_seconds"),
    "outbox retry-failed": (*_DATABASE, "relay_retention_seconds"),
    "audit": (*_DATABASE, "sales_db", "amqp_url", "archive_queue"),
    "archive migrate": _ARCHIVE,
    "devdb": ("devdb_port", "devdb_data_dir"),
    "asyncapi": ("exchange_name", "relay_amqp_url", "amqp_url"),
    "token": ("auth_secret", "auth_issuer", "auth_audience"),
}
"""Every command's fields but LOG_LEVEL, which all of them read."""

# Where `boundbox dev` gives a variable another default than the Settings field.
_DEV_DEFAULTS = {
    "mongodb_url": "mongodb://127.0.0.1:$DEVDB_PORT",
    "archive_queue": "$CONSUMER_QUEUE_PREFIX.archive",
}


def default_of(name: str) -> str:
    """A field's default as a user would write it in the environment; passwords masked."""
    value = Settings.model_fields[name].default
    if isinstance(value, SecretStr):
        return "empty" if not value.get_secret_value() else "***"
    text = str(value)
    return redact_urls(text) if text else "empty"


def variables(command: str) -> list[tuple[str, str]]:
    """(VARIABLE, default) of every variable `command` reads, LOG_LEVEL last."""
    overrides = _DEV_DEFAULTS if command == "dev" else {}
    return [
        (name.upper(), overrides.get(name) or default_of(name))
        for name in (*COMMAND_FIELDS[command], "log_level")
    ]


def epilog(command: str) -> str:
    """The `--help` epilog of `command`: one variable and its default a line."""
    rows = variables(command)
    traces = telemetry.help_rows(command)
    width = max(len(name) for name, _ in (*rows, *traces))
    lines = [f"  {name.ljust(width)}  {default}" for name, default in rows]
    if traces:
        lines += ["Traces (OpenTelemetry, README: Traces):"]
        lines += [f"  {name.ljust(width)}  {default}" for name, default in traces]
    return "\n".join(["Environment variables (or .env) and their defaults:", *lines])
