"""Configuration of every boundbox process, from the environment and an optional `.env`."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo import uri_parser
from pymongo.errors import PyMongoError

from boundbox.errors import ConfigurationError


def _without_password(message: str, url: str) -> str:
    """`message` with the URL's password masked, should a parser have quoted it."""
    _, _, userinfo = urlsplit(url).netloc.rpartition("@")[0].partition(":")
    return message.replace(userinfo, "***") if userinfo else message


def _mongodb_url(value: str) -> str:
    if not value.startswith(("mongodb://", "mongodb+srv://")):
        raise ValueError("must start with mongodb:// or mongodb+srv://")
    srv = value.startswith("mongodb+srv://")
    try:
        # Parsed as the driver will, but without the DNS look-up of mongodb+srv:// (its one
        # host takes no port: checked below).
        parsed = uri_parser.parse_uri(value.replace("mongodb+srv://", "mongodb://", 1))
    except (PyMongoError, ValueError) as e:
        reason = _without_password(str(e).split(". Hint:")[0].rstrip("."), value)
        raise ValueError(f"not a valid MongoDB URL: {reason}") from None
    if srv and (len(parsed["nodelist"]) != 1 or urlsplit(value).port is not None):
        raise ValueError("not a valid MongoDB URL: mongodb+srv:// takes one host name, no port")
    return value


def _network_url(value: str, schemes: tuple[str, ...], what: str) -> str:
    """The URL if it has a host and a numeric port, and its user information is escaped.

    (AUTH_JWKS_URL is checked by services/security/authenticator.py, the one place it is used.)
    """
    if not value.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        raise ValueError(f"must start with {' or '.join(f'{s}://' for s in schemes)}")
    parts = urlsplit(value)
    if parts.netloc.count("@") > 1:
        raise ValueError(
            f"not a valid {what} URL: escape @ : / in the user name and password "
            "(urllib.parse.quote_plus: @ is %40)"
        )
    try:
        parts.port  # noqa: B018 (parses the port, raising ValueError when it is not one)
    except ValueError:
        raise ValueError(f"not a valid {what} URL: the port must be a number 1-65535") from None
    if not parts.hostname:
        raise ValueError(f"not a valid {what} URL: no host")
    return value


def _amqp_url(value: str) -> str:
    return _network_url(value, ("amqp", "amqps"), "AMQP")


def _optional_amqp_url(value: str) -> str:
    return value and _amqp_url(value)


def _user_names(value: str) -> str:
    if any(not name.isprintable() for name in value.replace(",", " ").split()):
        raise ValueError("must be broker user names, separated by commas or spaces")
    return value


def _blank_is_zero(value: object) -> object:
    return 0 if isinstance(value, str) and not value.strip() else value


def _retention(value: int) -> int:
    if value != 0 and value < 60:
        raise ValueError("must be 0 (keep every event forever) or at least 60 seconds")
    return value


def _stream_age(value: str) -> str:
    if value and not re.fullmatch(r"[1-9][0-9]{0,8}[YMDhms]", value):
        raise ValueError(
            "must be empty (no age limit) or a number and a unit among Y M D h m s, e.g. 7D, 12h"
        )
    return value


def _gone_max_length(value: str) -> str:
    if value:
        raise ValueError(
            "no longer used: the archive is a RabbitMQ stream, bounded by ARCHIVE_MAX_BYTES "
            "(bytes) and ARCHIVE_MAX_AGE; unset it, then run `boundbox archive migrate`"
        )
    return value


