"""Configuration of every boundbox process, from the environment and an optional `.env`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from boundbox.errors import ConfigurationError


def _mongodb_url(value: str) -> str:
    if not value.startswith(("mongodb://", "mongodb+srv://")):
        raise ValueError("must start with mongodb:// or mongodb+srv://")
    return value


def _amqp_url(value: str) -> str:
    if not value.startswith(("amqp://", "amqps://")):
        raise ValueError("must start with amqp:// or amqps://")
    return value


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


def load_settings() -> Settings:
    """Read the settings, turning a validation failure into one line naming the variable."""
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"{variable}: {message}") from None
