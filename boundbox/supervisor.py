"""`boundbox dev`, what `make run` does: every process of the project, started and stopped together.

Children run in sessions of their own, so Ctrl-C reaches only this supervisor, which then stops
them in order: consumer, relay and API first, the dev database last.

Before starting anything it checks that every port it needs is free (one line naming the
variable to change if not); the services follow DEVDB_PORT unless MONGODB_URL is set; the banner
is printed once every service answers its readiness URL.

With AUTH_MODE=jwt and no key source of its own, the stack signs tokens with a dev secret kept
beside the dev database's data (.data/auth-secret), and the banner prints tokens to paste.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from boundbox.ports import Listen, problem
from boundbox.redact import redact_urls
from boundbox.settings import Settings

NOT_AVAILABLE = 3  # the exit code of a subcommand that does not exist yet
PORT_IN_USE = 2  # `boundbox dev`'s exit code when a port it needs is taken
READY_PATIENCE = 30.0  # seconds before saying which service is not ready yet
# The services are local: an HTTP_PROXY in the environment must not carry the readiness checks.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))
DEV_TOKEN_HOURS = 12
CUSTOMER = "alice"


@dataclass
class Child:
    name: str
    args: list[str]
    ready_url: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "boundbox", *self.args], start_new_session=True
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_for_port(host: str, port: int, child: Child, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process is not None and child.process.poll() is not None:
            return False
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.1)
    return False


def dev_secret(path: Path) -> str:
    """The signing secret kept in `path` (readable by its owner only), made on first use."""
    if path.exists() and (secret := path.read_text(encoding="utf-8").strip()):
        os.chmod(path, 0o600)
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write(secret + "\n")
    os.chmod(path, 0o600)  # the mode os.open gives applies to a new file only
    return secret


def signing_secret(settings: Settings) -> str:
    """The HS256 secret the banner mints with: AUTH_SECRET, else, when nothing else verifies
    tokens, the dev secret, handed to the children as their AUTH_SECRET; empty: none."""
    if settings.auth_mode != "jwt":
        return ""
    if secret := settings.auth_secret.get_secret_value():
        return secret
    if settings.auth_public_key.strip() or settings.auth_jwks_url.strip():
        return ""
    secret = dev_secret(Path(settings.devdb_data_dir).parent / "auth-secret")
    os.environ["AUTH_SECRET"] = secret
    return secret


def auth_banner(settings: Settings, secret: str) -> str:
    """How to call the API: `export` lines of an admin and a customer token, or why none."""
    if settings.auth_mode == "none":
        return "Authentication is off (AUTH_MODE=none): every route is open.\n"
    if not secret:
        return "Tokens: from the issuer of AUTH_JWKS_URL or AUTH_PUBLIC_KEY.\n"
    from services.security.scopes import ADMIN_SCOPES, CUSTOMER_SCOPES
    from services.security.tokens import mint_token

    def token(sub: str, scopes: tuple[str, ...]) -> str:
        return mint_token(
            secret,
            sub=sub,
            scopes=scopes,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            ttl_seconds=DEV_TOKEN_HOURS * 3600,
        )

    return (
        f"Tokens, valid {DEV_TOKEN_HOURS} h (paste these; `boundbox token --help` mints others):\n"
        f"  export ADMIN_TOKEN={token('admin', ADMIN_SCOPES)}\n"
        f"  export CUSTOMER_TOKEN={token(CUSTOMER, CUSTOMER_SCOPES)}\n"
        f"  (admin: every scope; customer: {CUSTOMER!r}, {' '.join(CUSTOMER_SCOPES)})\n"
    )


def dev_database_url(settings: Settings) -> Settings:
    """The settings with MONGODB_URL on the dev database's port, unless it was set explicitly
    (environment or .env); the children read it from the environment."""
    if "mongodb_url" in settings.model_fields_set:
        return settings
    url = f"mongodb://127.0.0.1:{settings.devdb_port}"
    os.environ["MONGODB_URL"] = url
    return settings.model_copy(update={"mongodb_url": url})


def listens(settings: Settings) -> list[Listen]:
    """Every address the stack listens on, with the variable that moves it."""
    return [
        Listen("DEVDB_PORT", "127.0.0.1", settings.devdb_port),
        Listen("API_PORT", settings.api_host, settings.api_port),
        Listen("RELAY_PORT", settings.relay_host, settings.relay_port),
        Listen("CONSUMER_PORT", settings.consumer_host, settings.consumer_port),
    ]


def _url(host: str, port: int, path: str) -> str:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{path}"


def run_all(settings: Settings) -> int:
    database = "MONGODB_URL" if "mongodb_url" in settings.model_fields_set else "dev database"
    settings = dev_database_url(settings)
    if taken := problem(listens(settings)):
        print(f"boundbox dev: {taken}", file=sys.stderr, flush=True)
        return PORT_IN_USE
    data_dir = Path(settings.devdb_data_dir)
    secret = signing_secret(settings)
    # Only the sales consumer subscribes, to order events: the archive keeps the others routable.
    os.environ.setdefault("ARCHIVE_QUEUE", settings.namespaced_archive_queue)
    devdb = Child("devdb", ["devdb", "--data-dir", str(data_dir)])
    services = [
        Child("api", ["api"], _url(settings.api_host, settings.api_port, "/readyz")),
        Child("relay", ["relay"], _url(settings.relay_host, settings.relay_port, "/healthz")),
        Child(
            "consumer",
            ["consume", "sales"],
            _url(settings.consumer_host, settings.consumer_port, "/readyz"),
        ),
    ]
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    devdb.start()
    if not _wait_for_port("127.0.0.1", settings.devdb_port, devdb):
        devdb.stop()
        print("boundbox dev: the dev database did not start (see above)", file=sys.stderr)
        return 1
    for child in services:
        child.start()
    code = _wait_until_ready([*services, devdb], lambda: stopping)
    if code is None:
        print(
            f"\nboundbox is running (data in {data_dir}, pid {os.getpid()}):\n"
            f"  API       http://{settings.api_host}:{settings.api_port}\n"
            f"  API docs  http://{settings.api_host}:{settings.api_port}/docs\n"
            f"  MongoDB   {redact_urls(settings.mongodb_url)} ({database})\n"
            f"  RabbitMQ  {redact_urls(settings.amqp_url)}\n"
            f"  Sales     http://{settings.consumer_host}:{settings.consumer_port}/sales/…\n"
            f"{auth_banner(settings, secret)}"
            "Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        code = _supervise([*services, devdb], lambda: stopping)
    for child in reversed(services):
        child.stop()
    devdb.stop()
    print("boundbox dev: stopped", flush=True)
    return code


def _answers(url: str) -> str:
    """'' when `url` answers 200, else why not."""
    try:
        with _LOCAL.open(url, timeout=2) as response:
            return "" if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}"
    except (urllib.error.URLError, OSError) as e:
        return str(getattr(e, "reason", e))


def _wait_until_ready(children: list[Child], stopping: Callable[[], bool]) -> int | None:
    """None once every child with a readiness URL answers it; an exit code if one dies first
    or Ctrl-C comes. Says once, after READY_PATIENCE seconds, what it is still waiting for."""
    waiting = [child for child in children if child.ready_url]
    told = False
    since = time.monotonic()
    while waiting:
        if stopping():
            return 0
        if (code := _exited(children)) is not None:
            return code
        waiting = [child for child in waiting if _running(child)]
        why = {child.name: _answers(child.ready_url) for child in waiting}
        waiting = [child for child in waiting if why[child.name]]
        if waiting and not told and time.monotonic() - since > READY_PATIENCE:
            told = True
            print(
                "boundbox dev: waiting for "
                + ", ".join(f"{c.name} ({c.ready_url}: {why[c.name]})" for c in waiting),
                file=sys.stderr,
                flush=True,
            )
        if waiting:
            time.sleep(0.2)
    return None


def _running(child: Child) -> bool:
    return child.process is not None and child.process.poll() is None


def _exited(children: list[Child]) -> int | None:
    """1 (and a line saying which) when a child has died, other than 'not available yet'."""
    for child in children:
        assert child.process is not None
        code = child.process.poll()
        if code is None or code == NOT_AVAILABLE:
            continue
        print(f"boundbox dev: {child.name} exited with code {code}; stopping", file=sys.stderr)
        return 1
    return None


def _supervise(children: list[Child], stopping: Callable[[], bool]) -> int:
    """Waits for Ctrl-C; a child that dies (other than 'not available yet') stops everything."""
    while not stopping():
        if (code := _exited(children)) is not None:
            return code
        time.sleep(0.2)
    return 0