def broker_user(amqp_url: str) -> str:
    """The RabbitMQ user an AMQP URL logs in as (percent-decoded; aiormq's default: guest)."""
    return unquote(urlsplit(amqp_url).username or "") or "guest"


Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    """Every setting a boundbox process reads; each field is one environment variable."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    mongodb_url: Annotated[str, AfterValidator(_mongodb_url)] = "mongodb://127.0.0.1:27017"
    mongodb_db: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[^/\\. \"$]+$")] = (
        "boundbox"
    )
    amqp_url: Annotated[str, AfterValidator(_amqp_url)] = "amqp://guest:guest@127.0.0.1:5672/"
    exchange_name: Annotated[str, Field(min_length=1, max_length=255)] = "boundbox.events"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    api_host: str = "127.0.0.1"
    api_port: Port = 8000
    relay_host: str = "127.0.0.1"
    relay_port: Port = 9101
    consumer_host: str = "127.0.0.1"
    consumer_port: Port = 9102
    devdb_port: Port = 27017
    devdb_data_dir: str = ".data/devdb"
    transaction_budget_seconds: Annotated[float, Field(gt=0, le=110)] = 30.0

    # Authentication of the API and the consumers' read APIs (services/security/).
    auth_mode: Literal["jwt", "none"] = "jwt"
    """`jwt`: every route but /healthz and /readyz needs a bearer token; `none`: no checks
    (an explicit opt-out, logged at start)."""
    auth_issuer: Annotated[str, Field(max_length=1000)] = "boundbox"
    """The `iss` every token must carry."""
    auth_audience: Annotated[str, Field(max_length=1000)] = "boundbox"
    """The `aud` every token must carry."""
    auth_jwks_url: Annotated[str, Field(max_length=2000)] = ""
    """Verify tokens with the keys of this JWKS (cached, refetched on an unknown `kid`)."""
    auth_public_key: Annotated[str, Field(max_length=20000)] = ""
    """Verify RS256/ES256 tokens with this PEM public key."""
    auth_secret: Annotated[SecretStr, Field(max_length=1000)] = SecretStr("")
    """Verify (and, with `boundbox token`, mint) HS256 tokens with this shared secret (dev)."""
    cors_origins: Annotated[str, Field(max_length=10000)] = ""
    """Origins allowed to call the API from a browser, separated by commas; empty: none."""

    # The outbox relay (`boundbox relay`, relay/). Durations are in seconds.
    relay_id: Annotated[str, Field(max_length=100, pattern=r"^[A-Za-z0-9_.:-]*$")] = ""
    """This relay's name in leases, logs and its AMQP connection; empty: <host>-<pid>-<random>."""
    relay_amqp_url: Annotated[str, AfterValidator(_optional_amqp_url)] = ""
    """The relay's own broker user (it writes to the events exchange); empty: AMQP_URL. Every
    message it publishes carries that user as its AMQP `user_id`."""
    relay_batch_size: Annotated[int, Field(ge=1, le=2000)] = 1000
    """Events confirmed but not yet marked at most (what a crash may publish twice); read,
    published and marked in halves."""
    relay_poll_interval: Annotated[float, Field(gt=0, le=5)] = 0.015
    """Idle poll interval without a change stream (the dev database has none)."""
    relay_stream_poll_interval: Annotated[float, Field(gt=0, le=60)] = 1.0
    """Safety-net poll interval while a change stream wakes the relay."""
    relay_lease_ttl: Annotated[float, Field(ge=1, le=600)] = 10.0
    """A dead relay's partitions are taken over this long after its last renewal."""
    relay_max_attempts: Annotated[int, Field(ge=1, le=1000)] = 10
    relay_retry_backoff: Annotated[float, Field(gt=0, le=3600)] = 1.0
    relay_retry_backoff_max: Annotated[float, Field(gt=0, le=86400)] = 300.0
    relay_publish_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    relay_db_timeout: Annotated[float, Field(gt=0, le=120)] = 5.0
    archive_queue: Annotated[str, Field(max_length=240)] = ""
    """A RabbitMQ stream the relay binds to every event (`#`): no event is then unroutable, and
    any AMQP client can replay them from the first, an offset or a time. Empty (the default):
    no archive, and an event no queue is bound for fails and is parked, as the delivery
    contract says. `boundbox dev` sets it to `<CONSUMER_QUEUE_PREFIX>.archive` (see
    `namespaced_archive_queue`), docker-compose.yml to `boundbox.archive`; a quorum archive of
    earlier versions is turned into the stream by `boundbox archive migrate`."""
    archive_max_bytes: Annotated[int, Field(ge=1_000_000, le=2**63 - 1)] = 20_000_000_000
    """Retention by size (`x-max-length-bytes`): the oldest segments go beyond this (20 GB)."""
    archive_max_age: Annotated[str, AfterValidator(_stream_age)] = ""
    """Retention by age (`x-max-age`, RabbitMQ's units: `7D`, `12h`, `1Y`...); empty (the
    default): none. The event store in MongoDB is the source of truth; the archive, a replay."""
    archive_segment_bytes: Annotated[int, Field(ge=0, le=3_000_000_000)] = 0
    """`x-stream-max-segment-size-bytes`: retention removes whole segments; 0: RabbitMQ's
    default (500 MB). A stream's arguments are fixed when it is declared."""
    archive_max_length: Annotated[str, AfterValidator(_gone_max_length)] = ""
    """Gone: the archive is a stream, bounded by ARCHIVE_MAX_BYTES and ARCHIVE_MAX_AGE."""
    relay_retention_seconds: Annotated[
        int, BeforeValidator(_blank_is_zero), AfterValidator(_retention)
    ] = 0
    """0 or empty (the default): published events are kept forever, the outbox is the record
    of what happened. Otherwise they are deleted this long after publication (a TTL index)."""

    # Consumers (`boundbox consume NAME`, outbox/consumer/). Durations are in seconds.
    consumer_queue_prefix: Annotated[str, Field(min_length=1, max_length=100)] = "boundbox"
    """A consumer NAME reads the durable quorum queue `<prefix>.<NAME>`."""
    consumer_id: Annotated[str, Field(max_length=100, pattern=r"^[A-Za-z0-9_.:-]*$")] = ""
    """This consumer's name in logs and its AMQP connection; empty: <host>-<pid>."""
    consumer_amqp_url: Annotated[str, AfterValidator(_optional_amqp_url)] = ""
    """A consumer's own broker user (it reads its own queues); empty: AMQP_URL."""
    trusted_publishers: Annotated[str, AfterValidator(_user_names)] = ""
    """The broker users whose events a consumer applies, separated by commas or spaces; an
    event with another AMQP `user_id`, or none, is dead-lettered as `untrusted-publisher`.
    Empty: the relay's user (that of RELAY_AMQP_URL, else AMQP_URL)."""
    consumer_prefetch: Annotated[int, Field(ge=1, le=1000)] = 32
    consumer_batch: Annotated[int, Field(ge=1, le=1000)] = 16
    """Up to this many deliveries already prefetched are applied in one transaction (one inbox
    write, one commit; a batch never waits to fill); 1: one transaction per delivery. At most
    CONSUMER_PREFETCH."""
    consumer_ordered: bool = False
    """Ordered mode: each aggregate's events applied in version order by any number of
    instances, over CONSUMER_PARTITIONS queues (needs the rabbitmq_consistent_hash_exchange
    plugin). False: one queue `<prefix>.<NAME>` that instances share, in no guaranteed order."""
    consumer_partitions: Annotated[int, Field(ge=1, le=256)] = 8
    """Ordered mode's queues `<prefix>.<NAME>.0` .. `.N-1`, spread over the live instances: more
    than instances will ever run. Changing it moves aggregates between queues: drain first."""
    consumer_heartbeat_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    """Ordered mode: how often an instance records that it is alive and looks who else is."""
    consumer_member_expiry_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0
    """Ordered mode: an instance not heard of for this long is gone and the others take its
    queues (a stopped one hands them over at once). Longer than CONSUMER_HEARTBEAT_SECONDS."""
    consumer_max_deliveries: Annotated[int, Field(ge=1, le=100)] = 5
    """A message whose handler fails this many deliveries goes to the dead-letter queue."""
    consumer_retry_backoff: Annotated[float, Field(ge=0, le=600)] = 0.5
    consumer_retry_backoff_max: Annotated[float, Field(ge=0, le=3600)] = 30.0
    consumer_dedupe_window_seconds: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
    """Inbox records (the message ids already handled) expire after this long (a TTL index)."""
    consumer_max_message_bytes: Annotated[int, Field(ge=1024, le=128 * 1024 * 1024)] = 256 * 1024
    """A message body larger than this is dead-lettered (`too-large`) without being decoded."""
    sales_db: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[^/\\. \"$]+$")] = (
        "boundbox_sales"
    )
    """The sales projection's own MongoDB database (`boundbox consume sales`)."""

    @property
    def relay_broker_url(self) -> str:
        return self.relay_amqp_url or self.amqp_url

    @property
    def consumer_broker_url(self) -> str:
        return self.consumer_amqp_url or self.amqp_url

    @property
    def namespaced_archive_queue(self) -> str:
        """The archive of this namespace: `<CONSUMER_QUEUE_PREFIX>.archive`, or
        `<EXCHANGE_NAME>.archive` when only the exchange is named; `boundbox.archive` by default.

        People sharing a broker under prefixes or exchanges of their own keep archives apart.
        """
        if "exchange_name" in self.model_fields_set and (
            "consumer_queue_prefix" not in self.model_fields_set
        ):
            return f"{self.exchange_name}.archive"
        return f"{self.consumer_queue_prefix}.archive"

    @property
    def trusted_publisher_users(self) -> frozenset[str]:
        named = frozenset(self.trusted_publishers.replace(",", " ").split())
        return named or frozenset({broker_user(self.relay_broker_url)})

    @model_validator(mode="after")
    def _relay_backoff_bounds(self) -> Settings:
        if self.relay_retry_backoff > self.relay_retry_backoff_max:
            raise ValueError("RELAY_RETRY_BACKOFF must not exceed RELAY_RETRY_BACKOFF_MAX")
        return self

    @model_validator(mode="after")
    def _consumer_backoff_bounds(self) -> Settings:
        if self.consumer_retry_backoff > self.consumer_retry_backoff_max:
            raise ValueError("CONSUMER_RETRY_BACKOFF must not exceed CONSUMER_RETRY_BACKOFF_MAX")
        return self

    @model_validator(mode="after")
    def _consumer_heartbeat_within_expiry(self) -> Settings:
        if self.consumer_heartbeat_seconds >= self.consumer_member_expiry_seconds:
            raise ValueError(
                "CONSUMER_HEARTBEAT_SECONDS must be shorter than CONSUMER_MEMBER_EXPIRY_SECONDS:"
                " a live instance would expire between its heartbeats"
            )
        return self

    @field_validator("consumer_batch")
    @classmethod
    def _consumer_batch_within_prefetch(cls, batch: int, info: ValidationInfo) -> int:
        prefetch = info.data.get("consumer_prefetch")  # absent when it failed on its own
        if prefetch is not None and batch > prefetch:
            raise ValueError(
                f"{batch} must not exceed CONSUMER_PREFETCH ({prefetch}):"
                " a batch is taken from the prefetched deliveries"
            )
        return batch


def load_settings() -> Settings:
    """Read the settings, turning a validation failure into one line naming the variable."""
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"{variable}: {message}") from None
