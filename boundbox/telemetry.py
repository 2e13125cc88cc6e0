"""OpenTelemetry traces for a boundbox process, off unless the standard OTEL_* variables ask.

Each composition root calls `configure(service_name)` once, before it builds its MongoDB
client. Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set and
OTEL_SDK_DISABLED is not `true`: spans go to that OTLP/HTTP endpoint, the process is named by
OTEL_SERVICE_NAME (else `service_name`), sampled by OTEL_TRACES_SAMPLER. Otherwise nothing is
installed and the library code's OpenTelemetry API calls are no-ops. The SDK, the exporter and
the instrumentations come with the `boundbox[otel]` extra.

BOUNDBOX_TRACES_FILE=path (for tests) writes the process's spans to that file as JSON lines.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace

from boundbox.errors import ConfigurationError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider

ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
SPANS_FILE = "BOUNDBOX_TRACES_FILE"
UNTRACED_PATHS = "/healthz,/readyz,/metrics"  # probes and scrapes: no trace each
"""Paths the HTTP instrumentation leaves out unless OTEL_PYTHON_FASTAPI_EXCLUDED_URLS says."""

SERVICE_NAMES = {
    "api": "boundbox-api",
    "relay": "boundbox-relay",
    "consume": "boundbox-sales",
    "dev": "boundbox-api, boundbox-relay, boundbox-sales",
}
"""Each command's default OTEL_SERVICE_NAME (for `--help`)."""


def help_rows(command: str) -> list[tuple[str, str]]:
    """(VARIABLE, default) of the OTEL_* variables `command` reads; none if it never traces."""
    if command not in SERVICE_NAMES:
        return []
    return [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "empty: tracing off (needs the otel extra)"),
        ("OTEL_SERVICE_NAME", SERVICE_NAMES[command]),
        ("OTEL_SDK_DISABLED", "false"),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
    ]


_lock = threading.Lock()
_configured: dict[str, TracerProvider | None] = {}


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether `environ` turns tracing on."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in (*ENDPOINTS, SPANS_FILE))


def configure(service_name: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Installs tracing for this process as `environ` says; True when it is on.

    Idempotent: the first call decides. Raises ConfigurationError when tracing is asked for
    but the SDK is not installed.
    """
    with _lock:
        if "provider" not in _configured:
            provider = provider_from(service_name, environ)
            if provider is not None:
                trace.set_tracer_provider(provider)
                instrument_pymongo(provider)
            _configured["provider"] = provider
        return _configured["provider"] is not None


def provider_from(service_name: str, environ: Mapping[str, str]) -> TracerProvider | None:
    """A tracer provider exporting as `environ` says, or None when tracing is off."""
    if not enabled(environ):
        return None
    try:
        from boundbox import tracing_sdk
    except ImportError:
        variable = next(name for name in (*ENDPOINTS, SPANS_FILE) if environ.get(name))
        raise ConfigurationError(
            f"{variable} is set but the OpenTelemetry SDK is not installed: "
            "install boundbox[otel], or unset it"
        ) from None
    name = environ.get("OTEL_SERVICE_NAME", "").strip() or service_name
    return tracing_sdk.provider(
        name,
        spans_file=environ.get(SPANS_FILE, "").strip() or None,
        otlp=any(environ.get(variable, "").strip() for variable in ENDPOINTS),
    )


def instrument_pymongo(provider: TracerProvider) -> None:
    """A span per MongoDB command of every client built from now on (statements left out)."""
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    PymongoInstrumentor().instrument(tracer_provider=provider)


def instrument_app(app: FastAPI, provider: trace.TracerProvider | None = None) -> None:
    """A server span per HTTP request of `app`, when tracing is on (or `provider` given)."""
    provider = provider or _configured.get("provider")
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", UNTRACED_PATHS),
        exclude_spans=["receive", "send"],
    )
